// @vitest-environment jsdom
// The views against the kernel's contract (ig_widget/schema.py, written to fixtures/contract.json by
// tests/test_schema.py): the decoders read only keys the payload schemas define, on real payloads; the
// menus, the opacity and legend rules and every colour come from what the kernel sends, so changing
// them in Python changes the view with no edit here.
import { beforeEach, describe, expect, it } from "vitest";
import widget from "../src/index.js";
import { lutFor, usePalette } from "../src/colormaps.js";
import { decodeGenerationResult } from "../src/generation/result.js";
import { heatPixels } from "../src/heatmap.js";
import { decodeImageResult } from "../src/image/result.js";
import { decodeTextResult } from "../src/text/result.js";
import generationJson from "./fixtures/generation.json";
import {
  contract,
  imageFixture,
  imageResult,
  installCanvasMock,
  mockModel,
  recordingPayload,
  revive,
  schemaKeys,
  textFixture,
  textResult,
} from "./helpers.js";

const generation = revive(generationJson);
const rgbOf = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** Every key the decoder reads, with the nested objects the schema describes (completeness, trace, contrast). */
function readKeys(decode, payload) {
  const nested = {};
  const wrap = (value, where) => {
    if (!value || typeof value !== "object" || ArrayBuffer.isView(value) || Array.isArray(value))
      return value;
    const { proxy, read } = recordingPayload(value);
    nested[where] = read;
    return new Proxy(proxy, {
      get: (target, key) =>
        typeof key === "string" && !("dtype" in value) ? wrap(target[key], key) : target[key],
    });
  };
  decode(wrap(payload, ""));
  return Object.fromEntries(Object.entries(nested).map(([where, read]) => [where, [...read]]));
}

describe("payload schemas", () => {
  const cases = [
    ["image", decodeImageResult, [imageResult(), imageResult({ trace: "int8" })]],
    ["text", decodeTextResult, Object.keys(textFixture.payloads).map((name) => textResult(name))],
    ["generation", decodeGenerationResult, [generation.payload, generation.contrast_payload]],
  ];

  for (const [kind, decode, payloads] of cases) {
    it(`the ${kind} decoder reads only keys the ${kind} schema defines`, () => {
      const schema = contract.payloads[kind];
      const allowed = schemaKeys(kind);
      for (const payload of payloads) {
        expect(Object.keys(payload).every((key) => allowed.has(key))).toBe(true); // Python sends only these
        const read = readKeys(decode, payload);
        expect(read[""].filter((key) => !allowed.has(key))).toEqual([]);
        const known = (name) =>
          new Set(Object.keys(schema.required[name]?.[0] ?? schema.required[name] ?? {}));
        for (const name of ["trace", "completeness", "contrast"]) {
          if (!read[name] || !(name in schema.required)) continue;
          expect(read[name].filter((key) => !known(name).has(key) && key !== "dtype")).toEqual([]);
        }
      }
    });
  }

  it("the fixtures are the kernel's: each payload names its kind", () => {
    expect(imageResult().kind).toBe("image");
    expect(textResult().kind).toBe("text");
    expect(generation.payload.kind).toBe("generation");
    expect(generation.payload.scales).toEqual(contract.choices.scale);
    expect(generation.payload.granularities).toEqual(contract.choices.granularity);
  });
});

describe("constants the kernel sends", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });
  const options = (label) => {
    const select = [...el.querySelectorAll("select")].find((s) => s.labels[0].textContent === label);
    return [...select.options].map((o) => o.value);
  };
  const imageModel = (state = {}) =>
    mockModel({
      _view: "image",
      ...imageFixture.state,
      status: "done",
      progress: 1,
      error: "",
      result: imageResult(),
      ...state,
    });

  it("the image view's menus are the kernel's choices", () => {
    widget.render({ model: imageModel(), el });
    expect(options("Display")).toEqual(imageFixture.state.choices.display);
    expect(options("Sign")).toEqual(imageFixture.state.choices.sign);
    expect(imageFixture.state.choices.display).toEqual(contract.choices.display);
  });

  it("a choice the kernel adds appears in the menu, one it drops disappears", () => {
    const choices = {
      ...imageFixture.state.choices,
      sign: ["both", "absolute", "squared"],
      display: ["heat"],
    };
    widget.render({ model: imageModel({ choices }), el });
    expect(options("Sign")).toEqual(["both", "absolute", "squared"]);
    expect(options("Display")).toEqual(["heat"]);
  });

  it("the text view's granularities are the kernel's", () => {
    widget.render({
      model: mockModel({
        _view: "text",
        ...textFixture.state,
        status: "done",
        progress: 1,
        error: "",
        result: textResult(),
      }),
      el,
    });
    expect(options("Show")).toEqual(contract.choices.granularity);
  });

  it("opacity and the legend follow the kernel's lists of blended and palette-coloured displays", () => {
    for (const display of contract.choices.display) {
      el.replaceChildren();
      widget.render({ model: imageModel({ display }), el });
      const opacity = [...el.querySelectorAll(".igw-control")].find(
        (c) => c.querySelector("label").textContent === "Opacity",
      );
      expect(opacity.querySelector("input").disabled).toBe(
        !contract.palette.blended_displays.includes(display),
      );
      const legend = el.querySelector(".igw-legend");
      expect(legend.style.visibility).toBe(
        contract.palette.legend_displays.includes(display) ? "" : "hidden",
      );
    }
  });

  it("draws with the kernel's palette: the ends of each map are its first and last anchors", () => {
    usePalette(contract.palette);
    const rgb = (rgba, p) => Array.from(rgba.slice(p * 4, p * 4 + 3));
    expect(rgb(heatPixels([-1, 1], "both"), 0)).toEqual(rgbOf(contract.palette.diverging[0]));
    expect(rgb(heatPixels([-1, 1], "both"), 1)).toEqual(rgbOf(contract.palette.diverging.at(-1)));
    expect(rgb(heatPixels([0, 1], "absolute"), 1)).toEqual(rgbOf(contract.palette.sequential.at(-1)));
  });

  it("another palette from the kernel recolours the maps, and the chart takes its score and sum colours", () => {
    const palette = {
      ...contract.palette,
      diverging: ["#000000", "#ffffff", "#ff0000"],
      score: "#123456",
      sum: "#654321",
    };
    widget.render({ model: imageModel({ palette, display: "heat" }), el });
    expect(Array.from(lutFor("both").slice(-3))).toEqual([255, 0, 0]);
    const root = el.querySelector(".igw");
    expect(root.style.getPropertyValue("--igw-score")).toBe("#123456");
    expect(root.style.getPropertyValue("--igw-sum")).toBe("#654321");
    usePalette(contract.palette);
    expect(Array.from(lutFor("both").slice(-3))).toEqual(rgbOf(contract.palette.diverging.at(-1)));
  });

  it("the clip and steps controls take the kernel's limits", () => {
    widget.render({ model: imageModel(), el });
    const input = (label) =>
      [...el.querySelectorAll(".igw-control")]
        .find((c) => c.querySelector("label").textContent === label)
        .querySelector("input");
    expect([Number(input("Clip %").min), Number(input("Clip %").max)]).toEqual([
      contract.limits.clip.min,
      contract.limits.clip.max,
    ]);
    expect(Number(input("Steps").max)).toBe(contract.limits.steps.max);
  });
});
