// Colour lookup tables (256 RGB entries). Signed attributions use a diverging, colour-blind-safe
// purple-white-orange map (ColorBrewer PuOr, reversed so that positive is orange); magnitudes use a
// sequential dark-to-bright map (viridis anchors). Colour is never the only channel: hover shows numbers.

// The darkest class at each end is left out so that both ends stay visible over a dimmed image and
// on a dark theme.
const DIVERGING_ANCHORS = [
  "#542788", "#8073ac", "#b2abd2", "#d8daeb", "#f7f7f7", "#fee0b6", "#fdb863", "#e08214", "#b35806",
];
const SEQUENTIAL_ANCHORS = [
  "#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89",
  "#35b779", "#6ece58", "#b5de2b", "#fde725",
];
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
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(colours[low][c] * (1 - t) + colours[low + 1][c] * t);
  }
  return lut;
}

export const DIVERGING = buildLut(DIVERGING_ANCHORS);
export const SEQUENTIAL = buildLut(SEQUENTIAL_ANCHORS);

/** The table for a sign mode: diverging for signed values, sequential for magnitudes. */
export function lutFor(sign) {
  return sign === "both" ? DIVERGING : SEQUENTIAL;
}

/** Table index of a normalised value: [-1, 1] for "both", [0, 1] otherwise. */
export function lutIndex(normalised, sign) {
  const t = sign === "both" ? (normalised + 1) / 2 : normalised;
  return Math.max(0, Math.min(LUT_SIZE - 1, Math.round(t * (LUT_SIZE - 1))));
}
