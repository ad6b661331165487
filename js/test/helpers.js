// Test helpers: payloads built by the rules of ig_widget/encode.py, and a mock anywidget model.

/** int8 with one symmetric scale per leading slice, like encode_array(..., "int8", per_slice=True). */
export function int8PerSlice(values, shape) {
  const slices = shape[0];
  const size = values.length / slices;
  const bytes = new Int8Array(values.length);
  const scale = [];
  for (let s = 0; s < slices; s++) {
    let peak = 0;
    for (let i = s * size; i < (s + 1) * size; i++) peak = Math.max(peak, Math.abs(values[i]));
    const step = peak > 0 ? peak / 127 : 1;
    scale.push(step);
    for (let i = s * size; i < (s + 1) * size; i++) bytes[i] = Math.round(values[i] / step);
  }
  return { dtype: "int8", shape, scale, offset: scale.map(() => 0), data: new DataView(bytes.buffer) };
}

export function float32(values, shape = [values.length]) {
  const array = new Float32Array(values);
  return { dtype: "float32", shape, scale: [1], offset: [0], data: new DataView(array.buffer) };
}

export function uint8Image(bytes, height, width) {
  return { dtype: "uint8", shape: [height, width, 3], scale: [1], offset: [0], data: new DataView(Uint8Array.from(bytes).buffer) };
}

/** A small image result shaped like ImageExplainer's payload: an 8 x 6 image, 4 path points. */
export function imageResult({ target = 1, width = 8, height = 6, seed = 1 } = {}) {
  const count = width * height;
  const alphas = [0.07, 0.33, 0.67, 0.93];
  const image = Array.from({ length: count * 3 }, (_, i) => (i * 37 + seed * 11) % 256);
  const baseline = new Array(count * 3).fill(0);
  const attribution = Array.from({ length: count }, (_, p) => Math.sin(p * seed + 1) * (p % 5));
  const gradients = alphas.flatMap((a, k) => attribution.map((v, p) => v * (1 - a) + 0.01 * ((p + k) % 3)));
  const cumulative = alphas.flatMap((a) => attribution.map((v) => v * a));
  const total = attribution.reduce((s, v) => s + v, 0);
  const sums = alphas.map((a) => a * total);
  return {
    kind: "image", width, height, channels: 3, target, target_label: `class ${target}`, baseline: "black",
    rule: "gausslegendre", steps: alphas.length, output: "logit",
    image: uint8Image(image, height, width), baseline_image: uint8Image(baseline, height, width),
    input_scale: [1 / 255, 1 / 255, 1 / 255], input_offset: [0, 0, 0],
    attributions: float32(attribution, [height, width]),
    completeness: { score: 2 + total, baseline_score: 2, total: total * 0.98, gap: -total * 0.02, relative_gap: -0.02 },
    trace: {
      alphas: float32(alphas), weights: float32([0.17, 0.33, 0.33, 0.17]),
      scores: float32(alphas.map((a) => 2 + total * Math.sqrt(a))),
      gradients: int8PerSlice(gradients, [alphas.length, height, width]),
      cumulative: int8PerSlice(cumulative, [alphas.length, height, width]),
      cumulative_total: float32(sums),
    },
  };
}

/** The part of anywidget's model interface a view uses, with a record of what the view sent. */
export function mockModel(state) {
  const handlers = new Map();
  const model = {
    state: { ...state },
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
