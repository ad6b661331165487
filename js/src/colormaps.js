// Colour lookup tables (256 RGB entries) built from the kernel's palette (the `palette` trait, defined
// once in ig_widget/schema.py: a diverging, colour-blind-safe purple-white-orange map for signed
// attributions, a sequential dark-to-bright one for magnitudes). No colour is written here: a view calls
// usePalette(model.get("palette")) before it draws. Colour is never the only channel: hover shows numbers.

export const LUT_SIZE = 256;

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** A LUT_SIZE x 3 table interpolated linearly between evenly spaced anchor colours. */
export function buildLut(anchors) {
  const colours = anchors.map(hexToRgb);
  const lut = new Uint8ClampedArray(LUT_SIZE * 3);
  for (let i = 0; i < LUT_SIZE; i++) {
    const position = (i / (LUT_SIZE - 1)) * (colours.length - 1);
    const low = Math.min(Math.floor(position), colours.length - 2);
    const t = position - low;
    for (let c = 0; c < 3; c++)
      lut[i * 3 + c] = Math.round(colours[low][c] * (1 - t) + colours[low + 1][c] * t);
  }
  return lut;
}

let luts = null; // {key, diverging, sequential, outline}: the tables and outline colour of the palette in use

/** Use the kernel's palette ({diverging: [hex...], sequential: [hex...], outline: hex}); the tables are
 * rebuilt only when it changes. Every view of the bundle shares them (one palette per kernel). */
export function usePalette(palette) {
  if (!palette?.diverging || !palette?.sequential) return;
  const key = JSON.stringify([palette.diverging, palette.sequential, palette.outline]);
  if (luts?.key === key) return;
  luts = {
    key,
    diverging: buildLut(palette.diverging),
    sequential: buildLut(palette.sequential),
    outline: palette.outline ? hexToRgb(palette.outline) : null,
  };
}

/** [r, g, b] of the palette's outline colour (the edge of the most attributed region). */
export function outlineRgb() {
  if (!luts?.outline) throw new Error("ig-widget: no outline colour yet (the kernel sends it in `palette`)");
  return luts.outline;
}

/** The table for a sign mode: diverging for signed values, sequential for magnitudes. */
export function lutFor(sign) {
  if (!luts) throw new Error("ig-widget: no palette yet (the kernel sends it in the `palette` trait)");
  return sign === "both" ? luts.diverging : luts.sequential;
}

/** Table index of a normalised value: [-1, 1] for "both", [0, 1] otherwise. */
export function lutIndex(normalised, sign) {
  const t = sign === "both" ? (normalised + 1) / 2 : normalised;
  return Math.max(0, Math.min(LUT_SIZE - 1, Math.round(t * (LUT_SIZE - 1))));
}
