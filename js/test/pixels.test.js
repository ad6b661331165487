import { describe, expect, it } from "vitest";
import {
  blendPixels,
  heatPixels,
  heatSlice,
  upscale,
  maskedPixels,
  outlinePixels,
  overlayPixels,
} from "../src/heatmap.js";
import { lutFor, usePalette } from "../src/colormaps.js";
import { contract } from "./helpers.js";

// the kernel's palette (ig_widget/schema.py, through fixtures/contract.json)
usePalette(contract.palette);
const DIVERGING = lutFor("both");
const SEQUENTIAL = lutFor("absolute");
import { gapLevel } from "../src/badge.js";
import { pathSeries } from "../src/chart.js";
import { nearestIndex } from "../src/slider.js";
import { normalise } from "../src/normalise.js";

const rgb = (rgba, p) => Array.from(rgba.slice(p * 4, p * 4 + 3));

describe("pixels", () => {
  const image = [200, 100, 0, 10, 20, 30];
  const baseline = [0, 0, 0, 110, 120, 130];

  it("blends the scaled input from baseline (alpha 0) to image (alpha 1)", () => {
    expect(rgb(blendPixels(baseline, image, 0, 2), 1)).toEqual([110, 120, 130]);
    expect(rgb(blendPixels(baseline, image, 1, 2), 0)).toEqual([200, 100, 0]);
    expect(rgb(blendPixels(baseline, image, 0.5, 2), 1)).toEqual([60, 70, 80]);
  });

  it("colours heat through the palette of the sign mode", () => {
    expect(rgb(heatPixels([-1, 1], "both"), 0)).toEqual(Array.from(DIVERGING.slice(0, 3)));
    expect(rgb(heatPixels([-1, 1], "both"), 1)).toEqual(Array.from(DIVERGING.slice(-3)));
    expect(rgb(heatPixels([0, 1], "absolute"), 1)).toEqual(Array.from(SEQUENTIAL.slice(-3)));
  });

  it("paints a slice in one pass exactly as heatPixels(normalise(...)) does", () => {
    const values = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i) * 3);
    for (const sign of ["both", "positive", "negative", "absolute"]) {
      expect(Array.from(heatSlice(values, 2, sign, 20, 30))).toEqual(
        Array.from(heatPixels(normalise(values, 2, sign, 20, 30), sign)),
      );
    }
  });

  it("overlays heat in proportion to opacity and |value|, over a pale ghost of the image", () => {
    const none = overlayPixels(image, [1, 0], "both", 0);
    const ghost = 255 - (255 - 100) * 0.45; // mean 100, its contrast cut and lifted towards white
    expect(rgb(none, 0).map(Math.round)).toEqual([ghost, ghost, ghost].map(Math.round));
    const full = overlayPixels(image, [1, 0], "both", 1);
    expect(rgb(full, 0)).toEqual(Array.from(DIVERGING.slice(-3)));
    expect(rgb(full, 1)).toEqual(rgb(none, 1));
  });

  it("lays colours on a pale ground: no pixel darker than mid grey where the heat is faint (no brown mud)", () => {
    const black = new Array(3 * 3).fill(0);
    const faint = overlayPixels(black, [0, 0.1, -0.1], "both", 0.6);
    for (let p = 0; p < 3; p++) for (const channel of rgb(faint, p)) expect(channel).toBeGreaterThan(128);
    const strong = overlayPixels(black, [1, -1, 0], "both", 0.6); // the palette's hue wins at full value
    const [r, _g, b] = rgb(strong, 0);
    expect(r - b).toBeGreaterThan(80);
    expect(r).toBeGreaterThan(150);
  });

  it("masks the image by |attribution| and outlines the border of a region", () => {
    expect(rgb(maskedPixels(image, [0.5, -1]), 0)).toEqual([100, 50, 0]);
    expect(rgb(maskedPixels(image, [0.5, -1]), 1)).toEqual([10, 20, 30]);
    const grey = new Array(25 * 3).fill(50);
    const mask = new Uint8Array(25);
    for (const p of [6, 7, 8, 11, 12, 13, 16, 17, 18]) mask[p] = 1; // a 3 x 3 block in a 5 x 5 image
    const thin = outlinePixels(grey, mask, 5, 5, 1);
    const outline = contract.palette.outline.match(/[0-9a-f]{2}/gi).map((byte) => parseInt(byte, 16));
    expect(rgb(thin, 6)).toEqual(outline); // border of the block, in the kernel's outline colour
    expect(rgb(thin, 12)).toEqual([50, 50, 50]); // inside
    expect(rgb(thin, 0)).toEqual([50, 50, 50]); // outside
    expect(rgb(outlinePixels(grey, mask, 5, 5, 2), 12)).toEqual(rgb(thin, 6)); // two pixels wide reaches the centre
  });
});

describe("path helpers", () => {
  it("snaps to the nearest recorded alpha (Gauss-Legendre points bunch at the ends)", () => {
    const alphas = [0.02, 0.1, 0.5, 0.9, 0.98];
    expect(nearestIndex(alphas, 0)).toBe(0);
    expect(nearestIndex(alphas, 0.31)).toBe(2);
    expect(nearestIndex(alphas, 0.95)).toBe(4);
  });

  it("builds the chart series from the trace with exact ends", () => {
    const series = pathSeries({
      alphas: [0.25, 0.75],
      scores: [3, 4],
      cumulativeTotal: [0.5, 1.8],
      score: 5,
      baselineScore: 2,
    });
    expect(series.change).toEqual([
      [0, 0],
      [0.25, 1],
      [0.75, 2],
      [1, 3],
    ]);
    expect(series.accumulated).toEqual([
      [0, 0],
      [0.25, 0.5],
      [0.75, 1.8],
    ]);
    expect(series.goal).toBe(3);
  });

  it("grades the completeness gap at 1 % and 5 %", () => {
    expect(gapLevel(0.009).level).toBe("good");
    expect(gapLevel(-0.03).level).toBe("fair");
    expect(gapLevel(0.2).level).toBe("poor");
    // the badge prints "<word>: gap 20.00%", so no level's word may be "gap" itself
    expect([0.009, 0.03, 0.2].map((gap) => gapLevel(gap).word)).toEqual(["complete", "close", "incomplete"]);
  });
});

describe("upscale", () => {
  it("repeats each pixel as a block, channels kept together", () => {
    expect(Array.from(upscale(Uint8Array.from([1, 2]), 2, 1, 2))).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
    expect(Array.from(upscale(Uint8Array.from([1, 2, 3]), 1, 1, 2, 3))).toEqual([
      1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3,
    ]);
  });
});
