// What every explainer view shares around its own drawing: model listeners that go with the view,
// the path settings (baseline, rule, steps) and the clip slider kept in step with the kernel (its
// limits, and its refusals: a refused change snaps back with the reason beside the control), the
// outputs column with the completeness badge, the alpha path section with its slider and score chart,
// and on a static page (no kernel) the settings it holds no results for disabled under a note.

import { createBadge } from "./badge.js";
import { createPathChart, pathSeries } from "./chart.js";
import { labelledNumber, labelledSelect } from "./controls.js";
import { createOutputList } from "./outputs.js";
import { createAlphaSlider } from "./slider.js";
import { createStatusLine, recomputeFor } from "./status.js";

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `on` listens to the model until `disconnect()`; `send` sets a synced trait and sends it to the kernel;
 * `onRefused(name, show)` calls `show(message)` when the kernel (or a page without one) refuses a change
 * of `name` (the kernel's custom message {type: "refused", names, message}; its values come back as changes). */
export function connect(model) {
  const listeners = [];
  const refusals = [];
  const on = (name, handler) => {
    model.on(name, handler);
    listeners.push([name, handler]);
  };
  on("msg:custom", (content) => {
    if (content?.type !== "refused") return;
    for (const [name, show] of refusals) if (content.names?.includes(name)) show(content.message);
  });
  return {
    on,
    send(name, value) {
      model.set(name, value);
      model.save_changes();
    },
    onRefused(name, show) {
      refusals.push([name, show]);
    },
    disconnect() {
      for (const [name, handler] of listeners) model.off(name, handler);
    },
  };
}

/** The kernel's choices for the menu of trait `name` (`choices[name]`: sign modes, display modes,
 * granularities... defined once in ig_widget/schema.py); the current value alone if none were sent. */
export function choicesFor(model, name) {
  return model.get("choices")?.[name] || [model.get(name)];
}

/** On a page without a kernel (export_shim.js puts `_static_page` in the state: a note, the request's
 * keys as the kernel named them (ig_widget/export.py: the fields of its Request) and the requests it
 * holds results for) the values of one request setting that the page can answer, the others kept as
 * they are; null in Jupyter, where the kernel answers everything. */
export function staticPage(model) {
  const page = model.get("_static_page");
  if (!page) return null;
  return {
    note: page.note,
    keys: page.keys ?? [],
    choices(name) {
      const others = (page.keys ?? []).filter((key) => key !== name);
      return page.requests
        .filter((request) => others.every((key) => request[key] === model.get(key)))
        .map((request) => request[name]);
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

/** Baseline, rule and steps controls, two-way with the kernel's traits (their choices and limits
 * included); a refused change snaps back with the reason beside its control. On a static page the
 * settings it holds no results for are disabled, and a note says why. Returns the elements to show. */
export function pathSettings(model, { on, send, onRefused }) {
  const choices = model.get("choices") || {};
  const baseline = labelledSelect(
    "Baseline",
    choices.baseline || [model.get("baseline")],
    model.get("baseline"),
    (v) => send("baseline", v),
  );
  const rule = labelledSelect("Rule", choices.rule || [model.get("rule")], model.get("rule"), (v) =>
    send("rule", v),
  );
  const steps = labelledNumber("Steps", { type: "number", step: 1, value: model.get("steps") }, (v) =>
    send("steps", v),
  );
  const controls = { baseline, rule, steps };
  const page = staticPage(model);
  const showLimits = () => {
    const limits = model.get("limits")?.steps;
    if (limits) steps.setLimits(limits);
  };
  const showStatic = () => {
    if (!page) return;
    for (const [name, control] of Object.entries(controls)) {
      const answered = page.choices(name);
      for (const option of control.input.options ?? []) option.disabled = !answered.includes(option.value);
      control.setDisabled(!answered.some((value) => value !== model.get(name)), page.note);
    }
  };
  for (const [name, control] of Object.entries(controls)) {
    on(`change:${name}`, () => control.setValue(model.get(name)));
    onRefused(name, (message) => {
      control.setValue(model.get(name));
      control.setNote(message);
    });
  }
  for (const name of page?.keys ?? []) on(`change:${name}`, showStatic);
  on("change:choices", () => {
    const next = model.get("choices") || {};
    if (next.baseline) baseline.setOptions(next.baseline);
    if (next.rule) rule.setOptions(next.rule);
    baseline.setValue(model.get("baseline"));
    rule.setValue(model.get("rule"));
    showStatic();
  });
  on("change:limits", showLimits);
  showLimits();
  showStatic();
  const elements = [baseline.root, rule.root, steps.root];
  if (page) elements.push(element("span", "igw-static-note", page.note));
  return elements;
}

/** The clip percentile slider over the kernel's range (`limits.clip`); a refused value snaps back with
 * the reason. The view follows `change:clip` itself (it redraws). */
export function clipControl(model, { on, send, onRefused }) {
  const range = model.get("limits")?.clip || {};
  const clip = labelledNumber(
    "Clip %",
    { min: range.min, max: range.max, step: 0.5, value: model.get("clip"), format: (v) => v.toFixed(1) },
    (v) => send("clip", v),
  );
  on("change:limits", () => {
    const next = model.get("limits")?.clip;
    if (next) clip.setLimits(next);
  });
  onRefused("clip", (message) => {
    clip.setValue(model.get("clip"));
    clip.setNote(message);
  });
  return clip;
}

/** The status line and the side column: outputs (a click explains that one) above the completeness
 * badge, whose button doubles the steps (up to the kernel's limit). Both follow the kernel from here on;
 * on a static page only the outputs and steps it holds results for can be chosen. */
export function outputsColumn(model, { on, send, onRefused }) {
  const page = staticPage(model);
  const status = createStatusLine(recomputeFor(model, page));
  const outputs = createOutputList((index) => send("target", index));
  const moreSteps = () => Math.min(model.get("limits")?.steps?.max ?? Infinity, model.get("steps") * 2);
  const badge = createBadge(() => send("steps", moreSteps()));
  const refused = element("div", "igw-control-note");
  refused.setAttribute("role", "status");
  refused.hidden = true;
  const side = element("div", "igw-side");
  side.append(
    element("div", "igw-panel-title", "Outputs (click to explain)"),
    refused,
    outputs.root,
    badge.root,
  );
  const updateOutputs = () => {
    const answered = page ? page.choices("target") : null;
    outputs.update(
      model.get("outputs") || [],
      model.get("target"),
      answered ? (index) => answered.includes(index) : undefined,
      page?.note,
    );
    if (page) badge.button.disabled = !page.choices("steps").includes(moreSteps());
  };
  const updateStatus = () =>
    status.update({
      status: model.get("status"),
      progress: model.get("progress"),
      error: model.get("error"),
      modelChanged: Boolean(model.get("model_changed")),
    });
  for (const name of new Set(["outputs", "target", ...(page?.keys ?? [])]))
    on(`change:${name}`, updateOutputs);
  for (const name of ["status", "progress", "error", "model_changed"]) on(`change:${name}`, updateStatus);
  onRefused("target", (message) => {
    updateOutputs();
    refused.textContent = message;
    refused.hidden = false;
  });
  outputs.root.addEventListener("click", () => (refused.hidden = true), { capture: true });
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
  root.append(
    element("div", "igw-panel-title", "Walk the path (arrow keys step, Home/End jump)"),
    slider.root,
    row,
  );
  return { root, slider, chart };
}

/** Show a new result's badge, score curve and slider points; hide the path and badge until there is one. */
export function showPathSummary(result, { badge, path }) {
  path.root.hidden = !result;
  badge.root.hidden = !result; // no empty badge before the first result
  if (!result) return;
  badge.update(result.completeness, result.steps);
  path.chart.setData(
    pathSeries({
      alphas: result.alphas,
      scores: result.scores,
      cumulativeTotal: result.cumulativeTotal,
      score: result.completeness.score,
      baselineScore: result.completeness.baseline_score,
    }),
  );
  path.slider.setAlphas(result.alphas);
}
