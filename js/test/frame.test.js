// @vitest-environment jsdom
// What every view shares (frame.js): refused changes snap back with their reason, the kernel's limits,
// a static page's disabled controls and note, and ids unique across widgets on one page.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import widget from "../src/index.js";
import {
  checkModelChangedNotice,
  imageFixture,
  imageOutputs,
  imageResult,
  installCanvasMock,
  mockModel,
} from "./helpers.js";

function imageModel(overrides = {}) {
  const model = mockModel({
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
    limits: { steps: { min: 1, max: 96 }, clip: { min: 60, max: 100 } },
    outputs: imageOutputs([1, 4]),
    result: imageResult(),
    ...overrides,
  });
  const custom = [];
  const on = model.on;
  model.on = (event, handler) => {
    if (event === "msg:custom") custom.push(handler);
    on(event, handler);
  };
  /** A custom message from the kernel. */
  model.message = (content) => custom.forEach((handler) => handler(content, []));
  return model;
}

const SOURCE = join(__dirname, "..", "src", "index.js");
const ESBUILD = join(__dirname, "..", "node_modules", ".bin", "esbuild");

const control = (el, text) =>
  [...el.querySelectorAll(".igw-control")].find((node) => node.querySelector("label").textContent === text);

function typeInto(input, value) {
  input.value = value;
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

describe("refused changes", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  it("sends what is typed; when the kernel refuses, the field shows the kernel's value and the reason", () => {
    const model = imageModel();
    widget.render({ model, el });
    const steps = control(el, "Steps");
    const input = steps.querySelector("input");
    typeInto(input, "5000");
    expect(model.saved.at(-1)).toEqual({ steps: 5000 }); // the kernel decides, not a copy of its limits
    model.update("steps", 4); // the kernel sends its value back ...
    model.message({
      type: "refused",
      names: ["steps"],
      message: "steps=5000 is out of range; use an int in 1..1024",
    });
    expect(input.value).toBe("4");
    const note = steps.querySelector(".igw-control-note");
    expect(note.hidden).toBe(false);
    expect(note.textContent).toBe("steps=5000 is out of range; use an int in 1..1024");
    typeInto(input, "8"); // the next change clears the note
    expect(note.hidden).toBe(true);
  });

  it("Enter sends a typed number once, without waiting for the field to lose focus", () => {
    const model = imageModel();
    widget.render({ model, el });
    const input = control(el, "Steps").querySelector("input");
    input.value = "12";
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true })); // the blur after it sends nothing more
    expect(model.saved).toEqual([{ steps: 12 }]);
  });

  it("snaps back a refused menu choice even when the kernel's value did not change", () => {
    const model = imageModel();
    widget.render({ model, el });
    const baseline = control(el, "Baseline");
    const select = baseline.querySelector("select");
    select.value = "blur";
    select.dispatchEvent(new Event("change"));
    model.state.baseline = "black"; // the value came back without a change event (it never changed there)
    model.message({ type: "refused", names: ["baseline"], message: "no kernel" });
    expect(select.value).toBe("black");
    expect(baseline.querySelector(".igw-control-note").textContent).toBe("no kernel");
  });

  it("takes the steps limits from the kernel, and More steps stops at the maximum", () => {
    const model = imageModel({ steps: 64 });
    widget.render({ model, el });
    const input = control(el, "Steps").querySelector("input");
    expect([input.min, input.max]).toEqual(["1", "96"]);
    model.update("limits", { steps: { min: 2, max: 512 } });
    expect([input.min, input.max]).toEqual(["2", "512"]);
    model.update("limits", { steps: { min: 1, max: 96 } });
    el.querySelector(".igw-badge-row button").click();
    expect(model.saved.at(-1)).toEqual({ steps: 96 });
  });
});

describe("a model changed since the shown results", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  for (const view of ["image", "text"]) {
    it(`${view}: says so while the kernel says so, and Recompute asks the kernel once`, () => {
      const model = imageModel({
        _view: view,
        ...(view === "text" ? { result: {}, granularity: "tokens" } : {}),
      });
      widget.render({ model, el });
      checkModelChangedNotice(model, el, expect);
    });
  }
});

