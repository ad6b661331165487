// The generation explainer view: the prompt and the generated text as one token strip (click or arrow to
// a generated token: the tokens before it take the colours of their attribution to it), the matrix of
// every generated token against its context (hover for the number, click for the row), the model's top
// alternatives at the selected position (click one: "why this token and not that one"), the badge and
// the alpha path of the selected row. Rows appear as the kernel computes them; selecting, hovering and
// sliding never wait for the kernel.

import { formatApprox, formatNumber } from "../chart.js";
import { labelledNumber, labelledSelect } from "../controls.js";
import {
  choicesFor,
  connect,
  element,
  pathSection,
  pathSettings,
  resultReader,
  showPathSummary,
  staticPage,
} from "../frame.js";
import { createBadge } from "../badge.js";
import { createLegend } from "../legend.js";
import { clipValue } from "../normalise.js";
import { createOutputList } from "../outputs.js";
import { createStatusLine, recomputeFor } from "../status.js";
import { addStyles } from "../styles.js";
import { createTokenStrip } from "../text/strip.js";
import { displayUnits, unitName, unitTrace, unitValues } from "../text/units.js";
import { createMatrix } from "./matrix.js";
import { decodeGenerationResult, rowView } from "./result.js";

const GENERATION_STYLES = `
.igw-gen .igw-tokens { line-height: 1.9; max-width: 760px; white-space: normal; overflow-wrap: anywhere;
  padding: 4px 6px; border: 1px solid var(--jp-border-color2, #ddd); border-radius: 3px; }
.igw-gen .igw-token { padding: 1px 0; border-radius: 3px; white-space: pre-wrap; }
.igw-gen .igw-token:empty { padding: 1px 2px; } /* a piece of a character that a later token completes */
.igw-gen .igw-token-special { opacity: 0.55; font-size: 0.85em; }
.igw-gen .igw-token-generated { cursor: pointer; border-bottom: 1px dashed var(--jp-ui-font-color2, #666); }
.igw-gen .igw-token-selected { outline: 2px solid var(--jp-brand-color1, #1976d2); outline-offset: 1px; }
.igw-gen .igw-token-after { opacity: 0.35; }
.igw-gen .igw-token-pointed { outline: 1px dotted var(--jp-ui-font-color1, #222); }
.igw-gen .igw-token:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); }
.igw-gen .igw-gen-main { flex: 1 1 420px; min-width: 260px; display: flex; flex-direction: column; gap: 4px; }
.igw-gen .igw-gen-matrix { position: relative; overflow: auto; max-width: 760px; }
.igw-gen .igw-gen-matrix-body { display: flex; align-items: flex-start; gap: 4px; }
.igw-gen .igw-gen-matrix-plot { position: relative; }
.igw-gen .igw-gen-rowlabels { white-space: pre; text-align: right; max-width: 10em; overflow: hidden; padding-top: 1px;
  color: var(--jp-ui-font-color2, #555); }
.igw-gen .igw-gen-rowlabel-selected { color: var(--jp-ui-font-color0, #000); font-weight: 600; }
.igw-gen .igw-gen-matrix canvas { display: block; border: 1px solid var(--jp-border-color2, #ddd); }
.igw-gen .igw-gen-matrix canvas:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); }
.igw-gen .igw-gen-tip { position: absolute; pointer-events: none; padding: 2px 6px; border-radius: 3px;
  background: var(--jp-layout-color2, #eee); color: var(--jp-ui-font-color1, #222); white-space: pre;
  border: 1px solid var(--jp-border-color1, #bbb); font-variant-numeric: tabular-nums; z-index: 2; }
.igw-gen .igw-gen-path { flex: 1 1 360px; min-width: 240px; max-height: 220px; overflow: auto; }
.igw-gen .igw-legend { width: 240px; }
`;

