// The Idefics3 / SmolVLM image processor (transformers' Idefics3ImageProcessor.preprocess for one RGB image):
//   1. resize so the longest edge is config.longestEdge, keeping the aspect ratio (the other edge truncated, then
//      rounded up to even; at most 4096);
//   2. with splitting: resize both edges up to multiples of the tile size (aspect ratio not kept exactly), cut the
//      image into rows × cols tiles of tileSize², row by row, and add the whole image resized to tileSize² as the
//      global image, last; an image that is already one tile is not split (rows = cols = 0, the image alone);
//      without splitting: the image resized to tileSize² alone;
//   3. rescale (× 1/255) and normalize ((x − mean) / std) every tile into channel-first floats.
// Every resize is Pillow's (resize-image.ts). The transformers processor converts to RGB after resizing and this
// one before (decode-image.ts); for RGB images the two are the same, for transparent ones the composite onto white
// commutes with the (linear) resize up to rounding.

import type { Idefics3ProcessorConfig } from "./idefics3-processor-config.ts";
import { resizeImage } from "./resize-image.ts";
import { cropImage, type RgbImage } from "./rgb-image.ts";

/** Largest edge after the first resize (transformers' MAX_IMAGE_SIZE). */
export const maxResizedEdge = 4096;

/** An image as the vision encoder takes it: its tiles (and the global image), normalized, channel-first. */
export interface ProcessedImage {
  /** Rows of the tile grid before the global image; 0 when the image was not split. */
  rows: number;
  /** Columns of the tile grid; 0 when the image was not split. */
  cols: number;
  /** rows × cols + 1 when split, else 1. */
  tileCount: number;
  /** Side of a square tile in pixels. */
  tileSize: number;
  /** [tileCount, 3, tileSize, tileSize] rescaled and normalized; tiles row by row, the global image last. */
  pixelValues: Float32Array;
  /** Width of the image that was cut into tiles (after both resizes). */
  resizedWidth: number;
  /** Its height. */
  resizedHeight: number;
}

/** Height and width after resizing the longest edge to `longestEdge` (transformers' two size rules, in order). */
export function longestEdgeSize(height: number, width: number, longestEdge: number): {
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
} {
  const aspectRatio = width / height;
  // _resize_output_size_rescale_to_max_len
  if (width >= height) {
    width = longestEdge;
    height = Math.trunc(width / aspectRatio);
    if (height % 2 !== 0) height += 1;
  } else {
    height = longestEdge;
    width = Math.trunc(height * aspectRatio);
    if (width % 2 !== 0) width += 1;
  }
  height = Math.max(height, 1);
  width = Math.max(width, 1);
  // _resize_output_size_scale_below_upper_bound
  const ratio = width / height;
  // A square beyond the bound gets 4096 × 4096 from either branch (its ratio is 1).
  // Stryker disable next-line EqualityOperator: equivalent (see the line above)
  const landscape = width >= height;
  // Stryker disable next-line EqualityOperator: equivalent (at exactly 4096 trunc(4096 · (width / 4096)) gives back every width the first rule can make, 1 and the even ones: checked for all)
  const portraitBeyond = height > maxResizedEdge; // a landscape's (or square's) width would be beyond it too
  if (landscape && width > maxResizedEdge) {
    width = maxResizedEdge;
    height = Math.trunc(width / ratio);
  } else if (portraitBeyond) {
    height = maxResizedEdge;
    width = Math.trunc(height * ratio);
  }
  return { height: Math.max(height, 1), width: Math.max(width, 1) };
}

/** Height and width rounded up to multiples of the tile size (transformers' resize_for_vision_encoder). */
export function tileMultipleSize(height: number, width: number, tileSize: number): {
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
} {
  const aspectRatio = width / height;
  // Stryker disable next-line EqualityOperator: equivalent (a square, aspect ratio 1, gets the same size from either branch)
  if (width >= height) {
    width = Math.ceil(width / tileSize) * tileSize;
    height = Math.ceil(Math.trunc(width / aspectRatio) / tileSize) * tileSize;
  } else {
    height = Math.ceil(height / tileSize) * tileSize;
    width = Math.ceil(Math.trunc(height * aspectRatio) / tileSize) * tileSize;
  }
  return { height: Math.max(height, tileSize), width: Math.max(width, tileSize) };
}

