// Decoding the image widget's `result` payload (ig_widget/widgets/image.py) once per result.
//
// The attribution map (and the trace maps) may be coarser than the image: `map_height` x `map_width`
// cells (absent: the image's own size), each the SUM over a block of `cell` = [cell_h, cell_w] image
// pixels. The view stretches the map over the image and points at cells.

import { decodeArray, decodeBytes, decodeExplanation } from "../decode.js";

/** Everything the view draws from, as typed arrays; null for an empty result. */
export function decodeImageResult(payload) {
  if (!payload || payload.kind !== "image") return null;
  const { width, height } = payload;
  const mapWidth = payload.map_width ?? width;
  const mapHeight = payload.map_height ?? height;
  return {
    ...decodeExplanation(payload),
    width,
    height,
    count: width * height,
    mapWidth,
    mapHeight,
    cells: mapWidth * mapHeight,
    cell: payload.cell ?? [Math.ceil(height / mapHeight), Math.ceil(width / mapWidth)],
    channels: payload.channels,
    image: decodeBytes(payload.image),
    baseline: decodeBytes(payload.baseline_image),
    input: payload.input ? decodeArray(payload.input).values : null,
    inputScale: payload.input_scale,
    inputOffset: payload.input_offset,
  };
}

/** The map cell holding image pixel (x, y), and the block of pixels it covers (x0 <= x < x1). */
export function cellAt(result, x, y) {
  const [cellH, cellW] = result.cell;
  const column = Math.min(result.mapWidth - 1, Math.floor(x / cellW));
  const row = Math.min(result.mapHeight - 1, Math.floor(y / cellH));
  return {
    column, row, index: row * result.mapWidth + column,
    x0: column * cellW, y0: row * cellH,
    x1: Math.min(result.width, (column + 1) * cellW), y1: Math.min(result.height, (row + 1) * cellH),
  };
}

/** Map values (one per cell) repeated over the image pixels of each cell: what blends with the image. */
export function valuesPerPixel(result, values) {
  if (result.cells === result.count) return values;
  const out = new values.constructor(result.count);
  const [cellH, cellW] = result.cell;
  for (let y = 0; y < result.height; y++) {
    const row = Math.min(result.mapHeight - 1, Math.floor(y / cellH)) * result.mapWidth;
    for (let x = 0; x < result.width; x++) out[y * result.width + x] = values[row + Math.min(result.mapWidth - 1, Math.floor(x / cellW))];
  }
  return out;
}

/**
 * The model's input values at a pixel with the largest difference from the kernel's: exact from the
 * float32 `input` when the payload carries it, else from the display bytes through the per-channel
 * affine map (off by up to half a byte step, scale / 2).
 */
export function inputValues(result, pixel) {
  const values = [];
  for (let c = 0; c < result.channels; c++) {
    if (result.input) values.push({ value: result.input[c * result.count + pixel], error: 0 });
    else values.push({ value: result.inputOffset[c] + result.inputScale[c] * result.image[pixel * 3 + c], error: Math.abs(result.inputScale[c]) / 2 });
  }
  return values;
}
