// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from "vitest";
import widget from "../src/index.js";
import { gapLevel, gapPercent } from "../src/badge.js";
import { imageFixture, imageOutputs, imageResult, installCanvasMock, mockModel } from "./helpers.js";

// real payloads from tests/test_schema.py (fixtures/image.json): what the view prints is read from them
const first = imageResult();
const alphas = new Float32Array(first.trace.alphas.data.buffer.slice(0));
const gap = first.completeness.relative_gap;

function imageModel(overrides = {}) {
  return mockModel({
    _view: "image",
    target: 1,
    baseline: "black",
    rule: "gausslegendre",
    steps: 4,
    sign: "both",
    clip: 99,
    display: "overlay",
    opacity: 0.6,
    status: "done",
    progress: 1,
    error: "",
    choices: imageFixture.state.choices,
    outputs: imageOutputs([1, 4]),
    result: imageResult(),
    ...overrides,
  });
}

const canvasOf = (el, name) => el.querySelector(`canvas[data-map=${name}]`);

describe("render", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  it("draws every map and suppresses JupyterLab shortcuts", () => {
    const model = imageModel();
    widget.render({ model, el });
    const root = el.querySelector(".igw");
    expect(root.getAttribute("data-lm-suppress-shortcuts")).toBe("true");
    for (const name of ["input", "attributions", "scaled", "gradient", "cumulative"]) {
      const canvas = canvasOf(el, name);
      expect([canvas.width, canvas.height]).toEqual([8, 6]);
      expect(canvas.pixels).toHaveLength(8 * 6 * 4);
    }
    expect(new Set(canvasOf(el, "attributions").pixels).size).toBeGreaterThan(10);
    expect(el.querySelector(".igw-badge").textContent).toContain(`gap ${gapPercent(gap)}`);
    expect(el.querySelector(".igw-badge").dataset.level).toBe(gapLevel(gap).level);
  });

  it("sets labels as text, never as markup", () => {
    widget.render({ model: imageModel(), el });
    const label = el.querySelector(".igw-output-label");
    expect(label.textContent).toBe("cat <b>");
    expect(label.querySelector("b")).toBeNull();
  });

  it("walks the path in the browser: keys change scaled input and accumulated map, not the kernel", () => {
    const model = imageModel();
    widget.render({ model, el });
    const slider = el.querySelector(".igw-slider input");
    const before = { scaled: canvasOf(el, "scaled").pixels, cumulative: canvasOf(el, "cumulative").pixels };
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "Home", bubbles: true }));
    expect(canvasOf(el, "scaled").pixels).not.toEqual(before.scaled);
    expect(canvasOf(el, "cumulative").pixels).not.toEqual(before.cumulative);
    expect(slider.value).toBe(String(alphas[0]));
    expect(el.querySelector(".igw-alpha").textContent).toMatch(/point 1 of 4/);
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(el.querySelector(".igw-alpha").textContent).toMatch(/point 2 of 4/);
    slider.value = "0.9";
    slider.dispatchEvent(new Event("input"));
    expect(el.querySelector(".igw-alpha").textContent).toMatch(/point 4 of 4/);
    expect(model.saved).toEqual([]);
  });

  it("clicking an output asks the kernel for that target; a kernel change re-renders", () => {
    const model = imageModel();
    widget.render({ model, el });
    const heatBefore = canvasOf(el, "attributions").pixels;
    el.querySelector(".igw-output[data-index='4']").click();
    expect(model.saved).toEqual([{ target: 4 }]);
    model.update("target", 4);
    expect(el.querySelector(".igw-output[data-index='4']").getAttribute("aria-pressed")).toBe("true");
    model.update("result", imageResult({ target: 4 }));
    expect(canvasOf(el, "attributions").pixels).not.toEqual(heatBefore);
    expect(canvasOf(el, "attributions").previousElementSibling.textContent).toBe("Attributions for “dog”");
  });

  it("sends control changes and doubles the steps from the badge", () => {
    const model = imageModel();
    widget.render({ model, el });
    const baseline = [...el.querySelectorAll("select")].find((s) => s.labels[0].textContent === "Baseline");
    baseline.value = "blur";
    baseline.dispatchEvent(new Event("change"));
    el.querySelector(".igw-badge-row button").click();
    expect(model.saved).toEqual([{ baseline: "blur" }, { steps: 8 }]);
  });

  it("redraws the heatmap for display mode and sign from Python", () => {
    const model = imageModel();
    widget.render({ model, el });
    const overlay = canvasOf(el, "attributions").pixels;
    model.update("display", "heat");
    const heat = canvasOf(el, "attributions").pixels;
    expect(heat).not.toEqual(overlay);
    model.update("sign", "absolute");
    expect(canvasOf(el, "attributions").pixels).not.toEqual(heat);
    expect(el.querySelector(".igw-legend-labels").textContent.startsWith("0")).toBe(true);
  });

  it("shows progress while computing and the kernel's error as text", () => {
    const model = imageModel();
    widget.render({ model, el });
    model.update("progress", 0.5);
    model.update("status", "computing");
    expect(el.querySelector(".igw-status progress").hidden).toBe(false);
    expect(el.querySelector(".igw-status").textContent).toMatch(/50%/);
    model.update("error", "RuntimeError: <shape> mismatch");
    model.update("status", "error");
    const alert = el.querySelector("[role=alert]");
    expect(alert.hidden).toBe(false);
    expect(alert.textContent).toBe("RuntimeError: <shape> mismatch");
  });

  it("renders without a result yet, and cleans up every listener", () => {
    const model = imageModel({ result: {}, status: "computing", progress: 0 });
    const cleanup = widget.render({ model, el });
    expect(el.querySelector(".igw-path").hidden).toBe(true);
    expect(el.querySelector(".igw-badge-row").hidden).toBe(true); // no empty badge before a result
    model.update("result", imageResult());
    expect(el.querySelector(".igw-badge-row").hidden).toBe(false);
    expect(el.querySelector(".igw-badge").textContent).toContain(`gap ${gapPercent(gap)}`);
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.querySelector(".igw")).toBeNull();
  });

  it("reports the values under the pointer", () => {
    widget.render({ model: imageModel(), el });
    const canvas = canvasOf(el, "attributions");
    canvas.getBoundingClientRect = () => ({ left: 0, top: 0, width: 80, height: 60 });
    canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: 15, clientY: 5, bubbles: true }));
    expect(el.querySelector(".igw-readout").textContent).toMatch(/pixel \(1, 0\): attribution/);
  });

  it("keeps the pointed pixel's numbers current through slider moves and a new target", () => {
    const model = imageModel();
    widget.render({ model, el });
    const canvas = canvasOf(el, "attributions");
    canvas.getBoundingClientRect = () => ({ left: 0, top: 0, width: 80, height: 60 });
    canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: 15, clientY: 5, bubbles: true }));
    const readout = el.querySelector(".igw-readout");
    expect(readout.textContent).toContain(`at α = ${alphas[3].toFixed(3)}`);
    el.querySelector(".igw-slider input").dispatchEvent(
      new KeyboardEvent("keydown", { key: "Home", bubbles: true }),
    );
    expect(readout.textContent).toMatch(new RegExp(`^pixel \\(1, 0\\): .* at α = ${alphas[0].toFixed(3)}`));
    const before = readout.textContent;
    model.update("result", imageResult({ target: 4 }));
    expect(readout.textContent).toMatch(/^pixel \(1, 0\): attribution/);
    expect(readout.textContent).not.toBe(before);
  });

  it("says so when the bundle has no view of that name", () => {
    widget.render({ model: mockModel({ _view: "audio" }), el });
    expect(el.textContent).toMatch(/no view named "audio"/);
  });
});

