// resizeImage against Pillow 9.4.0 byte for byte (reference/resize-reference.json, made by reference/resize-reference.py
// with Debian's python3-pil): tiny images through LANCZOS, BILINEAR and BICUBIC, up and down, one axis only, odd sizes,
// 1-pixel images, a checkerboard whose edges overshoot 0 and 255, and the same-size no-op.

import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { bicubicFilter, bilinearFilter, filtersByPillowCode, ImageError, lanczosFilter, resizeImage, rgbImage, type RgbImage } from "../src/index.ts";

interface ResizeReference {
  pillow: string;
  inputs: Record<string, { width: number; height: number; pixels: string }>;
  cases: { input: string; resample: number; width: number; height: number; pixels: string }[];
}

const reference = JSON.parse(readFileSync(new URL("../reference/resize-reference.json", import.meta.url), "utf8")) as ResizeReference;
const bytes = (base64: string) => new Uint8Array(Buffer.from(base64, "base64"));
const input = (name: string): RgbImage => {
  const { width, height, pixels } = reference.inputs[name];
  return rgbImage(width, height, bytes(pixels), name);
};
const filterName = (code: number) => filtersByPillowCode.get(code)!.name;

/** The first differing byte, as text (pixel and channel), or "" when equal. */
function firstDifference(actual: Uint8Array, expected: Uint8Array, width: number): string {
  if (actual.length !== expected.length) return `${actual.length} bytes, expected ${expected.length}`;
  const index = actual.findIndex((value, at) => value !== expected[at]);
  if (index < 0) return "";
  const pixel = Math.floor(index / 3);
  return `pixel (${pixel % width}, ${Math.floor(pixel / width)}) channel ${"RGB"[index % 3]}: ${actual[index]}, Pillow ${expected[index]}`;
}

describe("resizeImage vs Pillow 9.4.0 (reference/resize-reference.json)", () => {
  it("the fixture is Pillow 9.4.0's, with every filter", () => {
    expect(reference.pillow).toBe("9.4.0");
    expect(new Set(reference.cases.map((entry) => entry.resample))).toEqual(new Set([1, 2, 3]));
    expect(reference.cases.length).toBe(48);
  });

  it.each(reference.cases.map((entry) => [`${filterName(entry.resample)} ${entry.input} → ${entry.width}×${entry.height}`, entry] as const))(
    "%s: every byte equal",
    (_, entry) => {
      const resized = resizeImage(input(entry.input), entry.width, entry.height, filtersByPillowCode.get(entry.resample));
      expect([resized.width, resized.height]).toEqual([entry.width, entry.height]);
      expect(firstDifference(resized.pixels, bytes(entry.pixels), entry.width)).toBe("");
    },
  );

  it("LANCZOS is the default filter", () => {
    for (const entry of reference.cases.filter((item) => item.resample === 1)) {
      const resized = resizeImage(input(entry.input), entry.width, entry.height);
      expect(firstDifference(resized.pixels, bytes(entry.pixels), entry.width)).toBe("");
    }
  });

  it("Pillow's resample codes: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, no other", () => {
    expect([...filtersByPillowCode.entries()]).toEqual([[1, lanczosFilter], [2, bilinearFilter], [3, bicubicFilter]]);
    expect([lanczosFilter, bilinearFilter, bicubicFilter].map((filter) => [filter.name, filter.support])).toEqual([["lanczos", 3], ["bilinear", 1], ["bicubic", 2]]);
  });

  it("the checkerboard's overshoot is clamped at both ends (the fixture reaches 0 and 255)", () => {
    for (const code of [1, 3]) {
      const entry = reference.cases.find((item) => item.input === "checker13x9" && item.width === 20 && item.resample === code)!;
      const resized = resizeImage(input("checker13x9"), 20, 14, filtersByPillowCode.get(code));
      const counts = (pixels: Uint8Array, level: number) => pixels.filter((value) => value === level).length;
      const expected = bytes(entry.pixels);
      expect(counts(expected, 0)).toBeGreaterThan(0);
      expect(counts(expected, 255)).toBeGreaterThan(0);
      expect([counts(resized.pixels, 0), counts(resized.pixels, 255)]).toEqual([counts(expected, 0), counts(expected, 255)]);
    }
  });

  it("a sum exactly at 256 levels is clamped to 255 (the edge4x1 fixture, BICUBIC, output pixel 4)", () => {
    const entry = reference.cases.find((item) => item.input === "edge4x1" && item.resample === 3)!;
    expect(bytes(entry.pixels)[12]).toBe(255);
    const resized = resizeImage(input("edge4x1"), 8, 1, bicubicFilter);
    expect([...resized.pixels.subarray(12, 15)]).toEqual([...bytes(entry.pixels).subarray(12, 15)]);
  });

  it("the same size returns the image itself; a new size leaves the input untouched", () => {
    const image = input("noise13x9");
    const before = image.pixels.slice();
    expect(resizeImage(image, 13, 9)).toBe(image);
    resizeImage(image, 5, 4);
    resizeImage(image, 13, 4);
    expect(image.pixels).toEqual(before);
  });

  it("refuses a target size below 1 or not whole, naming it", () => {
    const image = input("noise7x5");
    expect(() => resizeImage(image, 0, 3)).toThrow(ImageError);
    expect(() => resizeImage(image, 0, 3)).toThrow("resize target: expected a width and height ≥ 1, got 0×3");
    expect(() => resizeImage(image, 3, -1)).toThrow("resize target: expected a width and height ≥ 1, got 3×-1");
    expect(() => resizeImage(image, 2.5, 3)).toThrow("resize target: expected a width and height ≥ 1, got 2.5×3");
  });
});

