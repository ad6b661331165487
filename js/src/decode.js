// Decoding the binary payload contract of ig_widget/encode.py:
//   {dtype, shape, scale: [per leading slice or one], offset: [...], data: bytes}
//   value = offset[i] + scale[i] * stored, i = the leading index (or 0 when there is one scale).
// The kernel sends `data` as a DataView; a notebook saved with widget state may hand us an
// ArrayBuffer or a typed array instead, so every binary form is accepted.

const READERS = {
  int8: (view, i) => view.getInt8(i),
  uint8: (view, i) => view.getUint8(i),
  float16: (view, i) => halfToFloat(view.getUint16(i * 2, true)),
  float32: (view, i) => view.getFloat32(i * 4, true),
};

/** The payload's bytes as a DataView, whatever binary form they arrived in. */
export function asDataView(data) {
  if (data instanceof DataView) return data;
  if (data instanceof ArrayBuffer) return new DataView(data);
  if (ArrayBuffer.isView(data)) return new DataView(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`payload data is ${Object.prototype.toString.call(data)}; expected binary data`);
}

/** Number of values an array of `shape` holds. */
export function sizeOf(shape) {
  return shape.reduce((product, d) => product * d, 1);
}

/**
 * The largest difference between a decoded value and the kernel's, by flat index: 0 for float32 (the
 * kernel's own float32 numbers), half a quantisation step of the value's slice for int8 and uint8,
 * half an ulp (2^-11 relative) for float16. Views print it beside values that are not exact.
 */
export function errorOf(payload) {
  if (payload.dtype === "float32") return () => 0;
  if (payload.dtype === "float16") {
    const values = decodeArray(payload).values;
    return (i) => Math.abs(values[i]) * 2 ** -11;
  }
  const sliceSize = sizeOf(payload.shape) / payload.scale.length;
  return (i) => payload.scale[Math.floor(i / sliceSize)] / 2;
}

/** Decode a payload to {shape, values: Float32Array} with scale and offset applied per slice. */
export function decodeArray(payload) {
  const read = READERS[payload.dtype];
  if (!read) throw new Error(`unknown payload dtype ${JSON.stringify(payload.dtype)}`);
  const view = asDataView(payload.data);
  const shape = payload.shape;
  const count = sizeOf(shape);
  const slices = payload.scale.length;
  const sliceSize = slices > 1 ? count / slices : count;
  const values = new Float32Array(count);
  for (let s = 0; s < slices; s++) {
    const scale = payload.scale[s];
    const offset = payload.offset[s];
    const start = s * sliceSize;
    for (let i = start; i < start + sliceSize; i++) values[i] = offset + scale * read(view, i);
  }
  return { shape, values };
}

/** Raw uint8 bytes (images), without copying when the payload already holds bytes. */
export function decodeBytes(payload) {
  if (payload.dtype !== "uint8") throw new Error(`expected a uint8 image payload, got ${payload.dtype}`);
  const view = asDataView(payload.data);
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** IEEE 754 half precision bits to a number. */
export function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** What every explanation payload holds, decoded: the target, the attributions, the completeness check
 * and the path trace (points, scores, interior gradients, attributions accumulated up to each point),
 * with the error bound of each trace value by its flat index (0 where the payload is exact). */
export function decodeExplanation(payload) {
  const trace = payload.trace;
  return {
    targetLabel: payload.target_label,
    steps: payload.steps,
    attributions: decodeArray(payload.attributions).values,
    completeness: payload.completeness,
    alphas: decodeArray(trace.alphas).values,
    weights: decodeArray(trace.weights).values,
    scores: decodeArray(trace.scores).values,
    gradients: decodeArray(trace.gradients).values,
    cumulative: decodeArray(trace.cumulative).values,
    cumulativeTotal: decodeArray(trace.cumulative_total).values,
    gradientError: errorOf(trace.gradients),
    cumulativeError: errorOf(trace.cumulative),
  };
}
