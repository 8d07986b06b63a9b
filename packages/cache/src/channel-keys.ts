// Keys stored per channel (KIVI) in a q8_0 / q4_0 cache, the cache side: each position's keys go into an f32 residual
// [rows, kvHeads, headDim] (position p at row p mod rows); when a group of 32 positions is full it is transposed to
// [kvHeads · headDim channels, 32 positions] and quantized once, one scale per channel (the layout
// @infer-recipes/kernel's channel-keys.ts defines and attention reads). The residual has 64 rows — the last full group
// beside the unfinished one, so a rollback of up to 32 positions past a group boundary (rejected speculative tokens)
// finds the kept positions there, exactly — and grows for a write of a longer chunk, whose queries read the groups it
// completes from it (as decoding one token at a time would); the next short write shrinks it back. Values stay per
// token (encode-rows.ts).
//
// A deeper rollback, or a sequence that starts from cached prefix blocks, re-derives the residual's positions from
// their quantized groups: they then hold exactly what attention read for them, and a group refilled after a rollback
// is quantized again (with the group's new scale) from those values and the new positions.

import {
  Tensor,
  channelKeyGroupBytes,
  channelKeyGroupSize,
  channelKeyResidualRows,
  channelKeyResidualStart,
  decodeValues,
  residualRowsNeeded,
  encodeValues,
  type CacheDType,
  type Kernel,
} from "@infer-recipes/kernel";

/** Where position `position` of a sequence is stored (dense: the position; paged: block · blockSize + offset). */
export type StorageRowOf = (position: number) => number;

/**
 * The residual for a write of positions start..end−1: `residual` itself when its rows fit (64, or the multiple of 64
 * that holds the positions from start's group to end), else a new one holding what `residual` held of positions
 * channelKeyResidualStart(start) .. start − 1 (all a cache needs before a write).
 */
export function residualForWrite(residual: Tensor, start: number, end: number): Tensor {
  const rows = Math.max(channelKeyResidualRows, Math.ceil(residualRowsNeeded(start, end, true) / channelKeyResidualRows) * channelKeyResidualRows);
  const current = residual.shape[0];
  if (rows === current) return residual;
  const [, kvHeads, headDim] = residual.shape;
  const width = kvHeads * headDim;
  const resized = Tensor.zeros("f32", [rows, kvHeads, headDim]);
  const from = residual.data as Float32Array, to = resized.data as Float32Array;
  for (let position = channelKeyResidualStart(start); position < start; position++) {
    to.set(from.subarray((position % current) * width, (position % current + 1) * width), (position % rows) * width);
  }
  return resized;
}

/**
 * Writes keys [count, width] (f32, width = kvHeads · headDim) of positions start..start+count-1 into a per-channel key
 * store: each row goes to the residual [rows, width] (from residualForWrite), and every group of 32 positions that
 * becomes full is quantized into `target` (q8_0 / q4_0 storage of whole groups) at the group that `storageRow` places
 * it in. The residual must hold positions channelKeyResidualStart(start) .. start − 1 already.
 */
export function writeChannelKeys(target: Tensor, residual: Tensor, start: number, keys: Float32Array, width: number, storageRow: StorageRowOf, kernel?: Kernel): void {
  const count = keys.length / width;
  const rows = residual.shape[0];
  const data = residual.data as Float32Array;
  for (let index = 0; index < count; index++) {
    const position = start + index;
    data.set(keys.subarray(index * width, (index + 1) * width), (position % rows) * width);
    if (position % channelKeyGroupSize === channelKeyGroupSize - 1) {
      const firstRow = (position - channelKeyGroupSize + 1) % rows; // rows is a multiple of 32: the group is contiguous
      quantizeGroup(target, Math.floor(storageRow(position) / channelKeyGroupSize), data.subarray(firstRow * width, (firstRow + channelKeyGroupSize) * width), width, kernel);
    }
  }
}

/**
 * Makes the residual hold positions channelKeyResidualStart(length) .. length − 1 for a sequence of `length`
 * positions whose residual holds only those from `heldFrom` on (after a rollback from `from` positions: heldFrom =
 * channelKeyResidualStart(from); for blocks taken from the prefix cache: heldFrom = length). The missing positions
 * lie in quantized groups and are decoded from there.
 */
export function restoreKeyResidual(keys: Tensor, residual: Tensor, length: number, heldFrom: number, width: number, storageRow: StorageRowOf): void {
  const end = Math.min(length, heldFrom);
  const rows = residual.shape[0];
  const data = residual.data as Float32Array;
  const decoded = new Float32Array(width * channelKeyGroupSize); // [width channels, 32 positions] of one group
  for (let groupStart = channelKeyResidualStart(length); groupStart < end; groupStart += channelKeyGroupSize) {
    decodeValues(keys.dtype, groupStorage(keys, Math.floor(storageRow(groupStart) / channelKeyGroupSize), width), decoded);
    for (let position = groupStart; position < Math.min(end, groupStart + channelKeyGroupSize); position++) {
      const slot = position % channelKeyGroupSize;
      const row = (position % rows) * width;
      for (let channel = 0; channel < width; channel++) data[row + channel] = decoded[channel * channelKeyGroupSize + slot];
    }
  }
}

/** The residual tensor [64, kvHeads, headDim] f32 a per-channel key store starts with, per layer. */
export function createKeyResidual(keyValueHeadCount: number, headDim: number): Tensor {
  return Tensor.zeros("f32", [channelKeyResidualRows, keyValueHeadCount, headDim]);
}

/** Transposes a full group's 32 rows [32, width] to channels [width, 32] and quantizes them into group `group`. */
function quantizeGroup(target: Tensor, group: number, rows: Float32Array, width: number, kernel: Kernel | undefined): void {
  const channels = new Float32Array(width * channelKeyGroupSize); // [width, 32]
  for (let slot = 0; slot < channelKeyGroupSize; slot++) {
    for (let channel = 0; channel < width; channel++) channels[channel * channelKeyGroupSize + slot] = rows[slot * width + channel];
  }
  const storage = groupStorage(target, group, width);
  if (kernel) kernel.quantize(new Tensor(target.dtype, [width, channelKeyGroupSize], storage), Tensor.fromFloat32([width, channelKeyGroupSize], channels));
  else encodeValues(target.dtype, channels, storage);
}

function groupStorage(keys: Tensor, group: number, width: number): Uint8Array {
  const bytes = channelKeyGroupBytes(keys.dtype as CacheDType, width);
  return (keys.data as Uint8Array).subarray(group * bytes, (group + 1) * bytes);
}
