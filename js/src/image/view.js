// The image explainer view: input and attribution heatmap, the model's outputs, the completeness
// badge, and the alpha path (scaled input, interior gradient, accumulated attributions, chart).
// Everything a slider move or hover needs is in `result`; only control changes go to the kernel.

import { formatApprox, formatNumber } from "../chart.js";
import { labelledNumber, labelledSelect } from "../controls.js";
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
import {
  blendPixels,
  drawPixels,
  heatPixels,
  heatSlice,
  imagePixels,
  maskedPixels,
  outlinePixels,
  overlayPixels,
  upscale,
} from "../heatmap.js";
import { createLegend } from "../legend.js";
import { clipValue, massMask, normalise } from "../normalise.js";
import { addStyles } from "../styles.js";
import { createChecksPanel } from "./checks.js";
import { pathMethodControls } from "./paths.js";
import { createProbe } from "./probe.js";
import { cellAt, cellBlock, decodeImageResult, inputValues, valuesPerPixel } from "./result.js";

const OUTLINE_SIZE = 192; // small images are enlarged to about this many pixels so outlines are thin lines

function mapPanel(title, name) {
  // focusable so that arrow keys can walk its pixels (the numbers appear in the readout line)
  const root = element("figure", "igw-panel");
  root.style.margin = "0";
  const caption = element("figcaption", "igw-panel-title", title);
  const canvas = element("canvas", "igw-map");
  canvas.dataset.map = name;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", title);
  root.append(caption, canvas);
  return { root, caption, canvas };
}