describe("filter weights (Pillow's filters in libImaging/Resample.c)", () => {
  it("LANCZOS: sinc(x)·sinc(x/3) on [−3, 3), 1 at 0, 0 outside", () => {
    const sinc = (x: number) => Math.sin(Math.PI * x) / (Math.PI * x);
    expect(lanczosFilter.weight(0)).toBe(1);
    for (const x of [0.25, -0.5, 1.3, -2.2, 2.9, -2.99]) expect(lanczosFilter.weight(x)).toBeCloseTo(sinc(x) * sinc(x / 3), 12);
    expect(lanczosFilter.weight(0.5)).toBeCloseTo(0.6079271, 6);
    expect(lanczosFilter.weight(1.5)).toBeCloseTo(-0.1350949, 6);
    for (const x of [3, 3.5, -3.2, -3.5, 10]) expect(lanczosFilter.weight(x)).toBe(0);
    // [−3, 3) as Pillow has it: −3 is inside (a weight of about 1e−33), 3 is not.
    expect(lanczosFilter.weight(-3)).toBe(sinc(-3) * sinc(-1));
  });

  it("BICUBIC: Keys' cubic with a = −0.5", () => {
    expect(bicubicFilter.weight(0)).toBe(1);
    expect(bicubicFilter.weight(0.5)).toBe(0.5625);
    expect(bicubicFilter.weight(-0.5)).toBe(0.5625);
    expect(Math.abs(bicubicFilter.weight(1))).toBe(0);
    expect(bicubicFilter.weight(1.5)).toBe(-0.0625);
    expect(bicubicFilter.weight(-1.5)).toBe(-0.0625);
    expect(bicubicFilter.weight(0.25)).toBeCloseTo(0.8671875, 12);
    expect(bicubicFilter.weight(1.25)).toBeCloseTo(-0.0703125, 12);
    for (const x of [2, -2, 2.5, 7]) expect(bicubicFilter.weight(x)).toBe(0);
  });

  it("BILINEAR: the triangle 1 − |x| on (−1, 1)", () => {
    expect([0, 0.25, -0.25, 0.75, -0.75, 1, -1, 1.5].map((x) => bilinearFilter.weight(x))).toEqual([1, 0.75, 0.75, 0.25, 0.25, 0, 0, 0]);
  });
});
