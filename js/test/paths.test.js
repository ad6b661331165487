// @vitest-environment jsdom
// The image view on a curved path: the path control's choices and the slider's points come from the
// kernel's payload (a real Guided IG payload from tests/test_schema.py; the checks panel's numbers from
// fixtures/paths.json, written by tests/test_paths_payload.py from a real explainer).
import { beforeEach, describe, expect, it } from "vitest";
import widget from "../src/index.js";
import fixture from "./fixtures/paths.json";
import { decodeArray } from "../src/decode.js";
import { paletteLuts, signedPixels } from "../src/dataset/pixels.js";
import { contract, revive } from "./helpers.js";
import { imageFixture, imageOutputs, installCanvasMock, mockModel, pathResult } from "./helpers.js";

const guided = pathResult("guided");
const [steps, height, width] = guided.path_images.shape;
const pathBytes = new Uint8Array(guided.path_images.data.buffer.slice(0));

function guidedModel(overrides = {}) {
  return mockModel({
    ...imageFixture.state,
    _view: "image",
    target: guided.target,
    baseline: guided.baseline,
    rule: guided.rule,
    steps,
    display: "heat",
    status: "done",
    progress: 1,
    error: "",
    path: guided.path,
    idgi: guided.idgi,
    outputs: imageOutputs([guided.target]),
    result: pathResult("guided"),
    ...overrides,
  });
}

const frame = (k) => {
  const rgba = [];
  const size = width * height * 3;
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) rgba.push(pathBytes[k * size + p * 3 + c]);
    rgba.push(255);
  }
  return rgba;
};

describe("path control", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  it("offers the kernel's paths and sends the chosen one", () => {
    const model = guidedModel();
    widget.render({ model, el });
    const select = [...el.querySelectorAll("select")].find((s) => s.previousSibling?.textContent === "Path");
    expect([...select.options].map((o) => o.value)).toEqual(imageFixture.state.choices.path);
    expect(select.value).toBe("guided");
    select.value = "blur";
    select.dispatchEvent(new Event("change"));
    expect(model.get("path")).toBe("blur");
    const idgi = [...el.querySelectorAll("input[type=checkbox]")].find(
      (i) => i.nextSibling?.textContent === "IDGI",
    );
    idgi.checked = true;
    idgi.dispatchEvent(new Event("change"));
    expect(model.get("idgi")).toBe(true);
  });

  it("draws each of the path's own points on the slider, byte for byte", () => {
    widget.render({ model: guidedModel(), el });
    const slider = el.querySelector(".igw-slider input");
    const scaled = el.querySelector("canvas[data-map=scaled]");
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "Home", bubbles: true }));
    expect(Array.from(scaled.pixels)).toEqual(frame(0));
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "End", bubbles: true }));
    expect(Array.from(scaled.pixels)).toEqual(frame(steps - 1));
    expect(el.textContent).toContain(`Path point at α: ${guided.path_label}`);
  });

  it("disables the rule on Guided IG's path, saying why", () => {
    widget.render({ model: guidedModel(), el });
    const rule = [...el.querySelectorAll("select")].find((s) => s.previousSibling?.textContent === "Rule");
    expect(rule.disabled).toBe(true);
    expect(rule.parentElement.title).toMatch(/no rule is used/);
  });
});

describe("checks panel", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  const checks = revive(fixture.checks); // written by tests/test_paths_payload.py from ImageExplainer.run_checks()
  const settings = {
    target: checks.for.target,
    baseline: checks.for.baseline,
    rule: checks.for.rule,
    steps: checks.for.steps,
    path: checks.for.path,
    idgi: checks.for.idgi,
  };

  it("asks the kernel to run the checks and prints its numbers as Python printed them", () => {
    const model = guidedModel({ checks: {}, ...settings });
    const sent = [];
    model.send = (content) => sent.push(content);
    widget.render({ model, el });
    el.querySelector(".igw-checks-run").click();
    expect(sent).toEqual([{ type: "run_checks" }]);
    model.update("checks", checks);
    const text = el.querySelector(".igw-checks").textContent;
    const { sanity, deletion } = checks;
    expect(text).toContain(sanity.passed ? "Sanity check passes" : "Sanity check FAILS");
    expect(text).toContain(`SSIM ${sanity.ssim[sanity.ssim.length - 1]}`);
    expect(text).toContain(`Deletion area ${deletion.deletion_area}`);
    expect(text).toContain(`insertion area ${deletion.insertion_area}`);
    expect(el.querySelectorAll(".igw-checks-table tr")).toHaveLength(sanity.layers.length + 2); // + the trained model
    sanity.layers.forEach((layer, k) =>
      expect(text).toContain(`${layer}${sanity.ssim[k]}${sanity.spearman[k]}`),
    );
    expect(el.querySelector(".igw-checks").dataset.stale).toBe("false");
  });

  it("draws the trained model's map and the map after each randomized layer", () => {
    widget.render({ model: guidedModel({ checks, ...settings }), el });
    const { sanity } = checks;
    const maps = decodeArray(sanity.maps);
    const [count, rows, columns] = maps.shape;
    expect(count).toBe(sanity.layers.length + 1);
    const canvases = [...el.querySelectorAll(".igw-checks-table canvas.igw-checks-map")];
    expect(canvases).toHaveLength(count);
    const lut = paletteLuts(contract.palette).diverging;
    canvases.forEach((canvas, k) => {
      expect([canvas.width, canvas.height]).toEqual([columns, rows]);
      expect(canvas.pixels).toEqual(
        Array.from(signedPixels(maps.values, k * rows * columns, rows * columns, lut)),
      );
    });
    expect(canvases[1].getAttribute("aria-label")).toBe(`map after randomizing down to ${sanity.layers[0]}`);
    expect(canvases[0].pixels).not.toEqual(canvases[count - 1].pixels); // IG's map changed with the model
  });

  it("marks checks run for other settings", () => {
    const model = guidedModel({ checks, ...settings });
    widget.render({ model, el });
    expect(el.querySelector(".igw-checks").dataset.stale).toBe("false");
    model.update("path", "blur");
    expect(el.querySelector(".igw-checks").dataset.stale).toBe("true");
    expect(el.querySelector(".igw-checks-state").textContent).toContain("path guided");
  });
});
