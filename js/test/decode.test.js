import { describe, expect, it } from "vitest";
import { asDataView, decodeArray, decodeBytes, halfToFloat } from "../src/decode.js";
import { float32, int8PerSlice } from "./helpers.js";

describe("decodeArray", () => {
  it("applies scale and offset per leading slice", () => {
    const bytes = new Uint8Array([0, 255, 10, 20, 0, 255]);
    const payload = {
      dtype: "uint8",
      shape: [3, 2],
      scale: [0.5, 1, 2],
      offset: [-1, 0, 10],
      data: new DataView(bytes.buffer),
    };
    expect(Array.from(decodeArray(payload).values)).toEqual([-1, 126.5, 10, 20, 10, 520]);
  });

  it("uses one scale for the whole array when only one is given", () => {
    const bytes = new Int8Array([-127, 0, 127, 5]);
    const payload = {
      dtype: "int8",
      shape: [2, 2],
      scale: [0.1],
      offset: [0],
      data: new DataView(bytes.buffer),
    };
    const values = Array.from(decodeArray(payload).values);
    [-12.7, 0, 12.7, 0.5].forEach((want, i) => expect(values[i]).toBeCloseTo(want, 5));
  });

  it("round-trips int8 per-slice quantisation within half a step per slice", () => {
    const values = [0.001, -0.002, 0.0005, 0.0, 50, -100, 25, 3];
    const decoded = decodeArray(int8PerSlice(values, [2, 4])).values;
    const steps = [0.002 / 127, 100 / 127];
    values.forEach((v, i) =>
      expect(Math.abs(decoded[i] - v)).toBeLessThanOrEqual(steps[Math.floor(i / 4)] / 2 + 1e-9),
    );
    expect(decoded[3]).toBe(0);
  });

  it("reads little-endian float32 from a DataView into the middle of a larger buffer", () => {
    const backing = new ArrayBuffer(16);
    new Float32Array(backing, 4, 2).set([1.5, -2.25]);
    const payload = { ...float32([0]), shape: [2], data: new DataView(backing, 4, 8) };
    expect(Array.from(decodeArray(payload).values)).toEqual([1.5, -2.25]);
  });

  it("accepts ArrayBuffer and typed arrays as well as DataView", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    for (const data of [bytes, bytes.buffer, new DataView(bytes.buffer)]) {
      expect(
        Array.from(decodeArray({ dtype: "uint8", shape: [3], scale: [1], offset: [0], data }).values),
      ).toEqual([1, 2, 3]);
    }
    expect(() => asDataView([1, 2])).toThrow(/binary/);
  });

  it("decodes float16", () => {
    const halves = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]);
    const payload = {
      dtype: "float16",
      shape: [5],
      scale: [1],
      offset: [0],
      data: new DataView(halves.buffer),
    };
    const values = decodeArray(payload).values;
    expect(values[0]).toBe(1);
    expect(values[1]).toBe(-2);
    expect(values[2]).toBeCloseTo(1 / 3, 3);
    expect(values[3]).toBeCloseTo(2 ** -24, 30);
    expect(values[4]).toBe(Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it("rejects unknown dtypes and non-uint8 images", () => {
    expect(() =>
      decodeArray({ dtype: "int64", shape: [1], scale: [1], offset: [0], data: new ArrayBuffer(8) }),
    ).toThrow(/int64/);
    expect(() => decodeBytes(float32([1]))).toThrow(/uint8/);
  });
});
