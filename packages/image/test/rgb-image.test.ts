// RgbImage's checks and cropImage: every bound of the rectangle, the messages, and the cropped bytes taken by
// coordinates (pixel (x, y) of the crop is pixel (left + x, top + y) of the image).

import { describe, expect, it } from "vitest";

import { cropImage, ImageError, rgbImage } from "../src/index.ts";

/** A width × height image whose pixel (x, y) is [x, y, 100 + x + 10 y]. */
function numbered(width: number, height: number) {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.set([x, y, 100 + x + 10 * y], (y * width + x) * 3);
  return rgbImage(width, height, pixels);
}

describe("rgbImage", () => {
  it("keeps width, height and the very bytes", () => {
    const pixels = new Uint8Array(2 * 3 * 3);
    const image = rgbImage(2, 3, pixels, "x");
    expect(image).toEqual({ width: 2, height: 3, pixels });
    expect(image.pixels).toBe(pixels);
    expect(rgbImage(1, 1, new Uint8Array(3)).width).toBe(1);
  });

  it("refuses a width or height that is not a whole number ≥ 1, naming the image (default \"image\")", () => {
    const cases: [number, number, string][] = [[0, 2, "0×2"], [2, 0, "2×0"], [-1, 2, "-1×2"], [2, -3, "2×-3"], [1.5, 2, "1.5×2"], [2, 2.5, "2×2.5"], [Number.NaN, 2, "NaN×2"]];
    for (const [width, height, shown] of cases) {
      expect(() => rgbImage(width, height, new Uint8Array(12), "tile 3")).toThrow(new ImageError("tile 3", `expected a width and height ≥ 1, got ${shown}`));
      expect(() => rgbImage(width, height, new Uint8Array(12))).toThrow(`image: expected a width and height ≥ 1, got ${shown}`);
    }
  });

  it("refuses a byte count other than width × height × 3", () => {
    expect(() => rgbImage(4, 3, new Uint8Array(35), "photo")).toThrow(new ImageError("photo", "expected 4×3×3 = 36 RGB bytes, got 35"));
    expect(() => rgbImage(4, 3, new Uint8Array(37))).toThrow("image: expected 4×3×3 = 36 RGB bytes, got 37");
    expect(() => rgbImage(4, 3, new Uint8Array(12))).toThrow("image: expected 4×3×3 = 36 RGB bytes, got 12");
    expect(() => rgbImage(4, 3, new Uint8Array(4))).toThrow("image: expected 4×3×3 = 36 RGB bytes, got 4");
  });
});

describe("cropImage", () => {
  it("copies the rectangle, row by row", () => {
    const image = numbered(7, 5);
    for (const [left, top, width, height] of [[0, 0, 7, 5], [2, 1, 3, 2], [6, 4, 1, 1], [0, 3, 7, 2], [4, 0, 3, 5], [1, 2, 1, 3]]) {
      const crop = cropImage(image, left, top, width, height);
      expect([crop.width, crop.height]).toEqual([width, height]);
      const expected: number[] = [];
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) expected.push(left + x, top + y, 100 + left + x + 10 * (top + y));
      expect([...crop.pixels]).toEqual(expected);
    }
  });

  it("the crop is a copy", () => {
    const image = numbered(3, 3);
    const crop = cropImage(image, 0, 0, 3, 3);
    crop.pixels[0] = 99;
    expect(image.pixels[0]).toBe(0);
  });

  it("refuses a rectangle not inside the image, each edge on its own", () => {
    const image = numbered(7, 5);
    const cases: [number, number, number, number][] = [
      [-1, 0, 2, 2], [0, -1, 2, 2], [0, 0, 0, 2], [0, 0, 2, 0], [6, 0, 2, 1], [0, 4, 1, 2], [0, 0, 8, 5], [0, 0, 7, 6], [7, 0, 1, 1], [0, 5, 1, 1],
    ];
    for (const [left, top, width, height] of cases) {
      expect(() => cropImage(image, left, top, width, height)).toThrow(new RangeError(`cropImage: ${width}×${height} at (${left}, ${top}) lies outside the 7×5 image`));
    }
    // Touching the right and bottom edges is inside.
    expect(cropImage(image, 6, 4, 1, 1).pixels).toEqual(new Uint8Array([6, 4, 146]));
    expect(cropImage(image, 5, 3, 2, 2).width).toBe(2);
  });
});
