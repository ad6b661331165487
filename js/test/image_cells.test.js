// @vitest-environment jsdom
// The image view on a grid of blocks (an image wider than the views draw: maps, trace and image summed
// or averaged over 2 x 2 blocks of input pixels, the kernel's payload from tests/test_schema.py), and
// the pointer probe: a box on every map and a tooltip with the numbers, which are the payload's own.
import { beforeEach, describe, expect, it } from "vitest";
import widget from "../src/index.js";
import { formatNumber } from "../src/chart.js";
import { gridResult, imageResult, installCanvasMock, mockModel } from "./helpers.js";

const WIDTH = 8; // the small image payload's size (the probe tests)
const HEIGHT = 6;

function model(display = "heat", result = gridResult()) {
  return mockModel({
    _view: "image",
    target: result.target,
    baseline: result.baseline,
    rule: result.rule,
    steps: result.steps,
    sign: "both",
    clip: 100,
    display,
    opacity: 0.6,
    status: "done",
    progress: 1,
    error: "",
    choices: {},
    outputs: [],
    result,
  });
}

const canvasOf = (el, name) => el.querySelector(`canvas[data-map=${name}]`);

function hover(el, name, x, y, [width, height] = [WIDTH, HEIGHT]) {
  const canvas = canvasOf(el, name);
  canvas.getBoundingClientRect = () => ({ left: 0, top: 0, width: width * 10, height: height * 10 });
  canvas.dispatchEvent(
    new MouseEvent("mousemove", { clientX: x * 10 + 5, clientY: y * 10 + 5, bubbles: true }),
  );
}

describe("an image drawn on a grid of blocks", () => {
  let el;
  const grid = gridResult();
  const [cellH, cellW] = grid.cell;
  const size = [grid.width, grid.height];
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  it("is the kernel's grid: 2 x 2 blocks of an image wider than the views draw", () => {
    expect(grid.cell).toEqual([2, 2]);
    expect([grid.source_width, grid.source_height]).toEqual([grid.width * cellW, grid.height * cellH]);
  });

  it("draws every map and the image at the grid's size, in the source's proportions", () => {
    widget.render({ model: model("overlay"), el });
    for (const name of ["input", "attributions", "scaled", "gradient", "cumulative"]) {
      expect([canvasOf(el, name).width, canvasOf(el, name).height]).toEqual(size);
      expect(canvasOf(el, name).style.aspectRatio).toBe(`${grid.width} / ${grid.height}`);
    }
  });

  it("names the block under the pointer in input pixels, with the payload's numbers", () => {
    const m = model("heat");
    widget.render({ model: m, el });
    hover(el, "attributions", 2, 1, size); // cell (2, 1): input pixels 4..5 x 2..3
    const map = new Float32Array(m.get("result").attributions.data.buffer.slice(0));
    const index = grid.width + 2;
    const readout = el.querySelector(".igw-readout").textContent;
    expect(readout).toMatch(/^block of 2×2 px, \(4, 2\) to \(5, 3\): attribution \(sum over the block\) /);
    expect(readout).toContain(
      `attribution (sum over the block) ${formatNumber(map[index])} · input (block mean) `,
    );
    expect(readout.endsWith(`accumulated ${formatNumber(map[index])}`)).toBe(true); // at the last point: the map
  });

  it("names a single input pixel at the far edge by its input coordinates, not the grid's", () => {
    // an image of 7 x 259 pixels is drawn on the same 4 x 130 grid of 2 x 2 blocks (DisplayGrid), the
    // last row and column of blocks holding one input pixel a side: the bottom right cell is input
    // pixel (258, 6), which the readout named "pixel (129, 3)", its place on the grid
    const edge = gridResult();
    edge.source_width = grid.source_width - 1;
    edge.source_height = grid.source_height - 1;
    expect([Math.ceil(edge.source_width / cellW), Math.ceil(edge.source_height / cellH)]).toEqual(size);
    const m = model("heat", edge);
    widget.render({ model: m, el });
    hover(el, "attributions", grid.width - 1, grid.height - 1, size);
    const map = new Float32Array(m.get("result").attributions.data.buffer.slice(0));
    const readout = el.querySelector(".igw-readout").textContent;
    const pixel = `pixel (${edge.source_width - 1}, ${edge.source_height - 1})`;
    expect(readout.startsWith(`${pixel}: attribution `)).toBe(true);
    expect(readout).toContain(`attribution ${formatNumber(map[grid.width * grid.height - 1])} · input `);
    hover(el, "attributions", grid.width - 1, 0, size); // a block of 2 x 1 input pixels: a range
    expect(el.querySelector(".igw-readout").textContent).toMatch(
      /^block of 2×1 px, \(258, 0\) to \(258, 1\): /,
    );
  });

  it("arrow keys move one cell", () => {
    widget.render({ model: model("heat"), el });
    const canvas = canvasOf(el, "attributions");
    canvas.focus();
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    expect(el.querySelector(".igw-readout").textContent).toMatch(/^block of 2×2 px, \(2, 2\) to \(3, 3\)/);
  });
});

describe("the pointer probe", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  it("outlines the pointed pixel on every map and shows its numbers in a tooltip; leaving hides both", () => {
    widget.render({ model: model("overlay", imageResult({ width: WIDTH, height: HEIGHT })), el });
    hover(el, "gradient", 1, 0);
    const boxes = [...el.querySelectorAll(".igw-probe")];
    expect(boxes).toHaveLength(5);
    expect(boxes.every((box) => !box.hidden)).toBe(true);
    const tooltip = el.querySelector(".igw-tooltip");
    expect(tooltip.hidden).toBe(false);
    expect(tooltip.textContent).toMatch(/^pixel \(1, 0\)attribution /);
    expect(el.querySelector(".igw-readout").textContent).toMatch(/^pixel \(1, 0\): attribution/);
    canvasOf(el, "gradient").dispatchEvent(new MouseEvent("mouseout", { bubbles: true }));
    expect(tooltip.hidden).toBe(true);
    expect(boxes.every((box) => box.hidden)).toBe(true);
    // a slider move keeps the readout current without bringing the tooltip back
    el.querySelector(".igw-slider input").dispatchEvent(
      new KeyboardEvent("keydown", { key: "Home", bubbles: true }),
    );
    const alphas = new Float32Array(imageResult().trace.alphas.data.buffer.slice(0));
    expect(el.querySelector(".igw-readout").textContent).toContain(`at α = ${alphas[0].toFixed(3)}`);
    expect(tooltip.hidden).toBe(true);
  });

  it("prints int8 trace values with the error their payload states, and the exact map at the last point", () => {
    const result = imageResult({ trace: "int8" }); // the kernel's int8 encoding of a large image's trace
    widget.render({ model: model("heat", result), el });
    hover(el, "attributions", 2, 0);
    const readout = () => el.querySelector(".igw-readout").textContent;
    const map = new Float32Array(result.attributions.data.buffer);
    // at the last point the accumulated attributions are the attribution map: printed exactly, equal to it
    expect(readout()).toContain(`attribution ${formatNumber(map[2])} `);
    expect(readout().endsWith(`accumulated ${formatNumber(map[2])}`)).toBe(true);
    el.querySelector(".igw-slider input").dispatchEvent(
      new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }),
    );
    const half = result.trace.cumulative.scale[2] / 2;
    expect(readout()).toMatch(/accumulated ≈ −?[\d.]+(e−?\d+)? ± [\d.e−]+$/);
    expect(readout()).toContain(`± ${Number(half.toPrecision(1))}`);
  });
});
