// Test helpers: the kernel's contract and real payloads, all written by Python (tests/test_schema.py
// writes fixtures/contract.json, image.json, text.json, outputs.json and arrays.json from real explainers
// and encode_array; the generation, dataset, paths and completeness fixtures come from their own tests),
// and a mock anywidget model that carries the kernel's choices, limits and palette.

import arraysJson from "./fixtures/arrays.json";
import contractFixture from "./fixtures/contract.json";
import imageJson from "./fixtures/image.json";
import outputsJson from "./fixtures/outputs.json";
import textJson from "./fixtures/text.json";

/** A fixture with every {base64} turned back into the DataView a kernel sends. */
export function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    if (typeof value.base64 === "string") {
      const bytes = Uint8Array.from(Buffer.from(value.base64, "base64"));
      return new DataView(bytes.buffer);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

/** The contract the kernel sends (ig_widget/schema.py): choices, limits, palette, payload schemas. */
export const contract = contractFixture;
/** Real payloads and view state written by tests/test_schema.py from real explainers. */
export const imageFixture = revive(imageJson);
export const textFixture = revive(textJson);

/** An array as encode.encode_array sends it ({values, payload, decoded}: the source values, the payload
 * with its bytes as a DataView, and what Python's decode_array reads back): "float32", "float16",
 * "int8", "int8_per_slice", "uint8_per_slice". */
export function arrayCase(name) {
  const found = arraysJson[name];
  if (!found) throw new Error(`no array fixture ${name}: rerun tests/test_schema.py`);
  return revive(found);
}

/** Outputs rows as the kernel writes them (widgets/outputs.output_rows, through tests/test_schema.py),
 * by kind of score: "probability", "saturated", "log_probability", "score", "zero". */
export function outputRows(kind) {
  const rows = outputsJson[kind];
  if (!rows) throw new Error(`no outputs fixture ${kind}: rerun tests/test_schema.py`);
  return structuredClone(rows);
}

/** The image fixture's outputs rows (classes "zero", "cat <b>", "two", "three", "dog") for `indices`, in
 * that order, as the ImageExplainer sent them. */
export function imageOutputs(indices) {
  return indices.map((index) => {
    const row = imageFixture.outputs_all.find((output) => output.index === index);
    if (!row) throw new Error(`no outputs row for class ${index}: rerun tests/test_schema.py`);
    return structuredClone(row);
  });
}

/** A real ImageExplainer payload on a grid of 2 x 2 blocks (an 8 x 260 image drawn as 4 x 130 cells). */
export function gridResult() {
  return structuredClone(imageFixture.payloads.grid);
}

/** A real ImageExplainer payload on a curved path ("guided": Guided IG, with its path's images). */
export function pathResult(path) {
  const payload = imageFixture.payloads[path];
  if (!payload) throw new Error(`no image fixture on the ${path} path: rerun tests/test_schema.py`);
  return structuredClone(payload);
}

/** A real ImageExplainer payload (an 8 x 6 image, 4 Gauss-Legendre points, 5 classes): target 1 or 4;
 * `trace: "int8"` gives target 1 with its trace as the kernel sends a large image's (int8 per step). */
export function imageResult({ target = 1, width = 8, height = 6, trace = "float32" } = {}) {
  const payload = imageFixture.payloads[trace === "int8" ? "int8_trace" : String(target)];
  if (!payload || payload.width !== width || payload.height !== height) {
    throw new Error(
      `no image fixture for target ${target}, ${width} x ${height}: rerun tests/test_schema.py`,
    );
  }
  return structuredClone(payload);
}

/** A real TextExplainer payload: "0" / "1" (a classifier on "unbelievable film"), "hostile" (markup
 * tokens), "next_token" (a language model), "long" (512 tokens). */
export function textResult(name = "0") {
  const payload = textFixture.payloads[name];
  if (!payload) throw new Error(`no text fixture ${name}: rerun tests/test_schema.py`);
  return structuredClone(payload);
}

/** The keys of a payload kind's schema (required and optional), at the top level. */
export function schemaKeys(kind) {
  const { required, optional } = contract.payloads[kind];
  return new Set([...Object.keys(required), ...Object.keys(optional)]);
}

/** `payload` behind a proxy that records each top-level key read (`read`). */
export function recordingPayload(payload) {
  const read = new Set();
  const proxy = new Proxy(payload, {
    get(target, key, receiver) {
      if (typeof key === "string") read.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
  return { proxy, read };
}

/** The part of anywidget's model interface a view uses, with a record of what the view sent. */
export function mockModel(state) {
  const handlers = new Map();
  const model = {
    state: {
      limits: contract.limits,
      palette: contract.palette,
      ...state,
      choices: { ...contract.choices, ...(state.choices ?? {}) },
    },
    saved: [],
    pending: {},
    get: (name) => model.state[name],
    set(name, value) {
      model.state[name] = value;
      model.pending[name] = value;
    },
    save_changes() {
      model.saved.push(model.pending);
      model.pending = {};
    },
    on(event, handler) {
      if (!handlers.has(event)) handlers.set(event, new Set());
      handlers.get(event).add(handler);
    },
    off(event, handler) {
      handlers.get(event)?.delete(handler);
    },
    send() {},
    /** What the kernel does: change a trait and tell the view. */
    update(name, value) {
      model.state[name] = value;
      for (const handler of handlers.get(`change:${name}`) ?? []) handler();
    },
    listenerCount: () => [...handlers.values()].reduce((n, set) => n + set.size, 0),
  };
  return model;
}

/** jsdom has no canvas: a 2D context that keeps the last pixels put on each canvas. */
export function installCanvasMock() {
  globalThis.ImageData ??= class ImageData {
    constructor(data, width, height) {
      Object.assign(this, { data, width, height });
    }
  };
  HTMLCanvasElement.prototype.getContext = function getContext() {
    const canvas = this;
    return {
      putImageData(imageData) {
        canvas.pixels = Array.from(imageData.data);
      },
    };
  };
}

/** A view that follows the kernel's `model_changed`: the notice shows while it is true, and its Recompute
 * button sends one {type: "refresh"} until the kernel answers. `model` is a mockModel already rendered in
 * `el`; `expect` is vitest's. */
export function checkModelChangedNotice(model, el, expect) {
  const sent = [];
  model.send = (content) => sent.push(content);
  const notice = el.querySelector(".igw-model-changed");
  expect(notice.hidden).toBe(true);
  model.update("model_changed", true);
  expect(notice.hidden).toBe(false);
  expect(notice.textContent).toContain("The model has changed since these results were computed");
  const button = notice.querySelector("button");
  button.click();
  button.click(); // disabled until the kernel answers: one request, not two
  expect(sent).toEqual([{ type: "refresh" }]);
  model.update("model_changed", false);
  expect(notice.hidden).toBe(true);
  expect(button.disabled).toBe(false);
}
