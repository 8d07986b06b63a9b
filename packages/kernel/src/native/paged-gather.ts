// Gathers a sequence's key/value rows out of an f32 paged cache into one contiguous scratch buffer, so the native
// contiguous attention kernel can run over them: the native backend's path for an addon without paged attention, and
// a second path the tests compare the block-walking kernel with. The copy is one memcpy per block (TypedArray.set).

import type { Tensor } from "../tensor.ts";

export class PagedGatherScratch {
  private keys = new Float32Array(0); // [capacity, kvHeads, headDim], rows < kvLength valid after gather
  private values = new Float32Array(0); // [capacity, kvHeads, headDim]

  /**
   * Copies positions 0..kvLength-1 of the sequence described by `blockTable` out of keyBlocks/valueBlocks
   * [blockCount, blockSize, kvHeads, headDim]; returns the contiguous [kvLength, kvHeads, headDim] data (views of the
   * scratch buffers, valid until the next call).
   */
  gather(keyBlocks: Tensor, valueBlocks: Tensor, blockTable: Int32Array, kvLength: number): { keys: Float32Array; values: Float32Array } {
    const [, blockSize, kvHeads, headDim] = keyBlocks.shape;
    const rowWidth = kvHeads * headDim;
    const needed = kvLength * rowWidth;
    if (this.keys.length < needed) {
      const grown = Math.max(needed, this.keys.length * 2);
      this.keys = new Float32Array(grown);
      this.values = new Float32Array(grown);
    }
    const keySource = keyBlocks.data as Float32Array;
    const valueSource = valueBlocks.data as Float32Array;
    const blockFloats = blockSize * rowWidth;
    for (let logical = 0; logical * blockSize < kvLength; logical++) {
      const rows = Math.min(blockSize, kvLength - logical * blockSize);
      const from = blockTable[logical] * blockFloats;
      const to = logical * blockFloats;
      this.keys.set(keySource.subarray(from, from + rows * rowWidth), to);
      this.values.set(valueSource.subarray(from, from + rows * rowWidth), to);
    }
    return { keys: this.keys.subarray(0, needed), values: this.values.subarray(0, needed) };
  }
}
