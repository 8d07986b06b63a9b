// The text that stands for one image in an Idefics3 / SmolVLM prompt (transformers' Idefics3Processor): each tile is
// <fake_token_around_image><row_r_col_c> then imageSequenceLength × <image>; every row of tiles ends with a newline;
// then the global image: "\n<fake_token_around_image><global-img>" + <image> × imageSequenceLength +
// "<fake_token_around_image>". An image that was not split is the global part alone, without the leading newline.
// The chat template writes one <image> per image; expandImagePlaceholders replaces each with this text.

import { ImageError } from "./image-error.ts";

/** The special tokens of the layout, as SmolVLM's tokenizer spells them. */
export const idefics3ImageTokens = {
  /** The placeholder one image embedding replaces (64 per tile for SmolVLM). */
  image: "<image>",
  /** Opens each tile's run of placeholders, and opens and closes the global image's. */
  fakeTokenAroundImage: "<fake_token_around_image>",
  /** Names the downscaled whole image after the tiles. */
  globalImage: "<global-img>",
  /** <row_R_col_C>, 1-based. */
  tilePosition: (row: number, col: number) => `<row_${row}_col_${col}>`,
} as const;

/** <image> tokens per tile: patches per tile ÷ scale factor² (SmolVLM: (512 / 16)² / 4² = 64). */
export function imageSequenceLength(tileSize: number, patchSize: number, scaleFactor: number): number {
  const side = tileSize / patchSize;
  if (!Number.isInteger(side) || side % scaleFactor !== 0) {
    throw new RangeError(`imageSequenceLength: tile ${tileSize} / patch ${patchSize} = ${side} patches per side is not a multiple of the scale factor ${scaleFactor}`);
  }
  return (side / scaleFactor) ** 2;
}

/** The text of one image with a rows × cols tile grid (0 × 0: not split). Refuses a grid with one side 0. */
export function idefics3ImagePrompt(rows: number, cols: number, sequenceLength: number): string {
  if ((rows === 0) !== (cols === 0)) throw new RangeError(`idefics3ImagePrompt: a ${rows} × ${cols} tile grid; expected both sides 0 (not split) or both ≥ 1`);
  const { image, fakeTokenAroundImage, globalImage, tilePosition } = idefics3ImageTokens;
  const imageTokens = image.repeat(sequenceLength);
  const global = `${fakeTokenAroundImage}${globalImage}${imageTokens}${fakeTokenAroundImage}`;
  if (rows === 0) return global;
  let text = "";
  for (let row = 1; row <= rows; row++) {
    for (let col = 1; col <= cols; col++) text += `${fakeTokenAroundImage}${tilePosition(row, col)}${imageTokens}`;
    text += "\n";
  }
  return `${text}\n${global}`;
}

/**
 * Replaces the n-th <image> placeholder of `text` (as the chat template wrote it) with the layout of the n-th image.
 * The number of placeholders must equal the number of images.
 */
export function expandImagePlaceholders(text: string, grids: ReadonlyArray<{ rows: number; cols: number }>, sequenceLength: number): string {
  const parts = text.split(idefics3ImageTokens.image);
  const placeholders = parts.length - 1;
  if (placeholders !== grids.length) {
    throw new ImageError("prompt", `has ${placeholders} ${idefics3ImageTokens.image} placeholder(s) for ${grids.length} image(s); each image needs exactly one`);
  }
  let expanded = parts[0];
  grids.forEach((grid, index) => {
    expanded += idefics3ImagePrompt(grid.rows, grid.cols, sequenceLength) + parts[index + 1];
  });
  return expanded;
}
