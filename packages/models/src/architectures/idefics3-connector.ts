// The Idefics3 connector: pixel shuffle then a linear projection into the language model (transformers'
// Idefics3Connector). The shuffle folds each scale × scale block of neighbouring patches into one token: patch
// (row, col) of a side × side grid goes to token (row / s, col / s) at feature offset ((row mod s) · s + col mod s) ·
// hidden, so a tile's side² patches of width hidden become (side / s)² tokens of width hidden · s². The projection
// (no bias) maps them to the language model's width.

import { Tensor, type Kernel } from "@infer-recipes/kernel";

/**
 * out [tiles · (side/scale)², hidden · scale²] = pixel shuffle of patches [tiles · side², hidden], tile by tile
 * (patches of a tile in row-major order).
 */
export function pixelShuffle(out: Float32Array, patches: Float32Array, tiles: number, side: number, hidden: number, scale: number): void {
  const outSide = side / scale;
  const width = hidden * scale * scale;
  for (let tile = 0; tile < tiles; tile++) {
    const tilePatches = tile * side * side;
    const tileTokens = tile * outSide * outSide;
    for (let row = 0; row < side; row++) {
      for (let col = 0; col < side; col++) {
        const token = tileTokens + Math.floor(row / scale) * outSide + Math.floor(col / scale);
        const offset = ((row % scale) * scale + (col % scale)) * hidden;
        const from = (tilePatches + row * side + col) * hidden;
        out.set(patches.subarray(from, from + hidden), token * width + offset);
      }
    }
  }
}

/** Pixel shuffle then projection: patches [tiles · side², hidden] → out [tiles · (side/scale)², projectionSize]. */
export function runIdefics3Connector(kernel: Kernel, out: Tensor, patches: Tensor, projection: Tensor, tiles: number, side: number, scale: number): void {
  const hidden = patches.shape[1];
  const tokens = tiles * (side / scale) ** 2;
  const shuffled = Tensor.zeros("f32", [tokens, hidden * scale * scale]); // [tokens, hidden · scale²]
  pixelShuffle(shuffled.data as Float32Array, patches.data as Float32Array, tiles, side, hidden, scale);
  kernel.matmul(out, shuffled, projection);
}
