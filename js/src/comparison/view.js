// The method comparison (MethodComparison, ig_widget/widgets/comparison.py): for one input and target,
// one card per method (saliency, gradient x input, IG per baseline, SmoothGrad, Blur IG, Guided IG) with
// its map and its checks: completeness gap, deletion and insertion areas, sanity-check verdict. The
// kernel computes the methods one by one in the background and grows the `result` payload
// (schema.COMPARISON); cards not yet computed say so. Every printed number is the text Python printed;
// maps are only drawn, each scaled by its own largest |value|. The Target menu (the `labels` trait) sets
// the kernel's `target`, which computes the cards again; a target the kernel refuses snaps back with its
// reason. Needs nothing from the kernel to draw, so a saved notebook or an exported page shows the same;
// there (no kernel: `_static_page`) the menu is disabled and a card missing when the page was saved says
// that it was not computed before export.

import { decodeArray, decodeBytes } from "../decode.js";
import { greyOrRgb, paletteLuts, pixelCanvas, signedPixels } from "../dataset/pixels.js";
import { connect, element, staticPage } from "../frame.js";
import { labelledSelect } from "../controls.js";
import { createModelChangedNotice, recomputeFor } from "../status.js";
import { addStyles } from "../styles.js";
import { COMPARISON_STYLES } from "./styles.js";

/** The rows printed under a method's map: [label, printed value, field name]. */
export function printedRows(method) {
  return [
    ["gap", method.gap ?? "— (no path)", "gap"],
    ["relative gap", method.relative_gap ?? "—", "relative_gap"],
    ["deletion area ↓", method.deletion_area, "deletion_area"],
    ["insertion area ↑", method.insertion_area, "insertion_area"],
    ["sanity check", method.sanity ?? "not run", "sanity"],
  ];
}

/** The status line: how many methods are done, or the error; `saved`: on a page with no kernel. */
export function statusText(result, saved = false) {
  if (result.error) return `failed: ${result.error}`;
  const done = result.methods.length;
  const total = result.names.length;
  if (!result.computing) return `${done} of ${total} methods`;
  return saved
    ? `${done} of ${total} methods: saved while the kernel was still computing`
    : `computing… ${done} of ${total} methods done`;
}

/** What a card without its method says: still computing, or (on a saved page) never computed. */
export function pendingText(saved) {
  return saved ? "not computed when this page was saved" : "computing…";
}

function mapCanvas(payload, lut, label) {
  const map = decodeArray(payload);
  const [height, width] = map.shape;
  return pixelCanvas(signedPixels(map.values, 0, height * width, lut), width, height, "igw-cmp-map", label);
}

function imageCanvas(result) {
  const [height, width] = result.image.shape;
  const rgba = greyOrRgb(decodeBytes(result.image), 0, height * width, 3);
  return pixelCanvas(rgba, width, height, "igw-cmp-map", "the input");
}

function methodCard(name, method, lut, saved) {
  const card = element("figure", "igw-cmp-card");
  card.dataset.method = name;
  card.append(element("figcaption", "igw-cmp-name", name));
  if (!method) {
    card.dataset.pending = "true";
    card.append(element("div", "igw-cmp-pending", pendingText(saved)));
    return card;
  }
  card.dataset.pending = "false";
  card.append(mapCanvas(method.map, lut, `${name} map`));
  const table = element("table", "igw-cmp-numbers");
  for (const [label, value, field] of printedRows(method)) {
    const row = element("tr");
    const cell = element("td", "igw-cmp-value", value);
    cell.dataset.field = field;
    row.append(element("th", "", label), cell);
    table.append(row);
  }
  if (method.sanity_passed === false) card.dataset.sanity = "fails";
  else if (method.sanity_passed === true) card.dataset.sanity = "passes";
  card.append(table);
  return card;
}

export function renderComparison({ model, el }) {
  const root = element("div", "igw igw-cmp");
  const palette = model.get("palette");
  addStyles(root, palette);
  const style = document.createElement("style");
  style.textContent = COMPARISON_STYLES;
  root.append(style);
  el.append(root);
  const lut = paletteLuts(palette).diverging;
  const kernel = connect(model);
  const page = staticPage(model);

  const header = element("div", "igw-cmp-header");
  const title = element("span", "igw-cmp-title");
  const status = element("span", "igw-cmp-status");
  status.setAttribute("role", "status");
  const labels = model.get("labels") ?? [];
  const target = labelledSelect(
    "Target",
    labels.map((_, index) => String(index)),
    String(model.get("target")),
    (value) => kernel.send("target", Number(value)),
  );
  for (const option of target.input.options) option.textContent = labels[Number(option.value)];
  kernel.on("change:target", () => target.setValue(String(model.get("target"))));
  kernel.onRefused("target", (message) => {
    target.setValue(String(model.get("target")));
    target.setNote(message);
  });
  if (page) {
    const answered = page.choices("target").map(String);
    for (const option of target.input.options) option.disabled = !answered.includes(option.value);
    target.setDisabled(answered.length < 2, page.note);
  }
  title.hidden = labels.length > 0; // the menu names the target (a view saved before it had none)
  header.append(title, target.root, status);
  const settings = element("div", "igw-cmp-settings");
  const grid = element("div", "igw-cmp-grid");
  grid.setAttribute("aria-label", "Attribution methods compared");
  const note = element(
    "div",
    "igw-cmp-note",
    "Each map is scaled by its own largest |value| (orange: raises the score, purple: lowers it). Deletion area: lower is better; insertion area: higher is better.",
  );
  const changed = createModelChangedNotice(recomputeFor(model, page));
  const showChanged = () => changed.update(Boolean(model.get("model_changed")));
  kernel.on("change:model_changed", showChanged);
  showChanged();
  root.append(header, changed.root, settings, grid, note);

  function show() {
    const result = model.get("result");
    if (!result?.kind) return;
    title.textContent = `Target: ${result.target_label}`;
    status.textContent = statusText(result, Boolean(page));
    settings.textContent = result.settings;
    root.dataset.computing = String(result.computing);
    const byName = new Map(result.methods.map((method) => [method.name, method]));
    const input = element("figure", "igw-cmp-card igw-cmp-input");
    input.append(element("figcaption", "igw-cmp-name", "input"), imageCanvas(result));
    grid.replaceChildren(
      input,
      ...result.names.map((name) => methodCard(name, byName.get(name), lut, Boolean(page))),
    );
  }
  kernel.on("change:result", show);
  show();
  return () => {
    kernel.disconnect();
    root.remove();
  };
}
