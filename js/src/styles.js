// Styles for every view, themed by JupyterLab's CSS variables with fallbacks for other front ends.
// Inserted once per widget root, so the bundle stays one file.

import { usePalette } from "./colormaps.js";

export const STYLES = `
.igw { font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #222); background: var(--jp-layout-color0, #fff); padding: 6px; }
.igw button, .igw select, .igw input { font: inherit; color: var(--jp-ui-font-color1, #222);
  background: var(--jp-layout-color1, #fff); border: 1px solid var(--jp-border-color1, #bbb); border-radius: 3px; }
.igw button { cursor: pointer; padding: 2px 8px; }
.igw :is(button, select, input):disabled { opacity: 0.55; cursor: not-allowed; }
.igw :focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 1px; }
.igw-controls { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-bottom: 6px; align-items: center; }
.igw-control { display: inline-flex; gap: 4px; align-items: center; }
.igw-control input[type=number] { width: 4.5em; }
.igw-control output { min-width: 2.5em; color: var(--jp-ui-font-color2, #555); }
.igw-row { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.igw-panel { display: flex; flex-direction: column; gap: 3px; }
.igw-panel-title { color: var(--jp-ui-font-color2, #555); font-size: var(--jp-ui-font-size0, 11px); }
.igw canvas.igw-map { width: var(--igw-size, 192px); height: auto; image-rendering: pixelated;
  border: 1px solid var(--jp-border-color2, #ddd); background: #000; }
.igw-small canvas.igw-map { --igw-size: 136px; }
.igw-legend { width: var(--igw-size, 192px); }
.igw-ramp { width: 100%; height: 10px; display: block; image-rendering: auto; }
.igw-legend-labels { display: flex; justify-content: space-between; font-size: var(--jp-ui-font-size0, 11px); }
.igw-side { display: flex; flex-direction: column; gap: 8px; min-width: 220px; }
.igw-outputs, .igw-outputs-rows { display: flex; flex-direction: column; gap: 2px; }
.igw-outputs-scale { color: var(--jp-ui-font-color2, #555); font-size: var(--jp-ui-font-size0, 11px); }
.igw-output:disabled { opacity: 0.5; cursor: not-allowed; }
.igw-control-note { color: var(--jp-warn-color0, #9a6700); font-size: var(--jp-ui-font-size0, 11px); }
.igw-static-note { color: var(--jp-ui-font-color2, #555); font-size: var(--jp-ui-font-size0, 11px);
  border-left: 3px solid var(--jp-border-color1, #999); padding-left: 6px; }
.igw [hidden] { display: none !important; }
.igw-output { display: grid; grid-template-columns: minmax(3em, 8em) 1fr 4em; gap: 6px; align-items: center;
  text-align: left; border-color: transparent !important; background: transparent !important; }
.igw-output[aria-pressed=true] { border-color: var(--jp-brand-color1, #1976d2) !important; font-weight: 600; }
.igw-output-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.igw-bar { height: 8px; background: var(--jp-layout-color3, #ddd); border-radius: 2px; overflow: hidden; }
.igw-bar span { display: block; height: 100%; background: var(--jp-brand-color1, #1976d2); }
.igw-bar span.igw-bar-negative { background: var(--jp-ui-font-color2, #666); }
.igw-output-value { text-align: right; font-variant-numeric: tabular-nums; }
.igw-badge-row { display: flex; gap: 6px; align-items: center; }
.igw-badge-row[hidden] { display: none; }
.igw-badge { padding: 2px 8px; border-radius: 10px; color: #fff; font-weight: 600; }
.igw-badge[data-level=good] { background: #1b7f3b; }
.igw-badge[data-level=fair] { background: #9a6700; }
.igw-badge[data-level=poor] { background: #b3261e; }
.igw-badge[data-level=rounding] { background: #5b6770; }
.igw-status { min-height: 1.2em; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.igw-error { color: var(--jp-error-color1, #b3261e); white-space: pre-wrap; flex-basis: 100%; }
.igw-error[hidden], .igw-status progress[hidden], .igw-model-changed[hidden] { display: none; }
.igw-model-changed { flex-basis: 100%; padding: 4px 8px; border-left: 4px solid #9a6700;
  background: var(--jp-warn-color3, #fff4d6); color: var(--jp-ui-font-color1, #222); }
.igw-model-changed button { margin-left: 6px; }
.igw-path { margin-top: 8px; border-top: 1px solid var(--jp-border-color2, #ddd); padding-top: 6px; }
.igw-slider { display: flex; gap: 8px; align-items: center; margin: 5px 0 6px; }  /* room for the focus ring */
.igw-track { position: relative; flex: 1; max-width: 520px; }
.igw-track input { width: 100%; margin: 0; }
.igw-ticks { position: relative; height: 5px; margin: 0 8px; }
.igw-ticks span { position: absolute; width: 1px; height: 5px; background: var(--jp-ui-font-color2, #666); }
.igw-alpha { font-variant-numeric: tabular-nums; min-width: 13em; }
.igw-chart { width: 340px; height: auto; }
.igw-chart .igw-axis { stroke: var(--jp-ui-font-color2, #666); }
.igw-chart .igw-goal { stroke: var(--jp-ui-font-color2, #666); stroke-dasharray: 3 3; }
.igw-chart .igw-cursor { stroke: var(--jp-brand-color1, #1976d2); stroke-width: 1.5; }
.igw-chart path { fill: none; stroke-width: 1.8; }
.igw-chart .igw-line-score { stroke: var(--igw-score); }
.igw-chart .igw-dot { fill: var(--igw-score); }
.igw-chart .igw-line-sum { stroke: var(--igw-sum); }
.igw-chart text { fill: var(--jp-ui-font-color1, #222); font-size: 10px; }
.igw-chart-box { margin: 0; }
.igw-chart-key { display: flex; gap: 12px; font-size: var(--jp-ui-font-size0, 11px); }
.igw-chart-key span::before { content: ""; display: inline-block; width: 14px; height: 0; margin-right: 4px;
  vertical-align: middle; border-top: 2px solid; }
.igw-key-score::before { border-color: var(--igw-score) !important; }
.igw-key-sum::before { border-color: var(--igw-sum) !important; }
.igw-key-goal::before { border-top-style: dashed !important; border-color: var(--jp-ui-font-color2, #666) !important; }
.igw-readout { min-height: 1.3em; font-variant-numeric: tabular-nums; color: var(--jp-ui-font-color2, #555); }

/* -- pointer probe, tooltip, badge note and chart labels (image view / badge / chart owner, issue 11);
   the badge note wraps inside the outputs column: contain: inline-size keeps its text from widening it -- */
.igw-image { position: relative; }
.igw-probe { position: absolute; pointer-events: none; box-sizing: border-box; border: 2px solid #fff;
  outline: 1px solid #000; }
.igw-tooltip { position: absolute; z-index: 10; pointer-events: none; padding: 3px 6px; border-radius: 3px;
  background: var(--jp-layout-color0, #fff); color: var(--jp-ui-font-color1, #222);
  border: 1px solid var(--jp-border-color1, #bbb); box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25);
  font-size: var(--jp-ui-font-size0, 11px); font-variant-numeric: tabular-nums; white-space: nowrap; }
.igw-probe[hidden], .igw-tooltip[hidden], .igw-badge-note[hidden] { display: none; }
.igw-badge-row { flex-wrap: wrap; }
.igw-badge-note { flex-basis: 100%; contain: inline-size; font-size: var(--jp-ui-font-size0, 11px); }
.igw-chart .igw-goal-value, .igw-chart .igw-axis-scale { fill: var(--jp-ui-font-color2, #666); }

/* -- path methods and the checks panel (issue 14) -- */
.igw-checks { margin-top: 8px; padding-top: 6px; border-top: 1px solid var(--jp-border-color2, #ddd);
  font-size: var(--jp-ui-font-size1, 13px); }
.igw-checks-header { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.igw-checks-title { font-weight: 600; }
.igw-checks-state { color: var(--jp-ui-font-color2, #555); font-size: var(--jp-ui-font-size0, 11px); }
.igw-checks[data-stale="true"] .igw-checks-sanity, .igw-checks[data-stale="true"] .igw-checks-deletion { opacity: 0.5; }
.igw-checks-verdict[data-passed="false"] { color: var(--jp-error-color1, #b00020); font-weight: 600; }
.igw-checks-table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 4px 0; }
.igw-checks-table th, .igw-checks-table td { padding: 1px 8px 1px 0; text-align: left; }
.igw-checks-deletion { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.igw-checks-deletion svg { border: 1px solid var(--jp-border-color2, #ddd); }
.igw-curve-deletion, .igw-curve-insertion { fill: none; stroke-width: 1.5; }
.igw-curve-deletion { stroke: #5e3c99; }
.igw-curve-insertion { stroke: #e66101; stroke-dasharray: 4 2; }
/* -- data-set gallery (issue 16) -- */
.igw-ds { font-size: var(--jp-ui-font-size1, 13px); color: var(--jp-ui-font-color1, #222); }
.igw-ds-header { color: var(--jp-ui-font-color2, #555); margin-bottom: 4px; }
.igw-ds-controls, .igw-ds-pager { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
.igw-ds-control { display: inline-flex; gap: 4px; align-items: center; }
.igw-ds-control input { width: 4.5em; }
.igw-ds-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(132px, 1fr)); gap: 6px; }
.igw-ds-card { display: flex; flex-direction: column; gap: 2px; padding: 4px; text-align: left; cursor: pointer;
  font: inherit; color: inherit; background: var(--jp-layout-color1, #fff);
  border: 1px solid var(--jp-border-color2, #ddd); border-radius: 3px; }
.igw-ds-card:hover, .igw-ds-card:focus-visible { border-color: var(--jp-brand-color1, #1976d2); }
.igw-ds-card[data-correct="false"] { border-left: 3px solid var(--jp-error-color1, #b00020); }
.igw-ds-pictures { display: flex; gap: 3px; }
.igw-ds-thumb { width: 56px; height: 56px; image-rendering: pixelated; }
.igw-ds-large { width: 168px; height: 168px; image-rendering: pixelated; }
.igw-ds-caption { display: flex; justify-content: space-between; gap: 4px; }
.igw-ds-numbers { font-size: var(--jp-ui-font-size0, 11px); color: var(--jp-ui-font-color2, #555);
  font-variant-numeric: tabular-nums; }
.igw-ds-numbers > span { white-space: nowrap; }
.igw-ds-detail:not(:empty) { margin-top: 8px; padding-top: 6px; border-top: 1px solid var(--jp-border-color2, #ddd); }
.igw-ds-detail-title { font-weight: 600; display: flex; gap: 10px; align-items: center; }
.igw-ds-table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 4px 0; }
.igw-ds-table th, .igw-ds-table td { padding: 1px 8px 1px 0; text-align: left; }
.igw-ds-summary { margin-top: 8px; }
.igw-ds-summary-grid { display: flex; flex-wrap: wrap; gap: 8px; }
.igw-ds-summary-label { font-size: var(--jp-ui-font-size0, 11px); }
`;

/** Add the stylesheet inside `root` (works in shadow roots and exported HTML alike), with the kernel's
 * `palette` (ig_widget/schema.py): the heat maps' tables, and the chart's colours as CSS variables. */
export function addStyles(root, palette) {
  const style = document.createElement("style");
  style.textContent = STYLES;
  root.prepend(style);
  usePalette(palette);
  if (palette?.score) root.style.setProperty("--igw-score", palette.score);
  if (palette?.sum) root.style.setProperty("--igw-sum", palette.sum);
}
