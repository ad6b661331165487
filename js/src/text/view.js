// The text explainer view: tokens coloured by attribution, the model's outputs (click one to explain
// it), the completeness badge, and the alpha path (tokens coloured by the attributions accumulated up
// to alpha, beside the score curve). Slider moves and hovers never wait for the kernel.

import { formatNumber } from "../chart.js";
import { labelledSelect } from "../controls.js";
import {
  choicesFor,
  clipControl,
  connect,
  element,
  outputsColumn,
  pathSection,
  pathSettings,
  resultReader,
  showPathSummary,
} from "../frame.js";
import { createLegend } from "../legend.js";
import { clipValue } from "../normalise.js";
import { addStyles } from "../styles.js";
import { decodeTextResult } from "./result.js";
import { createTokenStrip } from "./strip.js";
import { displayUnits, unitName, unitTrace, unitValues } from "./units.js";

const TEXT_STYLES = `
.igw-text .igw-tokens { line-height: 1.9; max-width: 760px; white-space: normal; overflow-wrap: anywhere;
  padding: 4px 6px; border: 1px solid var(--jp-border-color2, #ddd); border-radius: 3px; }
.igw-text .igw-token { padding: 1px 2px; border-radius: 3px; white-space: pre-wrap; }
.igw-text .igw-token-special { opacity: 0.55; font-size: 0.85em; }
.igw-text .igw-token:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); }
.igw-text .igw-token-pointed { outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 1px; }
.igw-text .igw-token-position { border-bottom: 2px solid var(--jp-ui-font-color1, #222); }
.igw-text .igw-token-after { opacity: 0.4; }
.igw-text .igw-token-next { margin-left: 3px; padding: 0 3px; border: 1px dashed var(--jp-ui-font-color2, #666);
  border-radius: 3px; color: var(--jp-ui-font-color2, #555); white-space: pre-wrap; }
.igw-text .igw-token-next::before { content: "→ "; }
.igw-text .igw-text-main { flex: 1 1 420px; min-width: 260px; display: flex; flex-direction: column; gap: 4px; }
.igw-text .igw-text-path { flex: 1 1 360px; min-width: 240px; max-height: 220px; overflow: auto; }
.igw-text .igw-legend { width: 240px; }
`;

/** The unit holding a language model's explained position (its next token is the target); null otherwise. */
function positionUnit(result, units) {
  if (result.task !== "next_token" || result.position === null) return null;
  const unit = units.groups.findIndex(([start, stop]) => start <= result.position && result.position < stop);
  return unit < 0 ? null : unit;
}