/** The tile grid an image of this size gets, without computing any pixel (for prompt layout and token counts). */
export function idefics3TileGrid(width: number, height: number, config: Idefics3ProcessorConfig): Pick<ProcessedImage, "rows" | "cols" | "tileCount"> {
  if (config.longestEdge !== undefined) ({ height, width } = longestEdgeSize(height, width, config.longestEdge));
  if (!config.splitImage) return { rows: 0, cols: 0, tileCount: 1 };
  ({ height, width } = tileMultipleSize(height, width, config.tileSize));
  if (height <= config.tileSize && width <= config.tileSize) return { rows: 0, cols: 0, tileCount: 1 };
  const rows = Math.ceil(height / config.tileSize);
  const cols = Math.ceil(width / config.tileSize);
  return { rows, cols, tileCount: rows * cols + 1 };
}

/** Rescales and normalizes `tile` (tileSize², HWC bytes) into channel-first floats at `out[offset..]`. */
function normalizeInto(out: Float32Array, offset: number, tile: RgbImage, config: Idefics3ProcessorConfig): void {
  const area = tile.width * tile.height;
  // Stryker disable next-line EqualityOperator: equivalent (a 4th channel writes the next tile's first channel, which that tile then overwrites, or past the end)
  for (let channel = 0; channel < 3; channel++) {
    // As transformers computes it: x · rescale in float64 stored as float32, then (x − mean) / std in float32.
    const scale = config.rescaleFactor;
    const mean = Math.fround(config.mean[channel]);
    const std = Math.fround(config.std[channel]);
    const base = offset + channel * area;
    // Stryker disable next-line EqualityOperator: equivalent (one more value writes the next channel's or tile's first, which is written after it, or past the end)
    for (let index = 0; index < area; index++) {
      const rescaled = Math.fround(tile.pixels[index * 3 + channel] * scale);
      out[base + index] = Math.fround(rescaled - mean) / std;
    }
  }
}

/** Runs the processor (see the file header) on one decoded RGB image. */
export function processIdefics3Image(image: RgbImage, config: Idefics3ProcessorConfig): ProcessedImage {
  const tileSize = config.tileSize;
  let resized = image;
  if (config.longestEdge !== undefined) {
    const size = longestEdgeSize(image.height, image.width, config.longestEdge);
    resized = resizeImage(resized, size.width, size.height, config.filter);
  }
  const tiles: RgbImage[] = [];
  let rows = 0;
  let cols = 0;
  if (config.splitImage) {
    const size = tileMultipleSize(resized.height, resized.width, tileSize);
    resized = resizeImage(resized, size.width, size.height, config.filter);
    if (resized.height > tileSize || resized.width > tileSize) {
      rows = Math.ceil(resized.height / tileSize);
      cols = Math.ceil(resized.width / tileSize);
      const tileHeight = Math.ceil(resized.height / rows);
      const tileWidth = Math.ceil(resized.width / cols);
      for (let row = 0; row < rows; row++) {
        for (let col = 0; col < cols; col++) {
          const left = col * tileWidth;
          const top = row * tileHeight;
          // Stryker disable next-line ArithmeticOperator: equivalent (the edges are multiples of tileSize, so tiles are tileSize² and never reach past the edge: the minimum is always the tile)
          tiles.push(cropImage(resized, left, top, Math.min(tileWidth, resized.width - left), Math.min(tileHeight, resized.height - top)));
        }
      }
    }
    tiles.push(resizeImage(resized, tileSize, tileSize, config.filter));
  } else {
    tiles.push(resizeImage(resized, tileSize, tileSize, config.filter));
  }
  const tileValues = 3 * tileSize * tileSize;
  const pixelValues = new Float32Array(tiles.length * tileValues); // [tileCount, 3, tileSize, tileSize]
  tiles.forEach((tile, index) => {
    // Stryker disable next-line ConditionalExpression,LogicalOperator,BlockStatement: equivalent (unreachable: every crop is tileSize² (see above) and the global image is resized to it)
    if (tile.width !== tileSize || tile.height !== tileSize) {
      // Stryker disable next-line StringLiteral: equivalent (unreachable, as above)
      throw new RangeError(`processIdefics3Image: tile ${index} is ${tile.width}×${tile.height}, expected ${tileSize}×${tileSize}`);
    }
    normalizeInto(pixelValues, index * tileValues, tile, config);
  });
  return { rows, cols, tileCount: tiles.length, tileSize, pixelValues, resizedWidth: resized.width, resizedHeight: resized.height };
}
