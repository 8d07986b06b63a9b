// The per-channel key layout (KIVI: keys quantized per channel, values per token) that q8_0 / q4_0 key caches use,
// shared by the caches that write it, the kernel's argument checks and both backends' attention.
//
// Keys are quantized in groups of 32 positions. Group g holds storage rows 32g..32g+31 and takes exactly the bytes
// those rows take in a per-token layout: kvHeads · headDim blocks of the dtype, block c = channel c (value index
// head · headDim + i of a row) of the group's 32 positions, with one f16 scale (q8_0: 34 bytes; q4_0: 18, position j
// in byte j mod 16, low nibble for j < 16). A group is quantized once, when its 32nd position is written.
//
// The f32 residual [rows, kvHeads, headDim] (position p at row p mod rows) holds the newest positions, so that which
// copy of a key a query reads is what it would read decoding one token at a time, however positions were chunked: a
// causal query at position s reads its own group g from the residual while that group is not full at s
// (32g + 31 > s), and every other group below floor(kvLength / 32)·32 quantized; the unfinished group is always read
// from the residual. A call therefore needs the residual to hold positions floor(startPosition / 32)·32 ..
// kvLength − 1 (residualRowsNeeded): at least the unfinished group, plus every group the query chunk completes.
// Caches keep at least 64 rows (the last full group besides the unfinished one), so a rollback of up to 32 positions
// past a group boundary (rejected speculative tokens) finds the kept positions in f32, and grow it for longer chunks.

import type { CacheDType } from "./dtype.ts";
import { dtypeInfo } from "./dtype.ts";

/** Positions per per-channel key group (one scale per channel per group). */
export const channelKeyGroupSize = 32;

/** Rows a cache's f32 key residual has at least: the unfinished group and the last full one. */
export const channelKeyResidualRows = 2 * channelKeyGroupSize;

/** First position a cache's key residual holds when `length` positions are stored: the last full group's first. */
export function channelKeyResidualStart(length: number): number {
  return Math.max(0, Math.floor(length / channelKeyGroupSize) * channelKeyGroupSize - channelKeyGroupSize);
}

/** Rows the key residual must have for attention of queries from `startPosition` over kvLength positions: the
 *  positions from the group of the first query (causal; else the unfinished group) to kvLength − 1. */
export function residualRowsNeeded(startPosition: number, kvLength: number, causal: boolean): number {
  const quantizedEnd = Math.floor(kvLength / channelKeyGroupSize) * channelKeyGroupSize;
  const first = causal ? Math.min(quantizedEnd, Math.floor(startPosition / channelKeyGroupSize) * channelKeyGroupSize) : quantizedEnd;
  return kvLength - first;
}

/**
 * Whether a query at `queryPosition` (causal; Infinity for a query that sees every position as stored) reads the
 * keys of the group starting at `groupStart` from the residual rather than from the quantized group.
 */
export function readsKeyResidual(groupStart: number, queryPosition: number, kvLength: number): boolean {
  const quantizedEnd = Math.floor(kvLength / channelKeyGroupSize) * channelKeyGroupSize;
  return groupStart >= quantizedEnd || groupStart + channelKeyGroupSize - 1 > queryPosition;
}

/** Whether keys of this cache element type are stored per channel (q8_0, q4_0); 16/32-bit floats are not grouped. */
export function storesKeysPerChannel(dtype: CacheDType): boolean {
  return dtype === "q8_0" || dtype === "q4_0";
}

/** Bytes of one per-channel key group: `width` (= kvHeads · headDim) blocks of 32 positions. */
export function channelKeyGroupBytes(dtype: CacheDType, width: number): number {
  return width * dtypeInfo[dtype].blockBytes;
}
