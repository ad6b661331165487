// Decoding the image widget's `result` payload (ig_widget/widgets/image.py) once per result.

import { decodeBytes, decodeExplanation } from "../decode.js";

/** Everything the view draws from, as typed arrays; null for an empty result. */
export function decodeImageResult(payload) {
  if (!payload || payload.kind !== "image") return null;
  const { width, height } = payload;
  return {
    ...decodeExplanation(payload),
    width,
    height,
    count: width * height,
    channels: payload.channels,
    image: decodeBytes(payload.image),
    baseline: decodeBytes(payload.baseline_image),
    inputScale: payload.input_scale,
    inputOffset: payload.input_offset,
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
