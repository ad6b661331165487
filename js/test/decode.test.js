// The array encodings the kernel sends (ig_widget/encode.py), decoded here as Python decodes them: the
// payloads are Python's (fixtures/arrays.json, written by tests/test_schema.py with encode_array, each
// with decode_array's answer), so an encoding changed on one side fails here.
import { describe, expect, it } from "vitest";
import { asDataView, decodeArray, decodeBytes, halfToFloat } from "../src/decode.js";
import { arrayCase } from "./helpers.js";

const CASES = ["float32", "float16", "int8", "int8_per_slice", "uint8_per_slice"];

describe("decodeArray", () => {
  it.each(CASES)("reads %s as Python's decode_array does", (name) => {
    const { payload, decoded } = arrayCase(name);
    const { values, shape } = decodeArray(payload);
    expect(shape).toEqual(payload.shape);
    const want = decoded.flat();
    expect(values).toHaveLength(want.length);
    want.forEach((value, i) => expect(values[i]).toBeCloseTo(value, 6));
  });

  it("applies scale and offset per leading slice (uint8), and one scale for all when only one is given (int8)", () => {
    const perSlice = arrayCase("uint8_per_slice");
    expect(perSlice.payload.scale).toHaveLength(perSlice.payload.shape[0]);
    expect(Array.from(decodeArray(perSlice.payload).values)).toEqual(perSlice.values.flat());
    const single = arrayCase("int8");
    expect(single.payload.scale).toHaveLength(1);
    const values = Array.from(decodeArray(single.payload).values);
    single.values.flat().forEach((want, i) => expect(values[i]).toBeCloseTo(want, 5));
  });

  it("round-trips int8 per-slice quantisation within half a step of each slice", () => {
    const { payload, values } = arrayCase("int8_per_slice");
    const decoded = decodeArray(payload).values;
    const size = values[0].length;
    values
      .flat()
      .forEach((v, i) =>
        expect(Math.abs(decoded[i] - v)).toBeLessThanOrEqual(payload.scale[Math.floor(i / size)] / 2 + 1e-9),
      );
    expect(decoded[3]).toBe(0); // zero stays exactly zero
  });

  it("reads little-endian float32 from a DataView into the middle of a larger buffer", () => {
    const { payload, decoded } = arrayCase("float32");
    const bytes = new Uint8Array(payload.data.buffer, payload.data.byteOffset, payload.data.byteLength);
    const backing = new Uint8Array(bytes.length + 8);
    backing.set(bytes, 4);
    const moved = { ...payload, data: new DataView(backing.buffer, 4, bytes.length) };
    expect(Array.from(decodeArray(moved).values)).toEqual(decoded.map(Math.fround));
  });

  it("accepts ArrayBuffer and typed arrays as well as DataView", () => {
    const { payload, decoded } = arrayCase("uint8_per_slice");
    const bytes = new Uint8Array(payload.data.buffer.slice(0));
    for (const data of [bytes, bytes.buffer, new DataView(bytes.buffer)]) {
      expect(Array.from(decodeArray({ ...payload, data }).values)).toEqual(decoded.flat());
    }
    expect(() => asDataView([1, 2])).toThrow(/binary/);
  });

  it("decodes float16, its smallest subnormal and its largest value", () => {
    const { payload, values } = arrayCase("float16");
    const decoded = decodeArray(payload).values;
    expect([decoded[0], decoded[1], decoded[4]]).toEqual([1, -2, 65504]);
    expect(decoded[2]).toBeCloseTo(values[2], 3);
    expect(decoded[3]).toBe(2 ** -24);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it("rejects unknown dtypes and non-uint8 images", () => {
    const { payload } = arrayCase("float32");
    expect(() => decodeArray({ ...payload, dtype: "int64" })).toThrow(/int64/);
    expect(() => decodeBytes(payload)).toThrow(/uint8/);
  });
});
