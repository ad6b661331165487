// The colour scale legend: the palette of the current sign mode with the values at its ends.

import { LUT_SIZE, lutFor } from "./colormaps.js";
import { formatNumber } from "./chart.js";
import { drawPixels } from "./heatmap.js";

/** Build the legend; returns {root, update(clip, sign)}. */
export function createLegend() {
  const root = document.createElement("div");
  root.className = "igw-legend";
  const ramp = document.createElement("canvas");
  ramp.className = "igw-ramp";
  ramp.setAttribute("aria-hidden", "true");
  const labels = document.createElement("div");
  labels.className = "igw-legend-labels";
  root.append(ramp, labels);
  return {
    root,
    update(clip, sign) {
      const lut = lutFor(sign);
      const rgba = new Uint8ClampedArray(LUT_SIZE * 4);
      for (let i = 0; i < LUT_SIZE; i++) rgba.set([lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2], 255], i * 4);
      drawPixels(ramp, rgba, LUT_SIZE, 1);
      const ends = sign === "both" ? [-clip, 0, clip] : [0, clip / 2, clip];
      const names = {
        positive: "positive",
        negative: "negative (magnitude)",
        absolute: "|attribution|",
        both: "attribution",
      };
      labels.replaceChildren(
        ...ends.map((value) => {
          const label = document.createElement("span");
          label.textContent = formatNumber(value);
          return label;
        }),
      );
      root.setAttribute(
        "aria-label",
        `Colour scale for ${names[sign]}, from ${formatNumber(ends[0])} to ${formatNumber(ends[2])} (clipped)`,
      );
      root.setAttribute("role", "img");
    },
  };
}
