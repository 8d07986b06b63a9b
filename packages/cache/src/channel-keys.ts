// Keys stored per channel (KIVI) in a q8_0 / q4_0 cache, the cache side: each position's keys go into an f32 residual
// [64, kvHeads, headDim] (position p at row p mod 64); when a group of 32 positions is full it is transposed to
// [kvHeads · headDim channels, 32 positions] and quantized once, one scale per channel (the layout
// @infer-recipes/kernel's channel-keys.ts defines and attention reads). The residual keeps the last full group beside
// the unfinished one, so queries inside a group read it as they would decoding one token at a time, and a rollback of
// up to 32 positions past a group boundary (rejected speculative tokens) finds the kept positions there, exactly.
// Values stay per token (encode-rows.ts).
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
  encodeValues,
  type CacheDType,
  type Kernel,
} from "@infer-recipes/kernel";

/** Where position `position` of a sequence is stored (dense: the position; paged: block · blockSize + offset). */
export type StorageRowOf = (position: number) => number;

/**
 * Writes keys [count, width] (f32, width = kvHeads · headDim) of positions start..start+count-1 into a per-channel key
 * store: each row goes to the residual [64, width], and every group of 32 positions that becomes full is quantized
 * into `target` (q8_0 / q4_0 storage of whole groups) at the group that `storageRow` places it in. The residual must
 * hold positions channelKeyResidualStart(start) .. start − 1 already.
 */
export function writeChannelKeys(target: Tensor, residual: Float32Array, start: number, keys: Float32Array, width: number, storageRow: StorageRowOf, kernel?: Kernel): void {
  const count = keys.length / width;
  for (let index = 0; index < count; index++) {
    const position = start + index;
    residual.set(keys.subarray(index * width, (index + 1) * width), (position % channelKeyResidualRows) * width);
    if (position % channelKeyGroupSize === channelKeyGroupSize - 1) {
      const firstRow = (position - channelKeyGroupSize + 1) % channelKeyResidualRows;
      quantizeGroup(target, Math.floor(storageRow(position) / channelKeyGroupSize), residual.subarray(firstRow * width, (firstRow + channelKeyGroupSize) * width), width, kernel);
    }
  }
}

/**
 * Makes the residual hold positions channelKeyResidualStart(length) .. length − 1 for a sequence of `length`
 * positions whose residual holds only those from `heldFrom` on (after a rollback from `from` positions: heldFrom =
 * channelKeyResidualStart(from); for blocks taken from the prefix cache: heldFrom = length). The missing positions
 * lie in quantized groups and are decoded from there.
 */
export function restoreKeyResidual(keys: Tensor, residual: Float32Array, length: number, heldFrom: number, width: number, storageRow: StorageRowOf): void {
  const end = Math.min(length, heldFrom);
  const decoded = new Float32Array(width * channelKeyGroupSize); // [width channels, 32 positions] of one group
  for (let groupStart = channelKeyResidualStart(length); groupStart < end; groupStart += channelKeyGroupSize) {
    decodeValues(keys.dtype, groupStorage(keys, Math.floor(storageRow(groupStart) / channelKeyGroupSize), width), decoded);
    for (let position = groupStart; position < Math.min(end, groupStart + channelKeyGroupSize); position++) {
      const slot = position % channelKeyGroupSize;
      const row = (position % channelKeyResidualRows) * width;
      for (let channel = 0; channel < width; channel++) residual[row + channel] = decoded[channel * channelKeyGroupSize + slot];
    }
  }
}

/** The residual tensor [64, kvHeads, headDim] f32 a per-channel key store needs per layer. */
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