export function renderImage({ model, el }) {
  const root = element("div", "igw igw-image");
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  const palette = model.get("palette") || {};
  addStyles(root, palette);
  const link = connect(model);
  const { on, send } = link;

  // -- controls ---------------------------------------------------------------------------
  const display = labelledSelect("Display", choicesFor(model, "display"), model.get("display"), (v) =>
    send("display", v),
  );
  const sign = labelledSelect("Sign", choicesFor(model, "sign"), model.get("sign"), (v) => send("sign", v));
  const clip = clipControl(model, link);
  const opacity = labelledNumber(
    "Opacity",
    { min: 0, max: 1, step: 0.05, value: model.get("opacity"), format: (v) => v.toFixed(2) },
    (v) => send("opacity", v),
  );
  const controls = element("div", "igw-controls");
  const settings = pathSettings(model, link);
  const methods = pathMethodControls(model, link, { baseline: settings[0], rule: settings[1] });
  controls.append(display.root, sign.root, clip.root, opacity.root, ...methods, ...settings);

  // -- main row ----------------------------------------------------------------------------
  const { status, badge, side } = outputsColumn(model, link);
  const input = mapPanel("Input", "input");
  const heat = mapPanel("Attributions", "attributions");
  const legend = createLegend();
  heat.root.append(legend.root);
  const mainRow = element("div", "igw-row");
  mainRow.append(input.root, heat.root, side);

  // -- path --------------------------------------------------------------------------------
  const scaled = mapPanel("Scaled input x′ + α(x − x′)", "scaled");
  const gradient = mapPanel("Interior gradient at α", "gradient");
  const accumulated = mapPanel("Attributions accumulated to α", "cumulative");
  const path = pathSection(
    (index) => drawPath(index),
    [scaled.root, gradient.root, accumulated.root],
    "igw-row igw-small",
  );
  const { slider, chart } = path;
  const readout = element("div", "igw-readout");
  const readoutId = `igw-readout-${Math.random().toString(36).slice(2)}`;
  readout.id = readoutId;
  readout.setAttribute("aria-live", "polite");

  const checks = createChecksPanel(model, link);
  root.append(status.root, controls, mainRow, path.root, readout, checks.root);
  el.append(root);

  // -- drawing -----------------------------------------------------------------------------
  let clips = null; // {key, map, gradients}
  const current = resultReader(model, decodeImageResult, () => (clips = null));
  const clipValues = (r) => {
    const key = `${model.get("sign")}|${model.get("clip")}`;
    if (!clips || clips.key !== key) {
      clips = {
        key,
        map: clipValue(r.attributions, model.get("clip"), model.get("sign")),
        gradients: clipValue(r.gradients, model.get("clip"), model.get("sign")),
      };
    }
    return clips;
  };

  function drawMain() {
    const r = current();
    if (!r) return;
    const mode = model.get("sign");
    const { map } = clipValues(r);
    const normalised = normalise(r.attributions, map, mode);
    const onImage = () => valuesPerPixel(r, normalised);
    const outlineScale = Math.max(1, Math.floor(OUTLINE_SIZE / Math.max(r.width, r.height)));
    const [pixels, width, height] = {
      overlay: () => [overlayPixels(r.image, onImage(), mode, model.get("opacity")), r.width, r.height],
      heat: () => [heatPixels(normalised, mode), r.mapWidth, r.mapHeight],
      masked: () => [maskedPixels(r.image, onImage()), r.width, r.height],
      outline: () => [
        outlinePixels(
          upscale(r.image, r.width, r.height, outlineScale, 3),
          upscale(
            valuesPerPixel(r, massMask(r.attributions, model.get("palette").outline_mass, mode)),
            r.width,
            r.height,
            outlineScale,
          ),
          r.width * outlineScale,
          r.height * outlineScale,
        ),
        r.width * outlineScale,
        r.height * outlineScale,
      ],
    }[model.get("display")]();
    drawPixels(input.canvas, imagePixels(r.image, r.count), r.width, r.height);
    drawPixels(heat.canvas, pixels, width, height);
    // hidden by visibility, not display: switching modes must not move the panels below (issue 11 §4c)
    legend.root.style.visibility = (palette.legend_displays ?? []).includes(model.get("display"))
      ? ""
      : "hidden";
    heat.caption.textContent = `Attributions for “${r.targetLabel}”`;
    heat.canvas.setAttribute(
      "aria-label",
      `Attribution heatmap for ${r.targetLabel}, shown as ${model.get("display")}`,
    );
    legend.update(map, mode);
  }

  function drawPath(index) {
    const r = current();
    if (!r) return;
    const mode = model.get("sign");
    const { map, gradients } = clipValues(r);
    const alpha = r.alphas[index];
    const offset = index * r.cells;
    // a curved path (Blur IG, Guided IG) sends its own points; the straight one is blended from x' and x
    const point = r.pathImages
      ? imagePixels(r.pathImages.subarray(index * r.count * 3, (index + 1) * r.count * 3), r.count)
      : blendPixels(r.baseline, r.image, alpha, r.count);
    drawPixels(scaled.canvas, point, r.width, r.height);
    drawPixels(
      gradient.canvas,
      heatSlice(r.gradients, gradients, mode, offset, r.cells),
      r.mapWidth,
      r.mapHeight,
    );
    drawPixels(
      accumulated.canvas,
      heatSlice(r.cumulative, map, mode, offset, r.cells),
      r.mapWidth,
      r.mapHeight,
    );
    chart.setCursor(alpha);
    if (probe.shown) describePixel(); // the pixel's numbers at this alpha and target
  }

  function drawResult() {
    const r = current();
    showPathSummary(r, { badge, path });
    if (!r) return;
    for (const panel of panels) panel.canvas.style.aspectRatio = `${r.width} / ${r.height}`; // maps stretch over the image
    scaled.caption.textContent = r.pathImages
      ? `Path point at α: ${r.pathLabel}`
      : "Scaled input x′ + α(x − x′)";
    drawMain();
    drawPath(slider.index);
  }

  // Hover (or focus a map and use the arrow keys) to read the numbers behind a pixel: a box marks it
  // on every map, a tooltip beside the pointer and the readout line below give its numbers.
  const panels = [input, heat, scaled, gradient, accumulated];
  const pointer = createProbe(root, panels);
  // `shown`: the readout describes a pixel (kept current); `pointing`: the pointer or focus is on a map
  const probe = { x: 0, y: 0, shown: false, pointing: false, anchor: null };

  /** The lines the tooltip shows for the pointed pixel (or map cell) at the slider's alpha. */
  function pixelLines(r) {
    const { x, y } = probe;
    const cell = cellAt(r, x, y);
    const at = slider.index * r.cells + cell.index;
    const inputs = inputValues(r, y * r.width + x)
      .map((v) => formatApprox(v.value, v.error))
      .join(", ");
    const whole = cell.x1 - cell.x0 === 1 && cell.y1 - cell.y0 === 1;
    const onGrid = r.width !== r.sourceWidth || r.height !== r.sourceHeight; // the drawn pixels are block means
    // named in input pixels: on a coarser display grid (x, y) is a grid cell, and a cell at the far edge
    // may hold a single input pixel, far from (x, y)
    const where = whole
      ? `pixel (${cell.x0}, ${cell.y0})`
      : `block of ${cell.y1 - cell.y0}×${cell.x1 - cell.x0} px, (${cell.x0}, ${cell.y0}) to (${cell.x1 - 1}, ${cell.y1 - 1})`;
    const input = whole ? "input" : onGrid ? "input (block mean)" : `input at (${x}, ${y})`;
    // accumulated up to the last point is the attribution map itself (PathTrace), sent exactly
    const last = slider.index === r.alphas.length - 1;
    const accumulated = last
      ? formatNumber(r.attributions[cell.index])
      : formatApprox(r.cumulative[at], r.cumulativeError(at));
    return [
      where,
      `attribution${whole ? "" : " (sum over the block)"} ${formatNumber(r.attributions[cell.index])} · ${input} ${inputs}`,
      `at α = ${r.alphas[slider.index].toFixed(3)}: gradient ${formatApprox(r.gradients[at], r.gradientError(at))}, ` +
        `accumulated ${accumulated}`,
    ];
  }

  function describePixel() {
    const r = current();
    if (!r) return;
    const lines = pixelLines(r);
    readout.textContent = `${lines[0]}: ${lines.slice(1).join(" · ")}`;
    probe.shown = true;
    if (probe.pointing) pointer.show(cellBlock(r, probe.x, probe.y), r.width, r.height, lines, probe.anchor);
  }

  function showReadout(event) {
    const r = current();
    const canvas = event.target;
    if (!r || !(canvas instanceof HTMLCanvasElement) || !canvas.dataset.map) return;
    const box = canvas.getBoundingClientRect();
    if (!box.width || !box.height) return;
    probe.x = Math.min(
      r.width - 1,
      Math.max(0, Math.floor(((event.clientX - box.left) / box.width) * r.width)),
    );
    probe.y = Math.min(
      r.height - 1,
      Math.max(0, Math.floor(((event.clientY - box.top) / box.height) * r.height)),
    );
    probe.anchor = { clientX: event.clientX, clientY: event.clientY };
    probe.pointing = true;
    describePixel();
  }

  function hidePointer() {
    probe.pointing = false;
    pointer.hide();
  }

  function leaveMap(event) {
    if (event.target instanceof HTMLCanvasElement && event.target.dataset.map) hidePointer();
  }

  function moveProbe(event) {
    const r = current();
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (!r || !event.target.dataset?.map || !(event.key in moves)) return;
    const [dx, dy] = moves[event.key];
    const [cellH, cellW] = r.perCell; // a step moves one map cell
    probe.x = Math.min(r.width - 1, Math.max(0, probe.x + dx * cellW));
    probe.y = Math.min(r.height - 1, Math.max(0, probe.y + dy * cellH));
    probe.anchor = event.target;
    probe.pointing = true;
    describePixel();
    event.preventDefault();
  }

  for (const panel of panels) {
    panel.canvas.tabIndex = 0;
    panel.canvas.setAttribute("aria-describedby", readoutId);
    panel.canvas.addEventListener("focus", () => {
      Object.assign(probe, { anchor: panel.canvas, pointing: true });
      describePixel();
    });
    panel.canvas.addEventListener("blur", hidePointer);
  }
  root.addEventListener("keydown", moveProbe);
  root.addEventListener("mousemove", showReadout);
  root.addEventListener("mouseout", leaveMap);

  on("change:result", drawResult);
  const showRefining = () => badge.setStatus(model.get("status")); // a preview's note: refining, or not
  on("change:status", showRefining);
  showRefining();
  const showOpacity = () =>
    opacity.setDisabled(
      !(palette.blended_displays ?? []).includes(model.get("display")),
      "Opacity blends the map over the image: it applies to the overlay display only",
    );
  on("change:display", () => (display.setValue(model.get("display")), showOpacity(), drawMain()));
  showOpacity();
  on("change:opacity", () => (opacity.setValue(model.get("opacity")), drawMain()));
  on("change:sign", () => (sign.setValue(model.get("sign")), drawMain(), drawPath(slider.index)));
  on("change:clip", () => (clip.setValue(model.get("clip")), drawMain(), drawPath(slider.index)));
  drawResult();

  return () => {
    link.disconnect();
    root.removeEventListener("mousemove", showReadout);
    root.removeEventListener("keydown", moveProbe);
    root.removeEventListener("mouseout", leaveMap);
    slider.destroy();
    root.remove();
  };
}
