// Turning images and normalised maps into RGBA pixels, and pixels onto a canvas. Pure functions
// except `drawPixels`; the image is RGB bytes (H x W x 3), maps are one value per pixel.

import { LUT_SIZE, lutFor, lutIndex, outlineRgb } from "./colormaps.js";
import { signed } from "./normalise.js";

/** Map values only, through the palette of the sign mode. */
export function heatPixels(normalised, sign) {
  const lut = lutFor(sign);
  const rgba = new Uint8ClampedArray(normalised.length * 4);
  for (let p = 0; p < normalised.length; p++) {
    const k = lutIndex(normalised[p], sign) * 3;
    rgba[p * 4] = lut[k];
    rgba[p * 4 + 1] = lut[k + 1];
    rgba[p * 4 + 2] = lut[k + 2];
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

const packedLuts = new Map();

/** A palette as one 32-bit RGBA word per entry, in the byte order of the pixel buffer it is written to. */
function packedLut(lut) {
  if (!packedLuts.has(lut)) {
    const rgba = new Uint8ClampedArray(LUT_SIZE * 4);
    for (let i = 0; i < LUT_SIZE; i++) rgba.set([lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2], 255], i * 4);
    packedLuts.set(lut, new Uint32Array(rgba.buffer));
  }
  return packedLuts.get(lut);
}

/**
 * Heat of one map slice (values[start .. start + count)) scaled by `clip`, in one pass: the same
 * colours as heatPixels(normalise(...)), without the intermediate array (this runs on every slider move).
 */
export function heatSlice(values, clip, sign, start, count) {
  const palette = packedLut(lutFor(sign));
  const rgba = new Uint8ClampedArray(count * 4);
  const words = new Uint32Array(rgba.buffer);
  const top = LUT_SIZE - 1;
  const both = sign === "both";
  for (let p = 0; p < count; p++) {
    let n = signed(values[start + p], sign) / clip;
    n = n > 1 ? 1 : Math.max(n, -1);
    const t = both ? (n + 1) / 2 : Math.max(n, 0);
    words[p] = palette[Math.round(t * top)];
  }
  return rgba;
}

// Under the heat the image is a pale grey ghost: its contrast cut to this share and lifted towards
// white, the background the diverging palette is drawn for (its middle is near-white). Over a dimmed
// image (the earlier 0.55 brightness) orange and purple mixed with dark grey into brown mud.
const GHOST_CONTRAST = 0.45;

/** The image as a pale ghost with the heat laid over it; each pixel's heat weighs opacity x |value|. */
export function overlayPixels(image, normalised, sign, opacity) {
  const heat = heatPixels(normalised, sign);
  const rgba = new Uint8ClampedArray(normalised.length * 4);
  for (let p = 0; p < normalised.length; p++) {
    const weight = opacity * Math.min(1, Math.abs(normalised[p]));
    const grey = (image[p * 3] + image[p * 3 + 1] + image[p * 3 + 2]) / 3;
    const ghost = 255 - (255 - grey) * GHOST_CONTRAST;
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = ghost * (1 - weight) + heat[p * 4 + c] * weight;
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

/** The image kept in proportion to |attribution|: unimportant pixels fade to black. */
export function maskedPixels(image, normalised) {
  const rgba = new Uint8ClampedArray(normalised.length * 4);
  for (let p = 0; p < normalised.length; p++) {
    const keep = Math.min(1, Math.abs(normalised[p]));
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = image[p * 3 + c] * keep;
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

/**
 * The image with the border of a mask (1 inside, 0 outside) drawn as a line `thickness` pixels wide
 * inside the region, in the palette's outline colour (it reads on dark and light pixels alike).
 */
export function outlinePixels(image, mask, width, height, thickness = 2) {
  const rgba = imagePixels(image, width * height);
  const colour = outlineRgb();
  const outside = (x, y) => x < 0 || y < 0 || x >= width || y >= height || !mask[y * width + x];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      let border = false;
      for (let d = 1; d <= thickness && !border; d++) {
        border = outside(x - d, y) || outside(x + d, y) || outside(x, y - d) || outside(x, y + d);
      }
      if (border) rgba.set(colour, (y * width + x) * 4);
    }
  }
  return rgba;
}

/**
 * Every pixel of an image (`channels` values per pixel) repeated as a `factor` x `factor` block:
 * lets outlines be drawn as thin lines between the pixels of a small image.
 */
export function upscale(values, width, height, factor, channels = 1) {
  if (factor === 1) return values;
  const out = new values.constructor(width * height * factor * factor * channels);
  const outWidth = width * factor;
  for (let y = 0; y < height * factor; y++) {
    for (let x = 0; x < outWidth; x++) {
      const from = (Math.floor(y / factor) * width + Math.floor(x / factor)) * channels;
      for (let c = 0; c < channels; c++) out[(y * outWidth + x) * channels + c] = values[from + c];
    }
  }
  return out;
}

/** RGB bytes as opaque RGBA. */
export function imagePixels(image, count) {
  const rgba = new Uint8ClampedArray(count * 4);
  for (let p = 0; p < count; p++) {
    rgba[p * 4] = image[p * 3];
    rgba[p * 4 + 1] = image[p * 3 + 1];
    rgba[p * 4 + 2] = image[p * 3 + 2];
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

/** The scaled input x' + alpha (x - x'), blended in display space (exact: the display map is affine). */
export function blendPixels(baseline, image, alpha, count) {
  const rgba = new Uint8ClampedArray(count * 4);
  for (let p = 0; p < count; p++) {
    for (let c = 0; c < 3; c++)
      rgba[p * 4 + c] = baseline[p * 3 + c] + alpha * (image[p * 3 + c] - baseline[p * 3 + c]);
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

/** Put RGBA pixels on a canvas whose size is the map's size (CSS scales it for display). */
export function drawPixels(canvas, rgba, width, height) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const context = canvas.getContext("2d");
  if (!context) return;
  context.putImageData(new ImageData(rgba, width, height), 0, 0);
}