describe("the clip slider", () => {
  it("spans the kernel's range and snaps back when the kernel refuses", () => {
    installCanvasMock();
    const el = document.createElement("div");
    document.body.replaceChildren(el);
    const model = imageModel({ clip: 99 });
    widget.render({ model, el });
    const clip = control(el, "Clip %");
    const input = clip.querySelector("input");
    expect([input.min, input.max]).toEqual(["60", "100"]);
    model.message({
      type: "refused",
      names: ["clip"],
      message: "clip=55 is a percentile of attribution mass; use 50..100",
    });
    expect(input.value).toBe("99");
    expect(clip.querySelector(".igw-control-note").textContent).toMatch(/^clip=55/);
  });
});

describe("a static page (no kernel)", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  const request = (target, steps = 4, baseline = "black") => ({
    target,
    baseline,
    rule: "gausslegendre",
    steps,
  });

  it("still says the model had changed when it was saved, without a Recompute button", () => {
    const model = imageModel({
      model_changed: true,
      _static_page: { note: "no kernel", keys: ["target"], requests: [request(1)] },
    });
    widget.render({ model, el });
    const notice = el.querySelector(".igw-model-changed");
    expect(notice.hidden).toBe(false);
    expect(notice.textContent).toContain("they show its earlier weights");
    expect(notice.querySelector("button")).toBeNull();
  });

  it("disables what it holds no result for, and says why", () => {
    const note = "Static page: other settings need a running kernel.";
    const model = imageModel({
      _static_page: {
        note,
        keys: ["target", "baseline", "rule", "steps"],
        requests: [request(1), request(4), request(1, 8)],
      },
    });
    widget.render({ model, el });
    expect(el.querySelector(".igw-static-note").textContent).toBe(note);
    expect(control(el, "Baseline").querySelector("select").disabled).toBe(true);
    expect(control(el, "Rule").querySelector("select").disabled).toBe(true);
    expect(control(el, "Steps").querySelector("input").disabled).toBe(false); // 8 steps are there
    expect(el.querySelector(".igw-badge-row button").disabled).toBe(false);
    const rows = () => [...el.querySelectorAll(".igw-output")].map((row) => row.disabled);
    expect(rows()).toEqual([false, false]);
    model.update("steps", 8); // at 8 steps only class 1 is there, and no 16
    expect(rows()).toEqual([false, true]);
    expect(el.querySelector(".igw-badge-row button").disabled).toBe(true);
  });

  it("has no static note in Jupyter", () => {
    widget.render({ model: imageModel(), el });
    expect(el.querySelector(".igw-static-note")).toBeNull();
    expect(control(el, "Baseline").querySelector("select").disabled).toBe(false);
  });
});

describe("controls where they do nothing", () => {
  it("disables Opacity unless the map is blended over the image", () => {
    installCanvasMock();
    const el = document.createElement("div");
    document.body.replaceChildren(el);
    const model = imageModel({ display: "heat" });
    widget.render({ model, el });
    const opacity = control(el, "Opacity");
    const states = {};
    for (const mode of ["heat", "overlay", "masked", "outline"]) {
      model.update("display", mode);
      states[mode] = opacity.querySelector("input").disabled;
    }
    expect(states).toEqual({ heat: true, overlay: false, masked: true, outline: true });
    expect(opacity.title).toMatch(/overlay/);
  });
});

describe("two widgets on one page", () => {
  it("every label points at a control in its own widget", async () => {
    installCanvasMock();
    document.body.replaceChildren();
    // In Jupyter each widget imports its own copy of the one-file bundle (a Blob URL per widget): bundle
    // the sources as the build does and import two copies of that file.
    const code = execFileSync(ESBUILD, [SOURCE, "--bundle", "--format=esm"], { encoding: "utf8" });
    const folder = join(__dirname, "..", "node_modules", ".igw-test-bundles"); // inside the project root vite serves
    mkdirSync(folder, { recursive: true });
    const copies = [];
    for (const name of ["first.mjs", "second.mjs"]) {
      writeFileSync(join(folder, name), code);
      copies.push(await import(/* @vite-ignore */ join(folder, name)));
    }
    const roots = copies.map((copy) => {
      const el = document.createElement("div");
      document.body.append(el);
      copy.default.render({ model: imageModel(), el });
      return el;
    });
    for (const root of roots) {
      const labels = [...root.querySelectorAll("label[for]")];
      expect(labels.length).toBeGreaterThan(3);
      for (const label of labels) {
        const target = document.getElementById(label.htmlFor);
        expect(target, label.htmlFor).not.toBeNull();
        expect(root.contains(target)).toBe(true);
      }
    }
  });
});
