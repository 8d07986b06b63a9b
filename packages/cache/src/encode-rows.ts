// Writes rows of f32 keys or values into a cache tensor in its element type: the one place a position's keys and
// values are encoded (rounded to f16/bf16, or quantized to q8_0/q4_0 blocks), once, when the position is written.

import { Tensor, encodeValues, type Kernel } from "@infer-recipes/kernel";

/**
 * Encodes rows [rows, width] (f32, width = kvHeads · headDim) into `target` (a cache tensor whose storage is one row
 * after another: [capacity, kvHeads, headDim] or [blocks, blockSize, kvHeads, headDim]) starting at storage row
 * `firstRow`. With a kernel its quantize op encodes (native, threaded); otherwise the TypeScript encoders do.
 */
export function encodeRows(target: Tensor, firstRow: number, rows: Float32Array, width: number, kernel?: Kernel): void {
  const count = rows.length / width;
  if (target.dtype === "f32") {
    (target.data as Float32Array).set(rows, firstRow * width);
    return;
  }
  const rowLength = target.data.length / (target.size / width); // storage elements per row
  const storage = target.data.subarray(firstRow * rowLength, (firstRow + count) * rowLength);
  if (kernel) {
    // As [count, width]: a row is whole blocks even when a block spans several small heads.
    kernel.quantize(new Tensor(target.dtype, [count, width], storage), Tensor.fromFloat32([count, width], rows));
  } else encodeValues(target.dtype, rows, storage);
}
