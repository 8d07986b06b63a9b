// Keys stored per channel (KIVI) in a q8_0 / q4_0 cache, the cache side: the newest positions of a sequence wait in an
// f32 residual [32, kvHeads, headDim] (position p at row p mod 32) until their group of 32 positions is full; the group
// is then transposed to [kvHeads · headDim channels, 32 positions] and quantized once, one scale per channel (the
// layout @infer-recipes/kernel's channel-keys.ts defines and attention reads). Values stay per token (encode-rows.ts).
//
// Rolling back into a group that is already quantized (truncate) re-derives the kept positions of that group from its
// quants into the residual: they hold exactly what attention read for them before the rollback, and are quantized
// again, with the group's new scale, when the group fills up again.

import { Tensor, channelKeyGroupBytes, channelKeyGroupSize, decodeValues, encodeValues, type CacheDType, type Kernel } from "@infer-recipes/kernel";

/** Where position `position` of a sequence is stored (dense: the position; paged: block · blockSize + offset). */
export type StorageRowOf = (position: number) => number;

/**
 * Writes keys [count, width] (f32, width = kvHeads · headDim) of positions start..start+count-1 into a per-channel key
 * store: each row goes to the residual [32, width], and every group of 32 positions that becomes full is quantized
 * into `target` (q8_0 / q4_0 storage of whole groups) at the group that `storageRow` places it in. The residual must
 * hold positions floor(start / 32)·32 .. start − 1 already.
 */
export function writeChannelKeys(target: Tensor, residual: Float32Array, start: number, keys: Float32Array, width: number, storageRow: StorageRowOf, kernel?: Kernel): void {
  const count = keys.length / width;
  for (let index = 0; index < count; index++) {
    const position = start + index;
    const slot = position % channelKeyGroupSize;
    residual.set(keys.subarray(index * width, (index + 1) * width), slot * width);
    if (slot === channelKeyGroupSize - 1) quantizeGroup(target, Math.floor(storageRow(position) / channelKeyGroupSize), residual, width, kernel);
  }
}

/**
 * After a rollback to `length` into a quantized group: decodes positions floor(length / 32)·32 .. length − 1 from their
 * group in `keys` into the residual, so that writing continues from there.
 */
export function restoreChannelKeys(keys: Tensor, residual: Float32Array, length: number, width: number, storageRow: StorageRowOf): void {
  const groupStart = Math.floor(length / channelKeyGroupSize) * channelKeyGroupSize;
  if (groupStart === length) return;
  const group = Math.floor(storageRow(groupStart) / channelKeyGroupSize);
  const decoded = new Float32Array(width * channelKeyGroupSize); // [width channels, 32 positions]
  decodeValues(keys.dtype, groupStorage(keys, group, width), decoded);
  for (let position = groupStart; position < length; position++) {
    const slot = position % channelKeyGroupSize;
    for (let channel = 0; channel < width; channel++) residual[slot * width + channel] = decoded[channel * channelKeyGroupSize + slot];
  }
}

/** Whether a rollback from `from` positions to `to` lands inside a group that was quantized (its residual is gone). */
export function rollbackEntersQuantizedGroup(from: number, to: number): boolean {
  return to % channelKeyGroupSize !== 0 && Math.floor(to / channelKeyGroupSize) < Math.floor(from / channelKeyGroupSize);
}

/** The residual tensor [32, kvHeads, headDim] f32 a per-channel key store needs per layer. */
export function createKeyResidual(keyValueHeadCount: number, headDim: number): Tensor {
  return Tensor.zeros("f32", [channelKeyGroupSize, keyValueHeadCount, headDim]);
}

/** Transposes the residual's 32 rows [32, width] to channels [width, 32] and quantizes them into group `group`. */
function quantizeGroup(target: Tensor, group: number, residual: Float32Array, width: number, kernel: Kernel | undefined): void {
  const channels = new Float32Array(width * channelKeyGroupSize); // [width, 32]
  for (let slot = 0; slot < channelKeyGroupSize; slot++) {
    for (let channel = 0; channel < width; channel++) channels[channel * channelKeyGroupSize + slot] = residual[slot * width + channel];
  }
  const storage = groupStorage(target, group, width);
  if (kernel) kernel.quantize(new Tensor(target.dtype, [width, channelKeyGroupSize], storage), Tensor.fromFloat32([width, channelKeyGroupSize], channels));
  else encodeValues(target.dtype, channels, storage);
}

function groupStorage(keys: Tensor, group: number, width: number): Uint8Array {
  const bytes = channelKeyGroupBytes(keys.dtype as CacheDType, width);
  return (keys.data as Uint8Array).subarray(group * bytes, (group + 1) * bytes);
}