describe("render, keyboard and modes", () => {
  beforeEach(() => {
    installCanvasMock();
    document.body.replaceChildren();
  });

  it("walks the pixels of a focused map with the arrow keys", () => {
    const el = document.createElement("div");
    document.body.append(el);
    widget.render({ model: imageModel(), el });
    const canvas = el.querySelector("canvas[data-map=attributions]");
    canvas.focus();
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
    expect(el.querySelector(".igw-readout").textContent).toMatch(/^pixel \(1, 1\): attribution/);
  });

  it("draws outlines on an enlarged canvas and hides the colour legend where it does not apply, keeping its room", () => {
    const el = document.createElement("div");
    document.body.append(el);
    const model = imageModel();
    widget.render({ model, el });
    model.update("display", "outline");
    const canvas = el.querySelector("canvas[data-map=attributions]");
    expect(canvas.width).toBe(8 * 24);
    const legend = el.querySelector(".igw-legend");
    expect([legend.hidden, legend.style.visibility]).toEqual([false, "hidden"]); // invisible, still in the layout
    model.update("display", "heat");
    expect(canvas.width).toBe(8);
    expect([legend.hidden, legend.style.visibility]).toEqual([false, ""]);
  });

  it("plays the path point by point and stops at the input", () => {
    vi.useFakeTimers();
    try {
      const el = document.createElement("div");
      document.body.append(el);
      widget.render({ model: imageModel(), el });
      const play = el.querySelector(".igw-play");
      play.click(); // at the input end: starts again from the baseline
      expect(el.querySelector(".igw-alpha").textContent).toMatch(/point 1 of 4/);
      vi.advanceTimersByTime(1000);
      expect(el.querySelector(".igw-alpha").textContent).toMatch(/point 4 of 4/);
      expect(play.textContent).toMatch(/Play/);
    } finally {
      vi.useRealTimers();
    }
  });
});
