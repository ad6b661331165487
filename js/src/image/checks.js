// The checks panel of the image view: does the shown map mean something? A sanity check (cascading
// randomization of a copy of the model, SSIM and rank correlation with the original map per layer) and
// the deletion / insertion curves with their areas. The kernel computes them on "Run checks" and puts
// them in the `checks` trait (an exported page keeps them); every number printed here is the text
// Python printed. Checks made for other settings than the shown ones are marked as such. Beside each
// layer's numbers, the map after it was randomized (a thumbnail, each scaled by its own largest |value|),
// so a method whose maps stay the same is seen to fail, not only read.

import { decodeArray } from "../decode.js";
import { paletteLuts, pixelCanvas, signedPixels } from "../dataset/pixels.js";
import { element, staticPage } from "../frame.js";

/** What a checks result is computed for (the kernel's list): a change of one makes it stale. */
const checkedSettings = (model) => model.get("choices")?.checked ?? [];
const CURVE_WIDTH = 160;
const CURVE_HEIGHT = 60;
const SVG = "http://www.w3.org/2000/svg";
const THUMBNAIL_CSS_SIDE = 48;

/** Map `index` of the sanity check's maps (int8 [layers + 1, rows, columns]) as a small canvas. */
function thumbnail(maps, index, lut, label) {
  const [, rows, columns] = maps.shape;
  const pixels = rows * columns;
  const canvas = pixelCanvas(
    signedPixels(maps.values, index * pixels, pixels, lut),
    columns,
    rows,
    "igw-checks-map",
    label,
  );
  const scale = THUMBNAIL_CSS_SIDE / Math.max(rows, columns);
  canvas.style.width = `${Math.round(columns * scale)}px`;
  canvas.style.height = `${Math.round(rows * scale)}px`;
  canvas.style.imageRendering = "pixelated";
  return canvas;
}

function curve(fractions, values, className) {
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("class", className);
  const low = 0;
  const high = Math.max(1e-12, ...values);
  line.setAttribute(
    "points",
    fractions
      .map(
        (f, k) =>
          `${(f * CURVE_WIDTH).toFixed(1)},${(CURVE_HEIGHT - ((values[k] - low) / (high - low)) * CURVE_HEIGHT).toFixed(1)}`,
      )
      .join(" "),
  );
  return line;
}

export function createChecksPanel(model, { on }) {
  const root = element("section", "igw-checks");
  root.setAttribute("aria-label", "Checks of the explanation");
  const title = element("span", "igw-checks-title", "Checks");
  const button = element("button", "igw-checks-run", "Run checks");
  button.type = "button";
  const state = element("span", "igw-checks-state");
  state.setAttribute("role", "status");
  const sanity = element("div", "igw-checks-sanity");
  const deletion = element("div", "igw-checks-deletion");
  const header = element("div", "igw-checks-header");
  header.append(title, button, state);
  root.append(header, sanity, deletion);
  const page = staticPage(model);
  if (page) {
    button.disabled = true;
    button.title = page.note;
  }
  button.addEventListener("click", () => {
    state.textContent = "running…";
    model.send({ type: "run_checks" });
  });

  function show() {
    const checks = model.get("checks") || {};
    sanity.replaceChildren();
    deletion.replaceChildren();
    if (checks.error) {
      state.textContent = checks.error;
      return;
    }
    if (!checks.for) {
      state.textContent = page ? "not run before this page was saved" : "not run yet";
      return;
    }
    if (checks.running) {
      state.textContent = "running…";
      return;
    }
    const stale = checkedSettings(model).filter((name) => checks.for[name] !== model.get(name));
    state.textContent = stale.length
      ? `run for other settings (${stale.map((name) => `${name} ${checks.for[name]}`).join(", ")})`
      : `for path ${checks.for.path}${checks.for.idgi ? " · IDGI" : ""}, baseline ${checks.for.baseline}, ${checks.for.steps} steps`;
    root.dataset.stale = stale.length ? "true" : "false";
    if (checks.sanity) {
      const s = checks.sanity;
      const verdict = element(
        "div",
        "igw-checks-verdict",
        s.passed
          ? `Sanity check passes: the map changes once the model is random (SSIM ${s.ssim[s.ssim.length - 1]} < ${s.threshold})`
          : `Sanity check FAILS: the map survives a random model (SSIM ${s.ssim[s.ssim.length - 1]} ≥ ${s.threshold})`,
      );
      verdict.dataset.passed = String(s.passed);
      const maps = s.maps ? decodeArray(s.maps) : null;
      const lut = maps ? paletteLuts(model.get("palette")).diverging : null;
      const mapCell = (index, label) => {
        const cell = element("td", "igw-checks-map-cell");
        if (maps) cell.append(thumbnail(maps, index, lut, label));
        return cell;
      };
      const table = element("table", "igw-checks-table");
      const head = element("tr");
      for (const text of ["randomized down to", "map", "SSIM", "rank corr."])
        head.append(element("th", "", text));
      const original = element("tr", "igw-checks-original");
      original.append(
        element("td", "", "none (trained model)"),
        mapCell(0, "map of the trained model"),
        element("td", "", ""),
        element("td", "", ""),
      );
      table.append(head, original);
      s.layers.forEach((layer, k) => {
        const row = element("tr");
        row.append(
          element("td", "", layer),
          mapCell(k + 1, `map after randomizing down to ${layer}`),
          element("td", "", s.ssim[k]),
          element("td", "", s.spearman[k]),
        );
        table.append(row);
      });
      sanity.append(verdict, table);
    }
    if (checks.deletion) {
      const d = checks.deletion;
      const svg = document.createElementNS(SVG, "svg");
      svg.setAttribute("viewBox", `0 0 ${CURVE_WIDTH} ${CURVE_HEIGHT}`);
      svg.setAttribute("width", String(CURVE_WIDTH));
      svg.setAttribute("height", String(CURVE_HEIGHT));
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", `Deletion and insertion curves of the target's ${d.output}`);
      svg.append(
        curve(d.fractions, d.deletion, "igw-curve-deletion"),
        curve(d.fractions, d.insertion, "igw-curve-insertion"),
      );
      const text = element(
        "div",
        "igw-checks-areas",
        `Deletion area ${d.deletion_area} (lower is better) · insertion area ${d.insertion_area} (higher is better)`,
      );
      deletion.append(svg, text);
    }
  }
  on("change:checks", show);
  for (const name of checkedSettings(model)) on(`change:${name}`, show);
  show();
  return { root };
}
