// Decoding the image widget's `result` payload (ig_widget/widgets/image.py) once per result.
//
// The attribution map (and the trace maps) may be coarser than the model's input: `map_height` x
// `map_width` cells (absent: the image's size), each the SUM over a block of `cell` = [cell_h, cell_w]
// input pixels of a `source_height` x `source_width` input (absent: the image's size). The drawn image
// is either the input itself (then a map cell covers a block of its pixels) or already on the map's grid
// (its pixels are block means). The view stretches the map over the image and points at cells.

import { decodeArray, decodeBytes, decodeExplanation } from "../decode.js";

/** Everything the view draws from, as typed arrays; null for an empty result. */
export function decodeImageResult(payload) {
  if (payload?.kind !== "image") return null;
  const { width, height } = payload;
  const mapWidth = payload.map_width ?? width;
  const mapHeight = payload.map_height ?? height;
  const perCell = [Math.ceil(height / mapHeight), Math.ceil(width / mapWidth)]; // image pixels per map cell
  const explanation = decodeExplanation(payload);
  return {
    ...explanation,
    // a coarse preview's completeness says so (the badge names it; `preview` is {final_steps})
    completeness: payload.preview
      ? { ...explanation.completeness, preview: payload.preview }
      : explanation.completeness,
    preview: payload.preview ?? null,
    width,
    height,
    count: width * height,
    mapWidth,
    mapHeight,
    cells: mapWidth * mapHeight,
    perCell,
    cell: payload.cell ?? perCell,
    sourceWidth: payload.source_width ?? width,
    sourceHeight: payload.source_height ?? height,
    channels: payload.channels,
    image: decodeBytes(payload.image),
    baseline: decodeBytes(payload.baseline_image),
    input: payload.input ? decodeArray(payload.input).values : null,
    inputError: payload.input_error ?? null,
    pathImages: payload.path_images ? decodeBytes(payload.path_images) : null, // [steps, H, W, 3] of a curved path
    pathLabel: payload.path_label ?? "",
    inputScale: payload.input_scale,
    inputOffset: payload.input_offset,
  };
}

/** The map cell under image pixel (x, y): its index, and the block of input pixels it sums (x0 <= x < x1). */
export function cellAt(result, x, y) {
  const column = Math.min(result.mapWidth - 1, Math.floor(x / result.perCell[1]));
  const row = Math.min(result.mapHeight - 1, Math.floor(y / result.perCell[0]));
  const [cellH, cellW] = result.cell;
  return {
    column,
    row,
    index: row * result.mapWidth + column,
    x0: column * cellW,
    y0: row * cellH,
    x1: Math.min(result.sourceWidth, (column + 1) * cellW),
    y1: Math.min(result.sourceHeight, (row + 1) * cellH),
  };
}

/** The image pixels the map cell under image pixel (x, y) covers (what the probe outlines). */
export function cellBlock(result, x, y) {
  const [perH, perW] = result.perCell;
  const { column, row } = cellAt(result, x, y);
  return {
    x0: column * perW,
    y0: row * perH,
    x1: Math.min(result.width, (column + 1) * perW),
    y1: Math.min(result.height, (row + 1) * perH),
  };
}

/** Map values (one per cell) repeated over the image pixels of each cell: what blends with the image. */
export function valuesPerPixel(result, values) {
  if (result.cells === result.count) return values;
  const out = new values.constructor(result.count);
  const [cellH, cellW] = result.perCell;
  for (let y = 0; y < result.height; y++) {
    const row = Math.min(result.mapHeight - 1, Math.floor(y / cellH)) * result.mapWidth;
    for (let x = 0; x < result.width; x++)
      out[y * result.width + x] = values[row + Math.min(result.mapWidth - 1, Math.floor(x / cellW))];
  }
  return out;
}

/**
 * The model's input values at a pixel, each with the most it may miss the kernel's by: exact from the
 * float32 `input` when the payload carries it, else from the display bytes through the per-channel
 * affine map, off by `input_error` (absent: the bytes reproduce the input).
 */
export function inputValues(result, pixel) {
  const values = [];
  for (let c = 0; c < result.channels; c++) {
    if (result.input) values.push({ value: result.input[c * result.count + pixel], error: 0 });
    else
      values.push({
        value: result.inputOffset[c] + result.inputScale[c] * result.image[pixel * 3 + c],
        error: result.inputError?.[c] ?? 0,
      });
  }
  return values;
}
