// Keys typed in a view belong to the view, not to the notebook's command-mode shortcuts.
//
// `data-lm-suppress-shortcuts` on the view's root is not enough: Lumino walks from the focused element
// up, testing each binding's selector before it reaches the root, and Notebook 7's (and JupyterLab's)
// ArrowLeft/ArrowRight bindings ("notebook:move-cursor-heading-above-or-collapse", selector
// ".jp-Notebook.jp-mod-commandMode:not(.jp-mod-readWrite) :focus") match the focused <input> itself,
// so the alpha slider never saw its arrow keys. Marking whichever element takes focus, when it takes
// it, stops the walk at distance 0 for every control (sliders, number fields, selects, output buttons).

const ATTRIBUTE = "data-lm-suppress-shortcuts";

/** Suppress Lumino shortcuts inside `host`; returns the cleanup. */
export function suppressShortcuts(host) {
  host.setAttribute(ATTRIBUTE, "true");
  const mark = (event) => event.target?.setAttribute?.(ATTRIBUTE, "true");
  host.addEventListener("focusin", mark);
  return () => host.removeEventListener("focusin", mark);
}
