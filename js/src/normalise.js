// Normalising attribution maps for display: a sign mode picks which part of the map is shown, and a
// clip value (a percentile of attribution mass) sets where the colour scale saturates, so that a few
// extreme pixels do not wash out the rest.

const HISTOGRAM_BINS = 4096;

/** The value a sign mode shows: signed for "both", otherwise a magnitude >= 0. */
export function signed(value, sign) {
  if (sign === "positive") return Math.max(value, 0);
  if (sign === "negative") return value < 0 ? -value : 0;
  if (sign === "absolute") return Math.abs(value);
  return value;
}

/**
 * The magnitude at which the shown values reach `percent` of their total mass (sum of |value|),
 * counting from the smallest: the first magnitude m, in ascending order, whose running sum reaches
 * percent / 100 of the total. It is one of the values, exactly (the legend prints it). O(n): a fine
 * histogram finds the bin where the running sum crosses, and only that bin's values are sorted, so it
 * can run over every step of a trace at once. Returns a positive number, 1 for an all-zero map.
 */
export function clipValue(values, percent, sign = "both") {
  let peak = 0;
  for (let i = 0; i < values.length; i++) peak = Math.max(peak, Math.abs(signed(values[i], sign)));
  if (!(peak > 0)) return 1;
  const binOf = (magnitude) => Math.min(HISTOGRAM_BINS - 1, Math.floor((magnitude / peak) * HISTOGRAM_BINS));
  const mass = new Float64Array(HISTOGRAM_BINS);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const magnitude = Math.abs(signed(values[i], sign));
    mass[binOf(magnitude)] += magnitude;
    total += magnitude;
  }
  const wanted = (Math.min(100, Math.max(0, percent)) / 100) * total;
  let running = 0;
  let bin = 0;
  while (bin < HISTOGRAM_BINS - 1 && running + mass[bin] < wanted) running += mass[bin++];
  const inBin = [];
  for (let i = 0; i < values.length; i++) {
    const magnitude = Math.abs(signed(values[i], sign));
    if (binOf(magnitude) === bin) inBin.push(magnitude);
  }
  inBin.sort((a, b) => a - b);
  for (const magnitude of inBin) {
    running += magnitude;
    if (running >= wanted) return Math.max(magnitude, Number.MIN_VALUE);
  }
  return inBin.at(-1) ?? peak; // the running sum fell short of `wanted` by rounding only
}

/** Values of a map (or one slice: start, length) scaled by `clip` into [-1, 1] or [0, 1]. */
export function normalise(values, clip, sign, start = 0, length = values.length - start) {
  const out = new Float32Array(length);
  const low = sign === "both" ? -1 : 0;
  for (let i = 0; i < length; i++)
    out[i] = Math.max(low, Math.min(1, signed(values[start + i], sign) / clip));
  return out;
}

/** 1 for the pixels that together hold `share` of the shown mass, largest first; 0 elsewhere. */
export function massMask(values, share, sign = "both") {
  const magnitudes = Array.from(values, (v) => Math.abs(signed(v, sign)));
  const order = magnitudes.map((_, i) => i).sort((a, b) => magnitudes[b] - magnitudes[a]);
  const total = magnitudes.reduce((sum, m) => sum + m, 0);
  const mask = new Uint8Array(values.length);
  let running = 0;
  for (const i of order) {
    if (running >= share * total || magnitudes[i] === 0) break;
    mask[i] = 1;
    running += magnitudes[i];
  }
  return mask;
}
