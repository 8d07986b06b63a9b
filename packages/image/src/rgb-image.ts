// RgbImage: 8-bit RGB pixels in row-major order, three bytes per pixel (height × width × 3, "HWC"), the form every
// step of the processor works on until the pixels are rescaled and normalized into floats.

import { ImageError } from "./image-error.ts";

/** 8-bit RGB pixels, row-major, 3 bytes per pixel. */
export interface RgbImage {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** [height, width, 3] RGB bytes. */
  readonly pixels: Uint8Array;
}

/** Checks that width and height are whole numbers ≥ 1 (ImageError naming `source` otherwise). */
export function checkImageSize(width: number, height: number, source: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError(source, `expected a width and height ≥ 1, got ${width}×${height}`);
  }
}

/** Checks that `pixels` holds width × height × 3 bytes; returns the image. */
export function rgbImage(width: number, height: number, pixels: Uint8Array, source = "image"): RgbImage {
  checkImageSize(width, height, source);
  if (pixels.length !== width * height * 3) {
    throw new ImageError(source, `expected ${width}×${height}×3 = ${width * height * 3} RGB bytes, got ${pixels.length}`);
  }
  return { width, height, pixels };
}

/** The rectangle [left, left + width) × [top, top + height) of `image` as a new image. */
export function cropImage(image: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  if (left < 0 || top < 0 || width < 1 || height < 1 || left + width > image.width || top + height > image.height) {
    throw new RangeError(`cropImage: ${width}×${height} at (${left}, ${top}) lies outside the ${image.width}×${image.height} image`);
  }
  const pixels = new Uint8Array(width * height * 3); // [height, width, 3]
  for (let row = 0; row < height; row++) {
    const from = ((top + row) * image.width + left) * 3;
    pixels.set(image.pixels.subarray(from, from + width * 3), row * width * 3);
  }
  return { width, height, pixels };
}
