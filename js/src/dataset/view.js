// The data-set gallery (DatasetExplorer, ig_widget/widgets/dataset.py): one page of thumbnails at a
// time, sort and filter controls whose values are the kernel's traits, a pager, the clicked example's
// stored result, and the per-class summary. Every printed number arrives as text from the kernel.
// On an exported page (no kernel) what only the kernel can answer (sorting, filtering, paging,
// opening another example) is disabled under the kernel's note; the saved page, the opened example
// (and closing it) and the summary keep working.

import { decodeArray, decodeBytes } from "../decode.js";
import { element } from "../frame.js";
import { addStyles } from "../styles.js";
import { greyOrRgb, magnitudePixels, paletteLuts, pixelCanvas, signedPixels } from "./pixels.js";

function select(labelText, options, value, onChange) {
  const label = element("label", "igw-ds-control");
  label.append(element("span", null, labelText));
  const menu = element("select");
  for (const [key, text] of options) {
    const option = element("option", null, text);
    option.value = String(key);
    menu.append(option);
  }
  menu.value = String(value);
  menu.addEventListener("change", () => onChange(menu.value));
  label.append(menu);
  return { label, menu };
}

/** Height, width and channels of a page's images ([n, H, W] or [n, H, W, 3]) or of one image. */
function imageShape(shape, batched) {
  const dims = batched ? shape.slice(1) : shape;
  return { height: dims[0], width: dims[1], channels: dims.length === 3 ? dims[2] : 1 };
}

