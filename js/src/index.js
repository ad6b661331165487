// Entry point bundled into ig_widget/static/widget.js and loaded by anywidget. Every explainer
// widget uses this one bundle; the synced `_view` trait picks the view from the registry below.

import { renderImage } from "./image/view.js";
import { renderGeneration } from "./generation/view.js";
import { renderText } from "./text/view.js";
import { renderDataset } from "./dataset/view.js";
import { renderComparison } from "./comparison/view.js";
import { suppressShortcuts } from "./shortcuts.js";

const views = { image: renderImage, text: renderText, generation: renderGeneration, dataset: renderDataset };
views.comparison = renderComparison;

function render({ model, el }) {
  const name = model.get("_view");
  const view = views[name];
  if (!view) {
    const message = document.createElement("div");
    message.textContent = `ig-widget: no view named ${JSON.stringify(name)} in this bundle (rebuild the frontend?)`;
    el.append(message);
    return () => message.remove();
  }
  const release = suppressShortcuts(el);
  const cleanup = view({ model, el });
  return () => {
    release();
    cleanup?.();
  };
}

export default { render };