export function renderGeneration({ model, el }) {
  const root = element("div", "igw igw-gen");
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  addStyles(root, model.get("palette"));
  root.append(Object.assign(document.createElement("style"), { textContent: GENERATION_STYLES }));
  const link = connect(model);
  const { on, send } = link;
  const sendMany = (values) => {
    for (const [name, value] of Object.entries(values)) model.set(name, value);
    model.save_changes();
  };

  // -- controls ---------------------------------------------------------------------------------
  const first = decodeGenerationResult(model.get("result"));
  const kinds = (first?.targetKinds ?? choicesFor(model, "target_kind")).filter(
    (kind) => kind !== "contrast",
  );
  const rowKind = labelledSelect("Rows explain", kinds, model.get("target_kind"), (v) =>
    sendMany({ target_kind: v, alternative: null }),
  );
  const page = staticPage(model);
  if (page) {
    // a static page answers only the row kinds it holds results for
    const held = page.choices("target_kind");
    for (const option of rowKind.input.options) option.disabled = !held.includes(option.value);
  }
  const granularity = labelledSelect(
    "Show",
    first?.granularities ?? [model.get("granularity")],
    model.get("granularity"),
    (v) => send("granularity", v),
  );
  const scale = labelledSelect(
    "Matrix colours",
    first?.scales ?? [model.get("scale")],
    model.get("scale"),
    (v) => send("scale", v),
  );
  const sign = labelledSelect("Sign", choicesFor(model, "sign"), model.get("sign"), (v) => send("sign", v));
  const clipLimits = model.get("limits")?.clip ?? {};
  const clip = labelledNumber(
    "Clip %",
    { ...clipLimits, step: 0.5, value: model.get("clip"), format: (v) => v.toFixed(1) },
    (v) => send("clip", v),
  );
  const controls = element("div", "igw-controls");
  controls.append(
    rowKind.root,
    granularity.root,
    scale.root,
    sign.root,
    clip.root,
    ...pathSettings(model, link),
  );

  // -- main: the strip, the matrix; side: alternatives and the badge ------------------------------
  const status = createStatusLine(recomputeFor(model, page));
  const rowsNote = element("span", "igw-panel-title");
  const main = element("section", "igw-gen-main");
  const caption = element("div", "igw-panel-title");
  const strip = createTokenStrip("context", true);
  strip.root.setAttribute("role", "group");
  const legend = createLegend();
  const matrixTitle = element(
    "div",
    "igw-panel-title",
    "Every generated token (rows) against its context (columns): hover for the number, click for the row",
  );
  const matrix = createMatrix((row) => select(row));
  main.append(caption, strip.root, legend.root, matrixTitle, matrix.root);

  const alternatives = createOutputList((token) => chooseAlternative(token));
  alternatives.root.setAttribute(
    "aria-label",
    "The model's top next tokens here: choose one to explain why not it",
  );
  const alternativesTitle = element("div", "igw-panel-title");
  const refused = element("div", "igw-control-note");
  refused.hidden = true;
  const moreSteps = () => Math.min(model.get("limits")?.steps?.max ?? Infinity, model.get("steps") * 2);
  const badge = createBadge(() => send("steps", moreSteps()));
  const side = element("div", "igw-side");
  side.append(alternativesTitle, refused, alternatives.root, badge.root);
  const mainRow = element("div", "igw-row");
  mainRow.append(main, side);

  // -- path ---------------------------------------------------------------------------------------
  const accumulated = createTokenStrip("cumulative");
  const accumulatedBox = element("div", "igw-gen-path");
  accumulatedBox.append(element("div", "igw-panel-title", "Attributions accumulated to α"), accumulated.root);
  const path = pathSection((index) => drawPath(index), [accumulatedBox]);
  const readout = element("div", "igw-readout");
  readout.setAttribute("aria-live", "polite");

  const statusRow = element("div", "igw-row");
  statusRow.append(status.root, rowsNote);
  root.append(statusRow, controls, mainRow, path.root, readout);
  el.append(root);

  // -- state ----------------------------------------------------------------------------------------
  let units = null; // display units of the current result and granularity
  let unitsKey = null;
  const current = resultReader(model, decodeGenerationResult, () => (unitsKey = null));
  const selected = () => model.get("selected");
  const contrasting = () => model.get("target_kind") === "contrast";
  const shownUnits = () => {
    const r = current();
    if (!r) return null;
    const key = model.get("granularity");
    if (unitsKey !== key) {
      units = displayUnits(r, key);
      unitsKey = key;
      for (const s of [strip, accumulated]) s.setUnits(units);
      markGenerated(r);
    }
    return units;
  };

  /** The unit holding token index `token`. */
  const unitOf = (token) => units.groups.findIndex(([start, stop]) => start <= token && token < stop);
  /** The first generated row whose token lies in unit `u`, or null for a prompt unit. */
  const rowOfUnit = (r, u) => {
    const [start, stop] = units.groups[u];
    const token = Math.max(start, r.promptLength);
    return token < stop ? token - r.promptLength : null;
  };

  function markGenerated(r) {
    strip.spans.forEach((span, u) => {
      const generated = rowOfUnit(r, u) !== null;
      span.classList.toggle("igw-token-generated", generated);
      if (generated) span.dataset.row = String(rowOfUnit(r, u));
      else delete span.dataset.row;
    });
  }

  function select(row) {
    const r = current();
    if (!r || row === null || row < 0 || row >= r.generated) return;
    if (row !== selected()) {
      // a contrast belongs to one position; the kernel drops it too, this only saves a round trip
      if (contrasting())
        sendMany({ selected: row, target_kind: rowKind.input.value || "logit", alternative: null });
      else send("selected", row);
    }
  }

  function chooseAlternative(token) {
    const r = current();
    if (!r) return;
    if (token === r.chosenTokens[selected()]) sendMany({ target_kind: r.matrixKind, alternative: null });
    else sendMany({ alternative: token, target_kind: "contrast" });
  }

  // -- drawing -----------------------------------------------------------------------------------
  function drawMain() {
    const r = current();
    const u = shownUnits();
    if (!r || !u) return;
    const row = selected();
    const view = rowView(r, row, contrasting());
    const position = r.promptLength + row;
    const mode = model.get("sign");
    const selectedUnit = unitOf(position);
    strip.spans.forEach((span, k) => {
      span.classList.toggle("igw-token-selected", k === selectedUnit);
      span.classList.toggle("igw-token-after", units.groups[k][0] >= position && k !== selectedUnit);
      span.setAttribute("aria-pressed", String(k === selectedUnit));
    });
    const token = unitName(r.tokens, position);
    if (view) {
      const values = unitValues(view.values, u.groups);
      const clipAt = clipValue(values, model.get("clip"), mode);
      strip.paint(
        values,
        clipAt,
        mode,
        (k) => `${unitName(u.texts, k)}: attribution ${formatNumber(values[k])}`,
      );
      legend.update(clipAt, mode);
    } else {
      strip.paint(new Float32Array(u.texts.length), 1, mode);
    }
    const kind = view?.contrast
      ? `its logit minus that of “${view.contrast.label}”`
      : `its ${r.matrixScoreName}`;
    caption.textContent =
      `Attributions to the generated token “${token}” (${row + 1} of ${r.generated}: ${kind})` +
      (view ? "" : " — computing…");
    strip.root.setAttribute(
      "aria-label",
      `Prompt and generated tokens; the context of “${token}” coloured by attribution`,
    );
    matrix.draw({
      result: r,
      units: u,
      selected: row,
      sign: mode,
      clip: model.get("clip"),
      scale: model.get("scale"),
    });
    drawSide(r, view);
    showPathSummary(view, { badge, path });
    if (view) drawPath(path.slider.index);
    rowsNote.textContent = r.complete ? "" : `rows computed: ${r.rows.length} of ${r.generated}`;
  }

  function drawSide(r, _view) {
    const row = selected();
    const token = unitName(r.tokens, r.promptLength + row);
    alternativesTitle.textContent = `Next tokens the model considered for “${token}” (click: why not that one)`;
    const pressed = contrasting() ? model.get("alternative") : r.chosenTokens[row];
    // a static page holds the matrix it was saved with, never a contrast: only the chosen token answers
    const answered = (token) => !page || token === r.chosenTokens[row];
    alternatives.update(r.alternatives[row], pressed, answered, page?.note ?? "");
  }

  function drawPath(index) {
    const r = current();
    const u = shownUnits();
    const view = r && rowView(r, selected(), contrasting());
    if (!view || !u || !view.alphas.length) return;
    const steps = view.alphas.length;
    const trace = unitTrace(view.cumulative, u.groups, steps, view.count);
    const count = u.texts.length;
    const at = trace.subarray(index * count, (index + 1) * count);
    const mode = model.get("sign");
    accumulated.paint(
      at,
      clipValue(trace, model.get("clip"), mode),
      mode,
      (k) =>
        `${unitName(u.texts, k)}: accumulated ${formatNumber(at[k])} at α = ${view.alphas[index].toFixed(3)}`,
    );
    path.chart.setCursor(view.alphas[index]);
    describePointed();
  }

  // -- pointing at a token: the readout --------------------------------------------------------------
  let pointed = null;
  function describePointed() {
    const r = current();
    const u = shownUnits();
    const view = r && rowView(r, selected(), contrasting());
    for (const s of [strip, accumulated]) s.point(pointed);
    if (!view || !u || pointed === null || pointed >= u.texts.length) {
      readout.textContent = "";
      return;
    }
    const values = unitValues(view.values, u.groups);
    const index = path.slider.index;
    const [start, stop] = u.groups[pointed];
    let sum = 0;
    let error = 0;
    for (let t = start; t < stop; t++) {
      sum += view.cumulative[index * view.count + t];
      error += view.errorAt(index * view.count + t);
    }
    readout.textContent =
      `“${unitName(u.texts, pointed)}”: attribution ${formatNumber(values[pointed])} · accumulated at ` +
      `α = ${view.alphas[index].toFixed(3)}: ${formatApprox(sum, error)}`;
  }
  function onPoint(event) {
    const span = event.target;
    if (!(span instanceof HTMLElement) || !span.classList.contains("igw-token")) return;
    pointed = Number(span.dataset.index);
    describePointed();
  }
  function onStripClick(event) {
    const span = event.target;
    if (span instanceof HTMLElement && span.dataset.row !== undefined) select(Number(span.dataset.row));
  }
  function onStripKey(event) {
    const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
    if (step === undefined && event.key !== "Enter") return;
    const span = event.target;
    if (event.key === "Enter") {
      if (span instanceof HTMLElement && span.dataset.row !== undefined) select(Number(span.dataset.row));
      return;
    }
    event.preventDefault();
    const r = current();
    if (!r) return;
    const next = Math.max(0, Math.min(r.generated - 1, selected() + step));
    select(next);
    const target = strip.spans[unitOf(r.promptLength + next)];
    target?.focus();
  }
  root.addEventListener("mouseover", onPoint);
  root.addEventListener("focusin", onPoint);
  strip.root.addEventListener("click", onStripClick);
  strip.root.addEventListener("keydown", onStripKey);

  // -- following the model ------------------------------------------------------------------------------
  const updateStatus = () => {
    status.update({
      status: model.get("status"),
      progress: model.get("progress"),
      error: model.get("error"),
      modelChanged: Boolean(model.get("model_changed")),
    });
  };
  link.onRefused("selected", (message) => {
    refused.textContent = message;
    refused.hidden = false;
  });
  on("change:result", drawMain);
  on("change:selected", () => {
    pointed = null;
    drawMain();
  });
  on("change:target_kind", () => {
    if (!contrasting()) rowKind.setValue(model.get("target_kind"));
    drawMain();
  });
  link.onRefused("target_kind", (message) => {
    if (!contrasting()) rowKind.setValue(model.get("target_kind"));
    rowKind.setNote(message);
  });
  on("change:alternative", drawMain);
  on("change:granularity", () => {
    granularity.setValue(model.get("granularity"));
    pointed = null;
    drawMain();
  });
  on("change:scale", () => (scale.setValue(model.get("scale")), drawMain()));
  on("change:sign", () => (sign.setValue(model.get("sign")), drawMain()));
  on("change:clip", () => (clip.setValue(model.get("clip")), drawMain()));
  for (const name of ["status", "progress", "error", "model_changed"]) on(`change:${name}`, updateStatus);
  const theme = new MutationObserver(drawMain);
  theme.observe(document.body, {
    attributes: true,
    attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"],
  });
  updateStatus();
  drawMain();
  if (!current()) showPathSummary(null, { badge, path });

  return () => {
    link.disconnect();
    theme.disconnect();
    root.removeEventListener("mouseover", onPoint);
    root.removeEventListener("focusin", onPoint);
    path.slider.destroy();
    root.remove();
  };
}
