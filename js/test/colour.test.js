import { describe, expect, it } from "vitest";
import { LUT_SIZE, buildLut, lutFor, lutIndex, usePalette } from "../src/colormaps.js";
import { contract } from "./helpers.js";

// the kernel's palette (ig_widget/schema.py, through fixtures/contract.json): the tests below hold it to
// what the views need (light middle, dark distinct ends, monotone magnitudes)
usePalette(contract.palette);
const DIVERGING = lutFor("both");
const SEQUENTIAL = lutFor("absolute");
import { clipValue, massMask, normalise, signed } from "../src/normalise.js";

const luminance = (lut, i) => 0.2126 * lut[i * 3] + 0.7152 * lut[i * 3 + 1] + 0.0722 * lut[i * 3 + 2];

describe("colour maps", () => {
  it("interpolates between anchors and hits both ends exactly", () => {
    const lut = buildLut(["#000000", "#ff8000"]);
    expect(Array.from(lut.slice(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(lut.slice(-3))).toEqual([255, 128, 0]);
    expect(lut[128 * 3]).toBeCloseTo(128, -1);
  });

  it("diverging map is light in the middle and dark at both ends, with distinct hues", () => {
    const middle = luminance(DIVERGING, 128);
    expect(middle).toBeGreaterThan(230);
    expect(luminance(DIVERGING, 0)).toBeLessThan(middle / 3);
    expect(luminance(DIVERGING, LUT_SIZE - 1)).toBeLessThan(middle / 2);
    // negative end is blue-purple, positive end is orange-brown
    expect(DIVERGING[2]).toBeGreaterThan(DIVERGING[0]);
    expect(DIVERGING[(LUT_SIZE - 1) * 3]).toBeGreaterThan(DIVERGING[(LUT_SIZE - 1) * 3 + 2]);
  });

  it("sequential map gets brighter monotonically", () => {
    for (let i = 8; i < LUT_SIZE; i += 8)
      expect(luminance(SEQUENTIAL, i)).toBeGreaterThan(luminance(SEQUENTIAL, i - 8));
  });

  it("picks the palette and index by sign mode", () => {
    expect(lutFor("both")).toBe(DIVERGING);
    expect(lutFor("absolute")).toBe(SEQUENTIAL);
    expect(lutIndex(-1, "both")).toBe(0);
    expect(lutIndex(0, "both")).toBe(128);
    expect(lutIndex(1, "both")).toBe(255);
    expect(lutIndex(0, "positive")).toBe(0);
    expect(lutIndex(2, "positive")).toBe(255);
  });
});

describe("normalisation", () => {
  it("keeps the part of a value each sign mode shows", () => {
    expect([-2, 3].map((v) => signed(v, "both"))).toEqual([-2, 3]);
    expect([-2, 3].map((v) => signed(v, "positive"))).toEqual([0, 3]);
    expect([-2, 3].map((v) => signed(v, "negative"))).toEqual([2, 0]);
    expect([-2, 3].map((v) => signed(v, "absolute"))).toEqual([2, 3]);
  });

  it("clips at the magnitude where the mass percentile is reached", () => {
    const values = [1, -1, 1, 1, 96]; // mass 100: the last 96 % sits in one value
    expect(clipValue(values, 99)).toBeCloseTo(96, 0);
    expect(clipValue(values, 100)).toBeCloseTo(96, 5);
    expect(clipValue(values, 3)).toBeLessThan(1.1);
    expect(clipValue(values, 99, "negative")).toBeCloseTo(1, 1);
    expect(clipValue([0, 0, 0], 99)).toBe(1);
  });

  it("agrees with an exact sort-based percentile on random data", () => {
    const values = Array.from({ length: 5000 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const sorted = values.map(Math.abs).sort((a, b) => a - b);
    const total = sorted.reduce((s, v) => s + v, 0);
    let running = 0;
    let exact = 0;
    for (const v of sorted) {
      running += v;
      if (running >= 0.9 * total) {
        exact = v;
        break;
      }
    }
    expect(Math.abs(clipValue(values, 90) - exact)).toBeLessThan(sorted.at(-1) / 2000);
  });

  it("normalises into [-1, 1] for both and [0, 1] for magnitudes, slices included", () => {
    expect(Array.from(normalise([-4, -1, 0, 2, 8], 4, "both"))).toEqual([-1, -0.25, 0, 0.5, 1]);
    expect(Array.from(normalise([-4, -1, 0, 2, 8], 4, "absolute"))).toEqual([1, 0.25, 0, 0.5, 1]);
    expect(Array.from(normalise([9, 9, -2, 2, 9], 2, "positive", 2, 2))).toEqual([0, 1]);
  });

  it("masks the fewest largest pixels holding the share of the mass", () => {
    expect(Array.from(massMask([5, -1, 3, 0, 1], 0.5))).toEqual([1, 0, 0, 0, 0]);
    expect(Array.from(massMask([5, -1, 3, 0, 1], 0.7))).toEqual([1, 0, 1, 0, 0]);
    expect(Array.from(massMask([5, -1, 3, 0, 1], 1, "negative"))).toEqual([0, 1, 0, 0, 0]);
  });
});
