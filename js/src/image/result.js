// Decoding the image widget's `result` payload (ig_widget/widgets/image.py) once per result.

import { decodeArray, decodeBytes } from "../decode.js";

/** Everything the view draws from, as typed arrays; null for an empty result. */
export function decodeImageResult(payload) {
  if (!payload || payload.kind !== "image") return null;
  const { width, height } = payload;
  const trace = payload.trace;
  return {
    width,
    height,
    count: width * height,
    channels: payload.channels,
    targetLabel: payload.target_label,
    steps: payload.steps,
    image: decodeBytes(payload.image),
    baseline: decodeBytes(payload.baseline_image),
    inputScale: payload.input_scale,
    inputOffset: payload.input_offset,
    attributions: decodeArray(payload.attributions).values,
    completeness: payload.completeness,
    alphas: decodeArray(trace.alphas).values,
    weights: decodeArray(trace.weights).values,
    scores: decodeArray(trace.scores).values,
    gradients: decodeArray(trace.gradients).values,
    cumulative: decodeArray(trace.cumulative).values,
    cumulativeTotal: decodeArray(trace.cumulative_total).values,
  };
}

/** The model's input values at a pixel, from the display bytes and the per-channel affine map. */
export function inputValues(result, pixel) {
  const values = [];
  for (let c = 0; c < result.channels; c++) {
    values.push(result.inputOffset[c] + result.inputScale[c] * result.image[pixel * 3 + c]);
  }
  return values;
}
