// The per-channel key layout (KIVI: keys quantized per channel, values per token) that q8_0 / q4_0 key caches use,
// shared by the caches that write it, the kernel's argument checks and both backends' attention.
//
// Keys are quantized in groups of 32 positions. Group g holds storage rows 32g..32g+31 and takes exactly the bytes
// those rows take in a per-token layout: kvHeads · headDim blocks of the dtype, block c = channel c (value index
// head · headDim + i of a row) of the group's 32 positions, with one f16 scale (q8_0: 34 bytes; q4_0: 18, position j
// in byte j mod 16, low nibble for j < 16). The newest positions of a sequence, whose group is not full yet, stay in
// an f32 residual [32, kvHeads, headDim] (position p at row p mod 32) until the group is full and quantized once.

import type { CacheDType } from "./dtype.ts";
import { dtypeInfo } from "./dtype.ts";

/** Positions per per-channel key group (one scale per channel per group). */
export const channelKeyGroupSize = 32;

/** Whether keys of this cache element type are stored per channel (q8_0, q4_0); 16/32-bit floats are not grouped. */
export function storesKeysPerChannel(dtype: CacheDType): boolean {
  return dtype === "q8_0" || dtype === "q4_0";
}

/** Bytes of one per-channel key group: `width` (= kvHeads · headDim) blocks of 32 positions. */
export function channelKeyGroupBytes(dtype: CacheDType, width: number): number {
  return width * dtypeInfo[dtype].blockBytes;
}
