// The text explainer view: tokens coloured by attribution, the model's outputs (click one to explain
// it), the completeness badge, and the alpha path (tokens coloured by the attributions accumulated up
// to alpha, beside the score curve). Slider moves and hovers never wait for the kernel.

import { createBadge } from "../badge.js";
import { createPathChart, formatNumber, pathSeries } from "../chart.js";
import { labelledNumber, labelledSelect } from "../controls.js";
import { createLegend } from "../legend.js";
import { SIGN_MODES, clipValue } from "../normalise.js";
import { createOutputList } from "../outputs.js";
import { createAlphaSlider } from "../slider.js";
import { createStatusLine } from "../status.js";
import { addStyles } from "../styles.js";
import { decodeTextResult } from "./result.js";
import { createTokenStrip } from "./strip.js";
import { GRANULARITIES, displayUnits, unitTrace, unitValues } from "./units.js";

const MAX_STEPS = 1024;
const TEXT_STYLES = `
.igw-text .igw-tokens { line-height: 1.9; max-width: 760px; white-space: normal; overflow-wrap: anywhere;
  padding: 4px 6px; border: 1px solid var(--jp-border-color2, #ddd); border-radius: 3px; }
.igw-text .igw-token { padding: 1px 2px; border-radius: 3px; white-space: pre-wrap; }
.igw-text .igw-token-special { opacity: 0.55; font-size: 0.85em; }
.igw-text .igw-token:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); }
.igw-text .igw-text-main { flex: 1 1 420px; min-width: 260px; display: flex; flex-direction: column; gap: 4px; }
.igw-text .igw-text-path { flex: 1 1 360px; min-width: 240px; max-height: 220px; overflow: auto; }
.igw-text .igw-legend { width: 240px; }
`;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function renderText({ model, el }) {
  const root = element("div", "igw igw-text");
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  addStyles(root);
  root.append(Object.assign(document.createElement("style"), { textContent: TEXT_STYLES }));
  const listeners = [];
  const on = (name, handler) => {
    model.on(name, handler);
    listeners.push([name, handler]);
  };
  const send = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };

  // -- controls ---------------------------------------------------------------------------
  const choices = model.get("choices") || {};
  const granularity = labelledSelect("Show", GRANULARITIES, model.get("granularity") || "tokens",
    (v) => send("granularity", v));
  const sign = labelledSelect("Sign", SIGN_MODES, model.get("sign"), (v) => send("sign", v));
  const clip = labelledNumber("Clip %", { min: 50, max: 100, step: 0.5, value: model.get("clip"), format: (v) => v.toFixed(1) },
    (v) => send("clip", v));
  const baseline = labelledSelect("Baseline", choices.baseline || [model.get("baseline")], model.get("baseline"),
    (v) => send("baseline", v));
  const rule = labelledSelect("Rule", choices.rule || [model.get("rule")], model.get("rule"), (v) => send("rule", v));
  const steps = labelledNumber("Steps", { type: "number", min: 1, max: MAX_STEPS, step: 1, value: model.get("steps") },
    (v) => Number.isInteger(v) && v >= 1 && v <= MAX_STEPS && send("steps", v));
  const controls = element("div", "igw-controls");
  controls.append(granularity.root, sign.root, clip.root, baseline.root, rule.root, steps.root);

  // -- main row ----------------------------------------------------------------------------
  const status = createStatusLine();
  const main = element("section", "igw-text-main");
  const caption = element("div", "igw-panel-title", "Attributions");
  const tokens = createTokenStrip("attributions", true);
  const legend = createLegend();
  main.append(caption, tokens.root, legend.root);
  const outputs = createOutputList((index) => send("target", index));
  const outputsTitle = element("div", "igw-panel-title", "Outputs (click to explain)");
  const badge = createBadge(() => send("steps", Math.min(MAX_STEPS, model.get("steps") * 2)));
  const side = element("div", "igw-side");
  side.append(outputsTitle, outputs.root, badge.root);
  const mainRow = element("div", "igw-row");
  mainRow.append(main, side);

  // -- path --------------------------------------------------------------------------------
  const path = element("section", "igw-path");
  path.setAttribute("aria-label", "Path from baseline to input");
  const slider = createAlphaSlider((index) => drawPath(index));
  const accumulated = createTokenStrip("cumulative");
  const accumulatedBox = element("div", "igw-text-path");
  accumulatedBox.append(element("div", "igw-panel-title", "Attributions accumulated to α"), accumulated.root);
  const chart = createPathChart();
  const pathRow = element("div", "igw-row");
  pathRow.append(accumulatedBox, chart.root);
  path.append(element("div", "igw-panel-title", "Walk the path (arrow keys step, Home/End jump)"), slider.root, pathRow);
  const readout = element("div", "igw-readout");
  readout.setAttribute("aria-live", "polite");

  root.append(status.root, controls, mainRow, path, readout);
  el.append(root);

  // -- state derived from the result, recomputed only when its inputs change -------------------
  let resultPayload = null;
  let result = null;
  let view = null; // {key, units, values, trace, clip}

  const current = () => {
    const payload = model.get("result");
    if (payload !== resultPayload) {
      resultPayload = payload;
      result = decodeTextResult(payload);
      view = null;
    }
    return result;
  };
  const shown = () => {
    const r = current();
    if (!r) return null;
    const key = `${model.get("granularity")}|${model.get("sign")}|${model.get("clip")}`;
    if (!view || view.key !== key) {
      const units = displayUnits(r, model.get("granularity"));
      const values = unitValues(r.attributions, units.groups);
      const trace = unitTrace(r.cumulative, units.groups, r.alphas.length, r.count);
      const gradients = unitTrace(r.gradients, units.groups, r.alphas.length, r.count);
      view = { key, units, values, trace, gradients, clip: clipValue(values, model.get("clip"), model.get("sign")) };
      tokens.setUnits(units);
      accumulated.setUnits(units);
    }
    return view;
  };

  const describe = (v, u) => `${v.units.texts[u]}: attribution ${formatNumber(v.values[u])}`;

  function drawMain() {
    const r = current();
    const v = shown();
    if (!r || !v) return;
    const mode = model.get("sign");
    tokens.paint(v.values, v.clip, mode, (u) => describe(v, u));
    legend.update(v.clip, mode);
    caption.textContent = `Attributions for “${r.targetLabel}”`;
    tokens.root.setAttribute("aria-label", `Tokens coloured by attribution to ${r.targetLabel}`);
  }

  function drawPath(index) {
    const r = current();
    const v = shown();
    if (!r || !v) return;
    const units = v.units.texts.length;
    const at = v.trace.subarray(index * units, (index + 1) * units);
    accumulated.paint(at, v.clip, model.get("sign"),
      (u) => `${v.units.texts[u]}: accumulated ${formatNumber(at[u])} at α = ${r.alphas[index].toFixed(3)}`);
    chart.setCursor(r.alphas[index]);
    if (pointed !== null) describeUnit();
  }

  function drawResult() {
    const r = current();
    path.hidden = !r;
    badge.root.hidden = !r; // no empty badge before the first result
    if (!r) return;
    badge.update(r.completeness, r.steps);
    chart.setData(pathSeries({
      alphas: r.alphas, scores: r.scores, cumulativeTotal: r.cumulativeTotal,
      score: r.completeness.score, baselineScore: r.completeness.baseline_score,
    }));
    slider.setAlphas(r.alphas);
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
      return;
    }
    const u = pointed;
    const at = slider.index * v.units.texts.length + u;
    readout.textContent =
      `“${v.units.texts[u]}”: attribution ${formatNumber(v.values[u])} · at α = ${r.alphas[slider.index].toFixed(3)}: ` +
      `gradient ${formatNumber(v.gradients[at])}, accumulated ${formatNumber(v.trace[at])}`;
  }

  function showReadout(event) {
    const span = event.target;
    if (!(span instanceof HTMLElement) || !span.classList.contains("igw-token")) return;
    pointed = Number(span.dataset.index);
    describeUnit();
  }
  root.addEventListener("mouseover", showReadout);
  root.addEventListener("focusin", showReadout);

  const updateOutputs = () => outputs.update(model.get("outputs") || [], model.get("target"));
  const updateStatus = () =>
    status.update({ status: model.get("status"), progress: model.get("progress"), error: model.get("error") });
  const redraw = () => (drawMain(), drawPath(slider.index));

  on("change:result", drawResult);
  on("change:granularity", () => {
    granularity.setValue(model.get("granularity"));
    pointed = null; // unit numbers change meaning between tokens and words
    readout.textContent = "";
    redraw();
  });
  on("change:sign", () => (sign.setValue(model.get("sign")), redraw()));
  on("change:clip", () => (clip.setValue(model.get("clip")), redraw()));
  on("change:baseline", () => baseline.setValue(model.get("baseline")));
  on("change:rule", () => rule.setValue(model.get("rule")));
  on("change:steps", () => steps.setValue(model.get("steps")));
  on("change:choices", () => {
    const next = model.get("choices") || {};
    if (next.baseline) baseline.setOptions(next.baseline);
    if (next.rule) rule.setOptions(next.rule);
    baseline.setValue(model.get("baseline"));
    rule.setValue(model.get("rule"));
  });
  on("change:outputs", updateOutputs);
  on("change:target", updateOutputs);
  on("change:status", updateStatus);
  on("change:progress", updateStatus);
  on("change:error", updateStatus);

  updateStatus();
  updateOutputs();
  drawResult();

  return () => {
    for (const [name, handler] of listeners) model.off(name, handler);
    root.removeEventListener("mouseover", showReadout);
    root.removeEventListener("focusin", showReadout);
    slider.destroy();
    root.remove();
  };
}