export function renderText({ model, el }) {
  const root = element("div", "igw igw-text");
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  addStyles(root, model.get("palette"));
  root.append(Object.assign(document.createElement("style"), { textContent: TEXT_STYLES }));
  const link = connect(model);
  const { on, send } = link;

  // -- controls ---------------------------------------------------------------------------
  const granularity = labelledSelect(
    "Show",
    choicesFor(model, "granularity"),
    model.get("granularity"),
    (v) => send("granularity", v),
  );
  const sign = labelledSelect("Sign", choicesFor(model, "sign"), model.get("sign"), (v) => send("sign", v));
  const clip = clipControl(model, link);
  const controls = element("div", "igw-controls");
  controls.append(granularity.root, sign.root, clip.root, ...pathSettings(model, link));

  // -- main row ----------------------------------------------------------------------------
  const { status, badge, side } = outputsColumn(model, link);
  const main = element("section", "igw-text-main");
  const caption = element("div", "igw-panel-title", "Attributions");
  const tokens = createTokenStrip("attributions", true);
  const legend = createLegend();
  main.append(caption, tokens.root, legend.root);
  const mainRow = element("div", "igw-row");
  mainRow.append(main, side);

  // -- path --------------------------------------------------------------------------------
  const accumulated = createTokenStrip("cumulative");
  const accumulatedBox = element("div", "igw-text-path");
  accumulatedBox.append(element("div", "igw-panel-title", "Attributions accumulated to α"), accumulated.root);
  const path = pathSection((index) => drawPath(index), [accumulatedBox]);
  const { slider, chart } = path;
  const readout = element("div", "igw-readout");
  readout.setAttribute("aria-live", "polite");

  root.append(status.root, controls, mainRow, path.root, readout);
  el.append(root);

  // -- state derived from the result, recomputed only when its inputs change -------------------
  let view = null; // {key, units, values, trace, clip}
  const current = resultReader(model, decodeTextResult, () => (view = null));
  const shown = () => {
    const r = current();
    if (!r) return null;
    const key = `${model.get("granularity")}|${model.get("sign")}|${model.get("clip")}`;
    if (!view || view.key !== key) {
      const units = displayUnits(r, model.get("granularity"));
      const values = unitValues(r.attributions, units.groups);
      const trace = unitTrace(r.cumulative, units.groups, r.alphas.length, r.count);
      const gradients = unitTrace(r.gradients, units.groups, r.alphas.length, r.count);
      view = {
        key,
        units,
        values,
        trace,
        gradients,
        clip: clipValue(values, model.get("clip"), model.get("sign")),
      };
      tokens.setUnits(units);
      accumulated.setUnits(units);
      const explained = positionUnit(r, units);
      for (const strip of [tokens, accumulated]) strip.markNext(explained, r.targetLabel);
    }
    return view;
  };

  const describe = (v, u) => `${unitName(v.units.texts, u)}: attribution ${formatNumber(v.values[u])}`;

  function drawMain() {
    const r = current();
    const v = shown();
    if (!r || !v) return;
    const mode = model.get("sign");
    tokens.paint(v.values, v.clip, mode, (u) => describe(v, u));
    legend.update(v.clip, mode);
    const explained = positionUnit(r, v.units);
    caption.textContent =
      explained === null
        ? `Attributions for “${r.targetLabel}”`
        : `Attributions for the next token “${r.targetLabel}”, predicted after “${unitName(v.units.texts, explained)}” ` +
          `(token ${r.position + 1} of ${r.count})`;
    tokens.root.setAttribute("aria-label", `Tokens coloured by attribution to ${r.targetLabel}`);
  }

  function drawPath(index) {
    const r = current();
    const v = shown();
    if (!r || !v) return;
    const units = v.units.texts.length;
    const at = v.trace.subarray(index * units, (index + 1) * units);
    accumulated.paint(
      at,
      v.clip,
      model.get("sign"),
      (u) =>
        `${unitName(v.units.texts, u)}: accumulated ${formatNumber(at[u])} at α = ${r.alphas[index].toFixed(3)}`,
    );
    chart.setCursor(r.alphas[index]);
    if (pointed !== null) describeUnit();
  }

  function drawResult() {
    const r = current();
    showPathSummary(r, { badge, path });
    if (!r) return;
    drawMain();
    drawPath(slider.index);
  }

  // The readout follows the unit last pointed at through slider moves and target changes.
  let pointed = null;

  function describeUnit() {
    const r = current();
    const v = shown();
    if (!r || !v || pointed === null || pointed >= v.units.texts.length) {
      pointed = null;
      readout.textContent = "";
      showPointed();
      return;
    }
    showPointed();
    const u = pointed;
    const at = slider.index * v.units.texts.length + u;
    readout.textContent =
      `“${unitName(v.units.texts, u)}”: attribution ${formatNumber(v.values[u])} · at α = ${r.alphas[slider.index].toFixed(3)}: ` +
      `gradient ${formatNumber(v.gradients[at])}, accumulated ${formatNumber(v.trace[at])}`;
  }

  function showReadout(event) {
    const span = event.target;
    if (!(span instanceof HTMLElement) || !span.classList.contains("igw-token")) return;
    pointed = Number(span.dataset.index);
    describeUnit();
  }

  function showPointed() {
    for (const strip of [tokens, accumulated]) strip.point(pointed);
  }
  root.addEventListener("mouseover", showReadout);
  root.addEventListener("focusin", showReadout);

  const redraw = () => (drawMain(), drawPath(slider.index));

  on("change:result", drawResult);
  on("change:granularity", () => {
    granularity.setValue(model.get("granularity"));
    pointed = null; // unit numbers change meaning between tokens and words
    readout.textContent = "";
    redraw();
    showPointed();
  });
  // token colours are drawn over the theme's background: a theme switch repaints them
  const theme = new MutationObserver(redraw);
  theme.observe(document.body, {
    attributes: true,
    attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"],
  });
  on("change:sign", () => (sign.setValue(model.get("sign")), redraw()));
  on("change:clip", () => (clip.setValue(model.get("clip")), redraw()));
  drawResult();

  return () => {
    link.disconnect();
    theme.disconnect();
    root.removeEventListener("mouseover", showReadout);
    root.removeEventListener("focusin", showReadout);
    slider.destroy();
    root.remove();
  };
}
