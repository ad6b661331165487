// @vitest-environment jsdom
// The image view when the attribution map is coarser than the image (map_height x map_width cells,
// each the sum over a cell_h x cell_w block of pixels), and the pointer probe: a box on every map and
// a tooltip with the numbers, which are the payload's own.
import { beforeEach, describe, expect, it } from "vitest";
import widget from "../src/index.js";
import { formatNumber } from "../src/chart.js";
import { float32, imageResult, installCanvasMock, mockModel, uint8Image } from "./helpers.js";

const WIDTH = 8;
const HEIGHT = 6;
const CELL = [2, 2];
const MAP_W = 4;
const MAP_H = 3;
const ALPHAS = [0.25, 0.75];

/** A payload whose map has one cell per 2 x 2 block of an 8 x 6 image; cell values are distinct. */
function cellResult() {
  const base = imageResult({ width: WIDTH, height: HEIGHT });
  const cells = MAP_W * MAP_H;
  const map = Array.from({ length: cells }, (_, i) => (i % 2 ? -1 : 1) * (0.5 + i * 0.25));
  const gradients = ALPHAS.flatMap((a) => map.map((v) => v * (1 - a) * 3));
  const cumulative = ALPHAS.flatMap((_, k) => map.map((v) => (v * (k + 1)) / ALPHAS.length)); // the map at the last point
  return {
    ...base,
    map_height: MAP_H,
    map_width: MAP_W,
    cell: CELL,
    steps: ALPHAS.length,
    input: float32(
      Array.from({ length: WIDTH * HEIGHT }, (_, p) => p / 100),
      [1, HEIGHT, WIDTH],
    ),
    channels: 1,
    image: uint8Image(
      Array.from({ length: WIDTH * HEIGHT * 3 }, (_, i) => Math.floor(i / 3) * 5),
      HEIGHT,
      WIDTH,
    ),
    attributions: float32(map, [MAP_H, MAP_W]),
    trace: {
      alphas: float32(ALPHAS),
      weights: float32([0.5, 0.5]),
      scores: float32([2.1, 2.4]),
      gradients: float32(gradients, [2, MAP_H, MAP_W]),
      cumulative: float32(cumulative, [2, MAP_H, MAP_W]),
      cumulative_total: float32(ALPHAS.map((a) => a * map.reduce((s, v) => s + v, 0))),
    },
  };
}

function model(display = "heat", result = cellResult()) {
  return mockModel({
    _view: "image",
    target: 1,
    baseline: "black",
    rule: "gausslegendre",
    steps: 2,
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

describe("a map coarser than the image", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  it("draws the map at its own size, stretched over the image's shape", () => {
    widget.render({ model: model("heat"), el });
    for (const name of ["attributions", "gradient", "cumulative"]) {
      expect([canvasOf(el, name).width, canvasOf(el, name).height]).toEqual([MAP_W, MAP_H]);
    }
    expect([canvasOf(el, "scaled").width, canvasOf(el, "input").width]).toEqual([WIDTH, WIDTH]);
    for (const name of ["input", "attributions", "scaled", "gradient", "cumulative"]) {
      expect(canvasOf(el, name).style.aspectRatio).toBe(`${WIDTH} / ${HEIGHT}`);
    }
  });

  it("blends each cell's colour over every pixel of its block", () => {
    widget.render({ model: model("overlay"), el });
    const pixels = canvasOf(el, "attributions").pixels;
    expect(pixels).toHaveLength(WIDTH * HEIGHT * 4);
    const heatOf = (x, y) => pixels.slice((y * WIDTH + x) * 4, (y * WIDTH + x) * 4 + 4);
    // the image's grey differs inside a block, so compare how far each pixel moved from its own grey:
    // two cells of opposite sign tint in different directions
    const tint = (x, y) => {
      const [r, , b] = heatOf(x, y);
      return Math.sign(r - b);
    };
    expect(tint(0, 0)).toBe(tint(1, 1)); // same cell (0, 0)
    expect(tint(2, 0)).toBe(tint(3, 1)); // same cell (1, 0)
    expect(tint(0, 0)).not.toBe(tint(2, 0)); // neighbouring cells have opposite signs
  });

  it("points at the cell under the pointer and says it covers a block", () => {
    const m = model("heat");
    widget.render({ model: m, el });
    hover(el, "attributions", 5, 3); // cell (2, 1): index 6, pixels 4..5 x 2..3
    const payload = m.get("result");
    const map = new Float32Array(payload.attributions.data.buffer);
    const cumulative = new Float32Array(payload.trace.cumulative.data.buffer);
    const readout = el.querySelector(".igw-readout").textContent;
    expect(readout).toMatch(/^block of 2×2 px, \(4, 2\) to \(5, 3\): attribution \(sum over the block\) /);
    expect(readout).toContain(`attribution (sum over the block) ${Number(map[6].toPrecision(3))}`);
    expect(readout).toContain("input at (5, 3) 0.29"); // the pixel's own input value, exact from the float32 input
    expect(readout).toContain(`accumulated ${Number(cumulative[MAP_W * MAP_H + 6].toPrecision(3))}`); // at the last alpha
    expect(readout).not.toContain("≈");
  });

  it("arrow keys move one cell", () => {
    widget.render({ model: model("heat"), el });
    const canvas = canvasOf(el, "attributions");
    canvas.focus();
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    expect(el.querySelector(".igw-readout").textContent).toMatch(/^block of 2×2 px, \(2, 2\) to \(3, 3\)/);
  });

  it("with the image itself on the map's grid (block means), names the input's block in input pixels", () => {
    const full = cellResult();
    const grid = {
      ...full,
      width: MAP_W,
      height: MAP_H,
      source_width: WIDTH,
      source_height: HEIGHT,
      image: uint8Image(
        Array.from({ length: MAP_W * MAP_H * 3 }, (_, i) => i * 7),
        MAP_H,
        MAP_W,
      ),
      baseline_image: uint8Image(new Array(MAP_W * MAP_H * 3).fill(0), MAP_H, MAP_W),
      input: float32(
        Array.from({ length: MAP_W * MAP_H }, (_, p) => p / 10),
        [1, MAP_H, MAP_W],
      ),
    };
    widget.render({ model: model("overlay", grid), el });
    expect([canvasOf(el, "attributions").width, canvasOf(el, "scaled").width]).toEqual([MAP_W, MAP_W]);
    expect(canvasOf(el, "input").style.aspectRatio).toBe(`${MAP_W} / ${MAP_H}`);
    hover(el, "attributions", 2, 1, [MAP_W, MAP_H]); // cell (2, 1): input pixels 4..5 x 2..3
    const readout = el.querySelector(".igw-readout").textContent;
    expect(readout).toMatch(/^block of 2×2 px, \(4, 2\) to \(5, 3\): attribution \(sum over the block\) /);
    expect(readout).toContain("input (block mean) 0.6");
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
