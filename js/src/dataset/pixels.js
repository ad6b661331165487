// Thumbnails of the gallery: a decoded page (ig_widget/widgets/dataset_payload.py) to RGBA pixels.
// Pure functions; colours come from the palette the kernel sends in `meta.palette`.

import { LUT_SIZE, buildLut } from "../colormaps.js";

/** {diverging, sequential} lookup tables from the kernel's palette anchors. */
export function paletteLuts(palette) {
  return { diverging: buildLut(palette.diverging), sequential: buildLut(palette.sequential) };
}

/** Grey (one value per pixel) or RGB (three) values in [0, 255] to RGBA. */
export function greyOrRgb(values, start, pixels, channels) {
  const rgba = new Uint8ClampedArray(pixels * 4);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = values[start + p * channels + (channels === 3 ? c : 0)];
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

/** A signed map scaled by its own max |value| (0 stays the palette's middle) to RGBA. */
export function signedPixels(values, start, pixels, lut) {
  let top = 0;
  for (let p = 0; p < pixels; p++) top = Math.max(top, Math.abs(values[start + p]));
  const rgba = new Uint8ClampedArray(pixels * 4);
  for (let p = 0; p < pixels; p++) {
    const t = top > 0 ? (values[start + p] / top + 1) / 2 : 0.5;
    const k = Math.round(t * (LUT_SIZE - 1)) * 3;
    rgba.set([lut[k], lut[k + 1], lut[k + 2], 255], p * 4);
  }
  return rgba;
}

/** A magnitude map scaled to its own max to RGBA through the sequential table. */
export function magnitudePixels(values, start, pixels, lut) {
  let top = 0;
  for (let p = 0; p < pixels; p++) top = Math.max(top, values[start + p]);
  const rgba = new Uint8ClampedArray(pixels * 4);
  for (let p = 0; p < pixels; p++) {
    const t = top > 0 ? values[start + p] / top : 0;
    const k = Math.round(t * (LUT_SIZE - 1)) * 3;
    rgba.set([lut[k], lut[k + 1], lut[k + 2], 255], p * 4);
  }
  return rgba;
}

/** A canvas of `width` x `height` pixels holding `rgba`, drawn larger by CSS (pixelated). */
export function pixelCanvas(rgba, width, height, className, label) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = className;
  if (label) {
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", label);
  }
  const context = canvas.getContext?.("2d");
  if (context) context.putImageData(new ImageData(rgba, width, height), 0, 0);
  return canvas;
}
