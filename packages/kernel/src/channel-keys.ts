// The per-channel key layout (KIVI: keys quantized per channel, values per token) that q8_0 / q4_0 key caches use,
// shared by the caches that write it, the kernel's argument checks and both backends' attention.
//
// Keys are quantized in groups of 32 positions. Group g holds storage rows 32g..32g+31 and takes exactly the bytes
// those rows take in a per-token layout: kvHeads · headDim blocks of the dtype, block c = channel c (value index
// head · headDim + i of a row) of the group's 32 positions, with one f16 scale (q8_0: 34 bytes; q4_0: 18, position j
// in byte j mod 16, low nibble for j < 16). A group is quantized once, when its 32nd position is written.
//
// The f32 residual [64, kvHeads, headDim] (position p at row p mod 64) holds the newest positions: the unfinished
// group and the last full one, i.e. positions max(0, floor(kvLength / 32)·32 − 32) .. kvLength − 1. Which copy a
// query reads follows what it would read decoding one token at a time, so results do not depend on how positions
// were chunked: a causal query at position s reads its own group from the residual while that group is not full at s
// (32g + 31 > s) and the residual still holds it, every other group below floor(kvLength / 32)·32 quantized, and the
// unfinished group from the residual. (Only the early tokens of a prefill chunk of more than 32 positions can find
// their own group quantized already: the residual keeps one full group.) Keeping the last full group in f32 also lets a
// rollback of up to 32 positions past a group boundary (rejected speculative tokens) restore the kept positions
// exactly.

import type { CacheDType } from "./dtype.ts";
import { dtypeInfo } from "./dtype.ts";

/** Positions per per-channel key group (one scale per channel per group). */
export const channelKeyGroupSize = 32;

/** Rows of the f32 key residual: the unfinished group and the last full one. */
export const channelKeyResidualRows = 2 * channelKeyGroupSize;

/** First position the key residual holds when kvLength positions are stored. */
export function channelKeyResidualStart(kvLength: number): number {
  return Math.max(0, Math.floor(kvLength / channelKeyGroupSize) * channelKeyGroupSize - channelKeyGroupSize);
}

/**
 * Whether a query at `queryPosition` (causal; Infinity for a query that sees every position as stored) reads the
 * key of a position in the group starting at `groupStart` from the residual rather than from the quantized group.
 */
export function readsKeyResidual(groupStart: number, queryPosition: number, kvLength: number): boolean {
  const quantizedEnd = Math.floor(kvLength / channelKeyGroupSize) * channelKeyGroupSize;
  if (groupStart >= quantizedEnd) return true;
  return groupStart + channelKeyGroupSize - 1 > queryPosition && groupStart >= channelKeyResidualStart(kvLength);
}

/** Whether keys of this cache element type are stored per channel (q8_0, q4_0); 16/32-bit floats are not grouped. */
export function storesKeysPerChannel(dtype: CacheDType): boolean {
  return dtype === "q8_0" || dtype === "q4_0";
}

/** Bytes of one per-channel key group: `width` (= kvHeads · headDim) blocks of 32 positions. */
export function channelKeyGroupBytes(dtype: CacheDType, width: number): number {
  return width * dtypeInfo[dtype].blockBytes;
}
