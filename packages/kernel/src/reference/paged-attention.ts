// Attention over a paged key/value cache, written to be read: for each query token and head, walk the sequence's
// block table to find where each key and value row lives, and run the same online softmax as attentionFlash (tiles of
// `flashKeyBlock` logical positions, float64 accumulation). Because the arithmetic is the same, it returns exactly
// what attentionFlash returns for the same keys laid out contiguously.
//
// Shapes: out, query [tokens, heads, headDim] f32; keyBlocks, valueBlocks [blockCount, blockSize, kvHeads, headDim] in
// any cache dtype, decoded row by row where the loop reads them (CacheRowReader; per-channel keys: ChannelKeyReader).
// Position p of the sequence lives in physical block blockTable[floor(p / blockSize)], row p mod blockSize.
// Query token t sits at position startPosition + t; causal attention lets it see keys 0 .. startPosition + t.

import type { AttentionOptions } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { flashKeyBlock, queryPosition, score } from "./attention.ts";
import { CacheRowReader } from "./cache-rows.ts";
import { keyRowReader } from "./channel-key-rows.ts";

/** Storage row (block · blockSize + offset) of position `position` of the sequence. */
function storageRow(position: number, blockTable: Int32Array, blockSize: number): number {
  return blockTable[Math.floor(position / blockSize)] * blockSize + (position % blockSize);
}

/**
 * Attention of query [tokens, heads, headDim] over keys and values stored in blocks [blockCount, blockSize, kvHeads,
 * headDim] through `blockTable`: the reference definition of paged attention, equal to {@link attentionFlash} on the
 * same keys laid out contiguously.
 */
export function attentionPaged(
  out: Tensor,
  query: Tensor,
  keyBlocks: Tensor,
  valueBlocks: Tensor,
  blockTable: Int32Array,
  options: AttentionOptions,
): void {
  const [tokens, heads, headDim] = query.shape;
  const [, blockSize, kvHeads] = keyBlocks.shape;
  const groupSize = heads / kvHeads;
  const queryValues = query.data as Float32Array; // [tokens, heads, headDim]
  const keyRows = keyRowReader(keyBlocks, options); // [blockCount, blockSize, kvHeads, headDim], per token or per channel
  const valueRows = new CacheRowReader(valueBlocks); // [blockCount, blockSize, kvHeads, headDim]
  const outValues = out.data as Float32Array; // [tokens, heads, headDim]
  const tileScores = new Float64Array(flashKeyBlock); // [flashKeyBlock] scores of the current tile
  const accumulator = new Float64Array(headDim); // [headDim] Σ e^(score − runningMaximum) · value
  for (let token = 0; token < tokens; token++) {
    const visible = options.causal ? Math.min(options.kvLength, options.startPosition + token + 1) : options.kvLength;
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const queryStart = (token * heads + head) * headDim;
      let runningMaximum = -Infinity;
      let runningSum = 0;
      accumulator.fill(0);
      for (let tileStart = 0; tileStart < visible; tileStart += flashKeyBlock) {
        const tileLength = Math.min(flashKeyBlock, visible - tileStart);
        let tileMaximum = -Infinity;
        for (let offset = 0; offset < tileLength; offset++) {
          const keyStart = keyRows.read(storageRow(tileStart + offset, blockTable, blockSize), kvHead, tileStart + offset, queryPosition(token, options));
          tileScores[offset] = score(queryValues, queryStart, keyRows.values, keyStart, headDim, options.scale);
          tileMaximum = Math.max(tileMaximum, tileScores[offset]);
        }
        const newMaximum = Math.max(runningMaximum, tileMaximum);
        const correction = Math.exp(runningMaximum - newMaximum);
        runningSum *= correction;
        for (let index = 0; index < headDim; index++) accumulator[index] *= correction;
        for (let offset = 0; offset < tileLength; offset++) {
          const weight = Math.exp(tileScores[offset] - newMaximum);
          const valueStart = valueRows.read(storageRow(tileStart + offset, blockTable, blockSize), kvHead);
          runningSum += weight;
          for (let index = 0; index < headDim; index++) accumulator[index] += weight * valueRows.values[valueStart + index];
        }
        runningMaximum = newMaximum;
      }
      for (let index = 0; index < headDim; index++) outValues[queryStart + index] = accumulator[index] / runningSum;
    }
  }
}