export function renderDataset({ model, el }) {
  const root = element("div", "igw-root igw-ds");
  addStyles(root);
  el.append(root);
  const listeners = [];
  const on = (name, handler) => {
    model.on(name, handler);
    listeners.push([name, handler]);
  };
  const send = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const meta = model.get("meta");
  const luts = paletteLuts(meta.palette);

  const header = element("div", "igw-ds-header");
  header.append(element("span", "igw-ds-settings", `${meta.count} examples · ${meta.settings}`));
  const controls = element("div", "igw-ds-controls");
  const classOptions = [[-1, "all classes"], ...meta.labels.map((label, i) => [i, label])];
  const classMenu = select("class", classOptions, model.get("label_filter"), (v) =>
    send("label_filter", Number(v)),
  );
  const correctMenu = select("show", meta.choices.correct, model.get("correct"), (v) => send("correct", v));
  const sortMenu = select("sort by", meta.choices.sort, model.get("sort"), (v) => send("sort", v));
  const orderMenu = select(
    "order",
    [
      ["false", "ascending"],
      ["true", "descending"],
    ],
    String(model.get("descending")),
    (v) => send("descending", v === "true"),
  );
  const sizeMenu = select(
    "per page",
    meta.choices.page_size.map((n) => [n, String(n)]),
    model.get("page_size"),
    (v) => send("page_size", Number(v)),
  );
  // number fields for the kernel's lower bounds, each clamped to the kernel's limits
  const bound = (labelText, trait, limit) => {
    const label = element("label", "igw-ds-control");
    label.append(element("span", null, labelText));
    const input = element("input");
    Object.assign(input, {
      type: "number",
      step: "0.05",
      min: String(limit.min),
      max: String(limit.max),
      value: String(model.get(trait)),
    });
    input.dataset.trait = trait;
    input.addEventListener("change", () =>
      send(trait, Math.min(limit.max, Math.max(limit.min, Number(input.value) || 0))),
    );
    label.append(input);
    return { label, input };
  };
  const bounds = [
    bound("min confidence", "min_confidence", meta.limits.confidence),
    bound("min |relative gap|", "min_relative_gap", meta.limits.relative_gap),
    bound("min concentration", "min_concentration", meta.limits.concentration),
  ];
  controls.append(
    classMenu.label,
    correctMenu.label,
    sortMenu.label,
    orderMenu.label,
    sizeMenu.label,
    ...bounds.map((b) => b.label),
  );

  const pager = element("div", "igw-ds-pager");
  const previous = element("button", "igw-ds-previous", "◀ previous");
  const next = element("button", "igw-ds-next", "next ▶");
  const pageText = element("span", "igw-ds-page-text");
  previous.addEventListener("click", () => send("page", Math.max(0, model.get("page") - 1)));
  next.addEventListener("click", () => send("page", model.get("page") + 1));
  pager.append(previous, pageText, next);

  // A page without a kernel answers every message with a refusal (ig_widget/export_shim.js): one
  // message at render tells the view where it is. A kernel ignores it.
  let offline = false;
  const staticNote = element("span", "igw-static-note", meta.static_note);
  staticNote.hidden = true;
  header.append(staticNote);
  const goOffline = () => {
    if (offline) return;
    offline = true;
    staticNote.hidden = false;
    for (const control of [
      classMenu.menu,
      correctMenu.menu,
      sortMenu.menu,
      orderMenu.menu,
      sizeMenu.menu,
      ...bounds.map((b) => b.input),
      previous,
      next,
    ]) {
      control.disabled = true;
      control.title = meta.static_note;
    }
    drawPage();
  };
  on("msg:custom", (content) => {
    if (content?.type === "refused") goOffline();
  });

  const grid = element("div", "igw-ds-grid");
  const detail = element("div", "igw-ds-detail");
  const summary = element("details", "igw-ds-summary");
  root.append(header, controls, pager, grid, detail, summary);

  function drawPage() {
    const page = model.get("page_data");
    grid.replaceChildren();
    if (!page?.rows) return;
    pageText.textContent = `page ${page.page + 1} of ${page.pages} · ${page.matches} matching`;
    previous.disabled = offline || page.page <= 0;
    next.disabled = offline || page.page >= page.pages - 1;
    if (!page.rows.length) {
      grid.append(element("div", "igw-ds-empty", "No example matches these filters."));
      return;
    }
    // images: the stored bytes (each example scaled to 0..255 by the kernel), drawn as they are
    const images = { shape: page.images.shape, values: decodeBytes(page.images) };
    const maps = decodeArray(page.maps);
    const { height, width, channels } = imageShape(images.shape, true);
    const pixels = height * width;
    page.rows.forEach((row, i) => {
      const card = element("button", "igw-ds-card");
      card.type = "button";
      card.dataset.index = String(row.index);
      card.dataset.correct = String(row.correct);
      card.setAttribute(
        "aria-label",
        `example ${row.index}: label ${row.label}, predicted ${row.prediction}`,
      );
      const pictures = element("div", "igw-ds-pictures");
      pictures.append(
        pixelCanvas(
          greyOrRgb(images.values, i * pixels * channels, pixels, channels),
          width,
          height,
          "igw-ds-thumb",
          `input ${row.index}`,
        ),
        pixelCanvas(
          signedPixels(maps.values, i * pixels, pixels, luts.diverging),
          width,
          height,
          "igw-ds-thumb",
          `attributions ${row.index}`,
        ),
      );
      const caption = element("div", "igw-ds-caption");
      caption.append(
        element("span", "igw-ds-index", `#${row.index}`),
        element(
          "span",
          "igw-ds-verdict",
          row.correct ? `✓ ${row.prediction}` : `✗ ${row.label} → ${row.prediction}`,
        ),
      );
      // Each figure in its own unbreakable span: a narrow card wraps between them, never inside
      // "−7.451e-08" (a line break after its "e-" read as two numbers).
      const numbers = element("div", "igw-ds-numbers");
      const figures = [row.text.confidence, `gap ${row.text.gap}`, `top10% ${row.text.concentration}`];
      figures.forEach((figure, index) => {
        if (index > 0) numbers.append(" · ");
        numbers.append(element("span", "", figure));
      });
      card.append(pictures, caption, numbers);
      if (offline) {
        card.setAttribute("aria-disabled", "true");
        card.title = meta.static_note;
        card.style.cursor = "default";
      } else {
        card.addEventListener("click", () => send("opened", row.index));
      }
      grid.append(card);
    });
  }

  function drawDetail() {
    const shown = model.get("detail");
    detail.replaceChildren();
    if (!shown || shown.index === undefined) return;
    const title = element("div", "igw-ds-detail-title", `Example #${shown.index}`);
    const close = element("button", "igw-ds-close", "close");
    // closing is the view's own business on a page without a kernel
    close.addEventListener("click", () => (offline ? detail.replaceChildren() : send("opened", -1)));
    title.append(close);
    const image = { shape: shown.image.shape, values: decodeBytes(shown.image) };
    const map = decodeArray(shown.map);
    const { height, width, channels } = imageShape(image.shape, false);
    const pictures = element("div", "igw-ds-pictures");
    pictures.append(
      pixelCanvas(
        greyOrRgb(image.values, 0, height * width, channels),
        width,
        height,
        "igw-ds-large",
        "input",
      ),
      pixelCanvas(
        signedPixels(map.values, 0, height * width, luts.diverging),
        width,
        height,
        "igw-ds-large",
        "attributions",
      ),
    );
    const table = element("table", "igw-ds-table");
    for (const [name, value] of shown.rows) {
      const tr = element("tr");
      tr.append(element("th", null, name), element("td", null, value));
      table.append(tr);
    }
    const top = element(
      "div",
      "igw-ds-top",
      `top: ${shown.top.map(([label, p]) => `${label} ${p}`).join(", ")}`,
    );
    detail.append(title, pictures, table, top);
  }

  function drawSummary() {
    const data = model.get("summary");
    summary.replaceChildren(
      element("summary", null, "Per-class summary: mean |attribution| of each class, and of its errors"),
    );
    if (!data?.classes) return;
    const means = decodeArray(data.class_mean);
    const errors = decodeArray(data.error_mean);
    const [height, width] = means.shape.slice(1);
    const pixels = height * width;
    const rows = element("div", "igw-ds-summary-grid");
    data.classes.forEach((entry, c) => {
      const cell = element("div", "igw-ds-summary-cell");
      cell.append(
        element(
          "div",
          "igw-ds-summary-label",
          `${entry.label}: ${entry.count} examples, ${entry.errors} errors`,
        ),
      );
      const pictures = element("div", "igw-ds-pictures");
      pictures.append(
        pixelCanvas(
          magnitudePixels(means.values, c * pixels, pixels, luts.sequential),
          width,
          height,
          "igw-ds-thumb",
          `class ${entry.label} mean`,
        ),
      );
      if (entry.errors > 0) {
        pictures.append(
          pixelCanvas(
            magnitudePixels(errors.values, c * pixels, pixels, luts.sequential),
            width,
            height,
            "igw-ds-thumb igw-ds-errors",
            `class ${entry.label} errors mean`,
          ),
        );
      }
      cell.append(pictures);
      rows.append(cell);
    });
    summary.append(rows);
  }

  const syncControls = () => {
    classMenu.menu.value = String(model.get("label_filter"));
    correctMenu.menu.value = model.get("correct");
    sortMenu.menu.value = model.get("sort");
    orderMenu.menu.value = String(model.get("descending"));
    sizeMenu.menu.value = String(model.get("page_size"));
    for (const { input } of bounds) input.value = String(model.get(input.dataset.trait));
  };
  on("change:page_data", drawPage);
  on("change:detail", drawDetail);
  on("change:summary", drawSummary);
  for (const name of [
    "label_filter",
    "correct",
    "sort",
    "descending",
    "page_size",
    "min_confidence",
    "min_relative_gap",
    "min_concentration",
  ]) {
    on(`change:${name}`, syncControls);
  }
  drawPage();
  drawDetail();
  drawSummary();
  model.send?.({ type: "kernel?" });
  return () => {
    for (const [name, handler] of listeners) model.off(name, handler);
    root.remove();
  };
}
