// q8_0: blocks of 32 values stored as an f16 scale and 32 signed bytes (34 bytes per block).
//
//   bytes 0..1   f16 scale d, little-endian
//   bytes 2..33  int8 quants q[0..31]          value[i] = d · q[i]
//
// Quantization follows ggml's quantize_row_q8_0_ref in float32 arithmetic:
//   amax = max |x|, d = amax / 127, inverse = d ? 1 / d : 0, q = roundf(x · inverse) (halves away from zero).

import { readInt8, readUint16, writeUint16 } from "./bytes.ts";
import { float16ToFloat32, float32ToFloat16 } from "./float16.ts";
import { roundHalfAwayFromZero } from "./rounding.ts";
import { createUnpackedBlock, dequantizeUnpackedBlock, type UnpackedBlock } from "./unpacked-block.ts";

export const q8_0BlockSize = 32;
export const q8_0BlockBytes = 34;
export const q8_0SubBlockSize = 32;

/** Decodes the block at bytes[offset ..] into `block`. */
export function unpackQ8_0Block(bytes: Uint8Array, offset: number, block: UnpackedBlock): void {
  block.scale = float16ToFloat32(readUint16(bytes, offset));
  block.minScale = 0;
  block.subBlockScales[0] = 1;
  block.subBlockMins[0] = 0;
  for (let index = 0; index < q8_0BlockSize; index++) block.quants[index] = readInt8(bytes, offset + 2 + index);
}

/** Encodes input (a whole number of blocks) into out, block after block. */
export function quantizeQ8_0(input: Float32Array, out: Uint8Array): void {
  const blocks = input.length / q8_0BlockSize;
  for (let blockIndex = 0; blockIndex < blocks; blockIndex++) {
    const first = blockIndex * q8_0BlockSize;
    const offset = blockIndex * q8_0BlockBytes;
    let largestMagnitude = 0;
    for (let index = first; index < first + q8_0BlockSize; index++) {
      largestMagnitude = Math.max(largestMagnitude, Math.abs(input[index]));
    }
    const scale = Math.fround(largestMagnitude / 127);
    const inverse = scale !== 0 ? Math.fround(1 / scale) : 0;
    writeUint16(out, offset, float32ToFloat16(scale));
    for (let index = 0; index < q8_0BlockSize; index++) {
      // x · inverse of two float32 values is exact in float64, so fround gives the float32 product C computes
      out[offset + 2 + index] = roundHalfAwayFromZero(Math.fround(input[first + index] * inverse)) & 0xff;
    }
  }
}

/** Decodes input (a whole number of blocks) into out. */
export function dequantizeQ8_0(input: Uint8Array, out: Float32Array): void {
  const block = createUnpackedBlock(q8_0BlockSize, q8_0SubBlockSize);
  const blocks = input.length / q8_0BlockBytes;
  for (let blockIndex = 0; blockIndex < blocks; blockIndex++) {
    unpackQ8_0Block(input, blockIndex * q8_0BlockBytes, block);
    dequantizeUnpackedBlock(block, out, blockIndex * q8_0BlockSize);
  }
}
