// The generation matrix: rows are generated tokens, columns the context's units (tokens or words), each
// cell the attribution of the row's token to that unit, coloured on a canvas. Hover prints the pair's
// number beside the pointer; a click (or arrow keys on the focused matrix) selects the row. Rows not yet
// computed are left blank. Token strings only ever reach the DOM as text.

import { formatNumber } from "../chart.js";
import { clipValue } from "../normalise.js";
import { backgroundBehind, unitColours } from "../text/strip.js";
import { unitName, unitValues } from "../text/units.js";

const WIDTH = 720;
const HEIGHT = 260;

/** Cell size in CSS pixels for `rows` x `columns`: as large as fits, 3 to 18 px. */
export function cellSize(rows, columns) {
  return {
    width: Math.max(3, Math.min(18, Math.floor(WIDTH / Math.max(1, columns)))),
    height: Math.max(3, Math.min(18, Math.floor(HEIGHT / Math.max(1, rows)))),
  };
}

/**
 * Unit values of every computed matrix row: {values: Float32Array [rows * units] (NaN where not
 * computed), clips: one clip per generated row} with colours on one scale ("shared") or per row ("row").
 */
export function matrixCells(result, groups, clipPercent, sign, scale) {
  const units = groups.length;
  const values = new Float32Array(result.generated * units).fill(Number.NaN);
  result.rows.forEach((row, r) => {
    const unit = unitValues(result.matrix.subarray(r * result.count, (r + 1) * result.count), groups);
    values.set(unit, row * units);
  });
  const computed = values.filter((v) => !Number.isNaN(v));
  const shared = clipValue(computed, clipPercent, sign);
  const clips = Array.from({ length: result.generated }, (_, row) => {
    if (scale !== "row") return shared;
    const own = values.subarray(row * units, (row + 1) * units);
    return Number.isNaN(own[0]) ? shared : clipValue(own, clipPercent, sign);
  });
  return { values, clips, units };
}

/** Build the matrix; `onSelect(row)` on a click or arrow key. Returns {root, canvas, tip, draw(state), cellAt(x, y)}. */
export function createMatrix(onSelect) {
  const root = document.createElement("div");
  root.className = "igw-gen-matrix";
  const canvas = document.createElement("canvas");
  canvas.tabIndex = 0;
  canvas.setAttribute("role", "img");
  const tip = document.createElement("div");
  tip.className = "igw-gen-tip";
  tip.hidden = true;
  const labels = document.createElement("div"); // the generated tokens, one per row, as text
  labels.className = "igw-gen-rowlabels";
  labels.setAttribute("aria-hidden", "true");
  const body = document.createElement("div");
  body.className = "igw-gen-matrix-body";
  const plot = document.createElement("div");
  plot.className = "igw-gen-matrix-plot";
  plot.append(canvas, tip);
  body.append(labels, plot);
  root.append(body);
  let state = null; // {cells, units, result, selected, sign, size, labels}

  function cellAt(x, y) {
    if (!state) return null;
    const column = Math.floor(x / state.size.width);
    const row = Math.floor(y / state.size.height);
    if (column < 0 || row < 0 || column >= state.cells.units || row >= state.result.generated) return null;
    return { row, column };
  }

  function describe(row, column) {
    const { result, units, cells } = state;
    const value = cells.values[row * cells.units + column];
    const generated = unitName(result.tokens, result.promptLength + row);
    const text = Number.isNaN(value) ? "not computed yet" : formatNumber(value);
    return `“${unitName(units.texts, column)}” → “${generated}”: ${text}`;
  }

  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const cell = cellAt(event.clientX - rect.left, event.clientY - rect.top);
    if (!cell) {
      tip.hidden = true;
      return;
    }
    tip.textContent = describe(cell.row, cell.column);
    tip.dataset.row = String(cell.row);
    tip.dataset.column = String(cell.column);
    tip.style.left = `${event.clientX - plot.getBoundingClientRect().left + 12}px`;
    tip.style.top = `${event.clientY - plot.getBoundingClientRect().top + 12}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
  canvas.addEventListener("click", (event) => {
    const rect = canvas.getBoundingClientRect();
    const cell = cellAt(event.clientX - rect.left, event.clientY - rect.top);
    if (cell) onSelect(cell.row);
  });
  canvas.addEventListener("keydown", (event) => {
    if (!state) return;
    const step = { ArrowUp: -1, ArrowDown: 1 }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    const next = Math.max(0, Math.min(state.result.generated - 1, state.selected + step));
    if (next !== state.selected) onSelect(next);
  });

  return {
    root,
    canvas,
    tip,
    cellAt,
    describe: (row, column) => describe(row, column),
    /** Draw `result` with `units` ({texts, groups}) at the chosen colours; the selected row is framed. */
    draw({ result, units, selected, sign, clip, scale }) {
      const cells = matrixCells(result, units.groups, clip, sign, scale);
      const size = cellSize(result.generated, cells.units);
      state = { result, units, cells, selected, size };
      const ratio = globalThis.devicePixelRatio || 1;
      const width = size.width * cells.units;
      const height = size.height * result.generated;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
      labels.replaceChildren(
        ...Array.from({ length: result.generated }, (_, row) => {
          const label = document.createElement("div");
          label.textContent = unitName(result.tokens, result.promptLength + row);
          label.style.height = `${size.height}px`;
          label.style.lineHeight = `${size.height}px`;
          label.style.fontSize = `${Math.min(12, size.height - 2)}px`;
          label.classList.toggle("igw-gen-rowlabel-selected", row === selected);
          return label;
        }),
      );
      labels.hidden = size.height < 8;
      canvas.setAttribute(
        "aria-label",
        `Generation matrix: ${result.generated} generated tokens by ${cells.units} ` +
          `context ${units.texts === result.tokens ? "tokens" : "units"}; arrow keys choose the row`,
      );
      const context = canvas.getContext?.("2d");
      if (!context) return;
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      const behind = backgroundBehind(root);
      context.clearRect(0, 0, width, height);
      for (let row = 0; row < result.generated; row++) {
        for (let column = 0; column < cells.units; column++) {
          const value = cells.values[row * cells.units + column];
          if (Number.isNaN(value)) continue;
          context.fillStyle = unitColours(value, cells.clips[row], sign, behind).background;
          context.fillRect(column * size.width, row * size.height, size.width, size.height);
        }
      }
      context.strokeStyle = getComputedStyle(root).getPropertyValue("--jp-brand-color1").trim() || "#1976d2";
      context.lineWidth = 2;
      context.strokeRect(1, selected * size.height + 1, width - 2, size.height - 2);
    },
  };
}
