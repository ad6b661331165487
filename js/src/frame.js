// What every explainer view shares around its own drawing: model listeners that go with the view,
// the path settings (baseline, rule, steps) kept in step with the kernel, the outputs column with the
// completeness badge, and the alpha path section with its slider and score chart.

import { createBadge } from "./badge.js";
import { createPathChart, pathSeries } from "./chart.js";
import { labelledNumber, labelledSelect } from "./controls.js";
import { createOutputList } from "./outputs.js";
import { createAlphaSlider } from "./slider.js";
import { createStatusLine } from "./status.js";

export const MAX_STEPS = 1024;

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `on` listens to the model until `disconnect()`; `send` sets a synced trait and sends it to the kernel. */
export function connect(model) {
  const listeners = [];
  return {
    on(name, handler) {
      model.on(name, handler);
      listeners.push([name, handler]);
    },
    send(name, value) {
      model.set(name, value);
      model.save_changes();
    },
    disconnect() {
      for (const [name, handler] of listeners) model.off(name, handler);
    },
  };
}

/** A getter for the model's `result` decoded by `decode`, decoded again only when the payload changes;
 * `onNew()` then drops whatever the view derived from the old one. */
export function resultReader(model, decode, onNew) {
  let payload = null;
  let decoded = null;
  return () => {
    const next = model.get("result");
    if (next !== payload) {
      payload = next;
      decoded = decode(next);
      onNew();
    }
    return decoded;
  };
}

/** Baseline, rule and steps controls, two-way with the kernel's traits (their choices included). */
export function pathSettings(model, { on, send }) {
  const choices = model.get("choices") || {};
  const baseline = labelledSelect("Baseline", choices.baseline || [model.get("baseline")], model.get("baseline"),
    (v) => send("baseline", v));
  const rule = labelledSelect("Rule", choices.rule || [model.get("rule")], model.get("rule"), (v) => send("rule", v));
  const steps = labelledNumber("Steps", { type: "number", min: 1, max: MAX_STEPS, step: 1, value: model.get("steps") },
    (v) => Number.isInteger(v) && v >= 1 && v <= MAX_STEPS && send("steps", v));
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
  return [baseline.root, rule.root, steps.root];
}

/** The status line and the side column: outputs (a click explains that one) above the completeness
 * badge, whose button doubles the steps. Both follow the kernel from here on. */
export function outputsColumn(model, { on, send }) {
  const status = createStatusLine();
  const outputs = createOutputList((index) => send("target", index));
  const badge = createBadge(() => send("steps", Math.min(MAX_STEPS, model.get("steps") * 2)));
  const side = element("div", "igw-side");
  side.append(element("div", "igw-panel-title", "Outputs (click to explain)"), outputs.root, badge.root);
  const updateOutputs = () => outputs.update(model.get("outputs") || [], model.get("target"));
  const updateStatus = () =>
    status.update({ status: model.get("status"), progress: model.get("progress"), error: model.get("error") });
  for (const name of ["outputs", "target"]) on(`change:${name}`, updateOutputs);
  for (const name of ["status", "progress", "error"]) on(`change:${name}`, updateStatus);
  updateStatus();
  updateOutputs();
  return { status, badge, side };
}

/** The alpha path section: its title, a slider over the recorded points (`onIndex(i)` on a move), and
 * a row of the view's `panels` followed by the score chart. */
export function pathSection(onIndex, panels, rowClass = "igw-row") {
  const root = element("section", "igw-path");
  root.setAttribute("aria-label", "Path from baseline to input");
  const slider = createAlphaSlider(onIndex);
  const chart = createPathChart();
  const row = element("div", rowClass);
  row.append(...panels, chart.root);
  root.append(element("div", "igw-panel-title", "Walk the path (arrow keys step, Home/End jump)"), slider.root, row);
  return { root, slider, chart };
}

/** Show a new result's badge, score curve and slider points; hide the path and badge until there is one. */
export function showPathSummary(result, { badge, path }) {
  path.root.hidden = !result;
  badge.root.hidden = !result; // no empty badge before the first result
  if (!result) return;
  badge.update(result.completeness, result.steps);
  path.chart.setData(pathSeries({
    alphas: result.alphas, scores: result.scores, cumulativeTotal: result.cumulativeTotal,
    score: result.completeness.score, baselineScore: result.completeness.baseline_score,
  }));
  path.slider.setAlphas(result.alphas);
}
