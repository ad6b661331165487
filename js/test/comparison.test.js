// @vitest-environment jsdom
// The method comparison view on the payload Python wrote from a real MethodComparison
// (fixtures/comparison.json, tests/test_comparison.py): one card per method in the kernel's order, the
// numbers printed as Python printed them, the maps drawn from the payload, cards still computing marked,
// labels as text, and the payload keys read are those schema.py defines.
import { beforeEach, describe, expect, it } from "vitest";
import { paletteLuts, signedPixels } from "../src/dataset/pixels.js";
import { decodeArray } from "../src/decode.js";
import widget from "../src/index.js";
import fixture from "./fixtures/comparison.json";
import {
  checkModelChangedNotice,
  contract,
  installCanvasMock,
  mockModel,
  recordingPayload,
  revive,
} from "./helpers.js";

const done = revive(fixture.done);
const partial = revive(fixture.partial);

function render(result, extra = {}) {
  const el = document.createElement("div");
  document.body.replaceChildren(el);
  const model = mockModel({
    _view: "comparison",
    palette: fixture.palette,
    labels: fixture.labels,
    target: fixture.target,
    result,
    ...extra,
  });
  const custom = [];
  const on = model.on;
  model.on = (event, handler) => {
    if (event === "msg:custom") custom.push(handler);
    on(event, handler);
  };
  /** A custom message from the kernel. */
  model.message = (content) => custom.forEach((handler) => handler(content, []));
  const cleanup = widget.render({ model, el });
  return { el, model, cleanup };
}

const targetMenu = (el) => el.querySelector(".igw-cmp-header select");

const card = (el, name) => [...el.querySelectorAll(".igw-cmp-card")].find((c) => c.dataset.method === name);

describe("method comparison view", () => {
  beforeEach(() => installCanvasMock());

  it("says when the model has changed since the maps were computed, and Recompute asks the kernel", () => {
    const { el, model } = render(done);
    checkModelChangedNotice(model, el, expect);
  });

  it("shows one card per method, in the kernel's order, after the input", () => {
    const { el } = render(done);
    const names = [...el.querySelectorAll(".igw-cmp-card .igw-cmp-name")].map((n) => n.textContent);
    expect(names).toEqual(["input", ...done.names]);
    expect(el.querySelector(".igw-cmp-status").textContent).toBe(
      `${done.names.length} of ${done.names.length} methods`,
    );
  });

  it("prints every number as Python printed it", () => {
    const { el } = render(done);
    for (const method of done.methods) {
      const fields = Object.fromEntries(
        [...card(el, method.name).querySelectorAll("td[data-field]")].map((td) => [
          td.dataset.field,
          td.textContent,
        ]),
      );
      expect(fields.deletion_area).toBe(method.deletion_area);
      expect(fields.insertion_area).toBe(method.insertion_area);
      expect(fields.gap).toBe(method.gap ?? "— (no path)");
      expect(fields.relative_gap).toBe(method.relative_gap ?? "—");
      expect(fields.sanity).toBe(method.sanity);
      expect(card(el, method.name).dataset.sanity).toBe(method.sanity_passed ? "passes" : "fails");
    }
  });

  it("draws each method's map from the payload with the kernel's palette", () => {
    const { el } = render(done);
    const lut = paletteLuts(fixture.palette).diverging;
    for (const method of done.methods) {
      const canvas = card(el, method.name).querySelector("canvas");
      const map = decodeArray(method.map);
      const [height, width] = map.shape;
      expect([canvas.width, canvas.height]).toEqual([width, height]);
      expect(canvas.pixels).toEqual(Array.from(signedPixels(map.values, 0, width * height, lut)));
    }
  });

  it("marks the methods still computing and fills them in as the kernel sends them", () => {
    const { el, model } = render(partial);
    expect(el.querySelector(".igw-cmp-status").textContent).toBe(
      `computing… 2 of ${partial.names.length} methods done`,
    );
    const pending = [...el.querySelectorAll(".igw-cmp-card[data-pending=true]")].map((c) => c.dataset.method);
    expect(pending).toEqual(partial.names.slice(2));
    model.update("result", done);
    expect(el.querySelectorAll(".igw-cmp-card[data-pending=true]")).toHaveLength(0);
  });

  it("sets the target's label as text, never markup", () => {
    const { el } = render(done);
    expect(el.querySelector(".igw-cmp-title").textContent).toBe(`Target: ${done.target_label}`);
    expect(el.querySelector(".igw-cmp-title b")).toBeNull();
    const options = [...targetMenu(el).options].map((option) => option.textContent);
    expect(options).toEqual(fixture.labels); // "cat <b>" and an <img> label stay text
    expect(el.querySelector(".igw-cmp-header select img, .igw-cmp-header select b")).toBeNull();
  });

  it("the Target menu shows the kernel's target and sends the one chosen, as an index", () => {
    const { el, model } = render(done);
    const menu = targetMenu(el);
    expect(menu.value).toBe(String(fixture.target));
    expect(el.querySelector(".igw-cmp-header label").textContent).toBe("Target");
    menu.value = "3";
    menu.dispatchEvent(new Event("change"));
    expect(model.saved.at(-1)).toEqual({ target: 3 });
    model.update("target", 0); // set in Python: the menu follows
    expect(menu.value).toBe("0");
  });

  it("a target the kernel refuses snaps back with the kernel's reason", () => {
    const { el, model } = render(done);
    const menu = targetMenu(el);
    menu.value = "2";
    menu.dispatchEvent(new Event("change"));
    model.state.target = fixture.target; // the kernel's value came back
    model.message({ type: "refused", names: ["target"], message: "target=2 is not a class index" });
    expect(menu.value).toBe(String(fixture.target));
    const note = el.querySelector(".igw-cmp-header .igw-control-note");
    expect([note.hidden, note.textContent]).toEqual([false, "target=2 is not a class index"]);
  });

  it("on a saved page, the menu is disabled and cards never computed say so", () => {
    const note = "Static page: this needs a running kernel";
    const page = { note, keys: ["target"], requests: [{ target: fixture.target }] };
    const { el } = render(partial, { _static_page: page });
    const menu = targetMenu(el);
    expect(menu.disabled).toBe(true);
    expect(el.querySelector(".igw-cmp-header .igw-control").title).toBe(note);
    const pending = [...el.querySelectorAll(".igw-cmp-card[data-pending=true] .igw-cmp-pending")];
    expect(pending).toHaveLength(partial.names.length - 2);
    for (const card of pending) expect(card.textContent).toBe("not computed when this page was saved");
    expect(el.querySelector(".igw-cmp-status").textContent).toBe(
      `2 of ${partial.names.length} methods: saved while the kernel was still computing`,
    );
  });

  it("shows the kernel's error", () => {
    const { el } = render({ ...partial, computing: false, error: "RuntimeError: out of <b>luck</b>" });
    expect(el.querySelector(".igw-cmp-status").textContent).toBe("failed: RuntimeError: out of <b>luck</b>");
    expect(el.querySelector(".igw-cmp-status b")).toBeNull();
  });

  it("reads only the keys schema.py defines, and every required one", () => {
    const { proxy, read } = recordingPayload(done);
    render(proxy);
    const { required, optional } = contract.payloads.comparison;
    for (const key of read) expect(Object.keys({ ...required, ...optional })).toContain(key);
    const method = contract.named.compared_method;
    for (const key of Object.keys(done.methods[0])) expect(Object.keys(method)).toContain(key);
  });

  it("stops listening when removed", () => {
    const { model, cleanup } = render(done);
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });
});
