// q4_0: blocks of 32 values stored as an f16 scale and 16 bytes of 4-bit quants (18 bytes per block).
//
//   bytes 0..1   f16 scale d, little-endian
//   bytes 2..17  byte j: low nibble = value j, high nibble = value j + 16      value = d · (nibble − 8)
//
// Quantization follows ggml's quantize_row_q4_0_ref in float32 arithmetic:
//   max = the value with the largest |x| (sign kept, first one on ties), d = max / −8,
//   inverse = d ? 1 / d : 0, nibble = min(15, trunc(x · inverse + 8.5)).

import { readUint16, writeUint16 } from "./bytes.ts";
import { float16ToFloat32, float32ToFloat16 } from "./float16.ts";
import { createUnpackedBlock, dequantizeUnpackedBlock, type UnpackedBlock } from "./unpacked-block.ts";

export const q4_0BlockSize = 32;
export const q4_0BlockBytes = 18;
export const q4_0SubBlockSize = 32;

/** Decodes the block at bytes[offset ..] into `block` (quants = nibble − 8). */
export function unpackQ4_0Block(bytes: Uint8Array, offset: number, block: UnpackedBlock): void {
  block.scale = float16ToFloat32(readUint16(bytes, offset));
  block.minScale = 0;
  block.subBlockScales[0] = 1;
  block.subBlockMins[0] = 0;
  for (let byte = 0; byte < 16; byte++) {
    const packed = bytes[offset + 2 + byte];
    block.quants[byte] = (packed & 0x0f) - 8;
    block.quants[byte + 16] = (packed >> 4) - 8;
  }
}

function quantizeNibble(value: number, inverse: number): number {
  const shifted = Math.fround(Math.fround(value * inverse) + 8.5);
  return Math.min(15, Math.trunc(shifted));
}

/** Encodes input (a whole number of blocks) into out, block after block. */
export function quantizeQ4_0(input: Float32Array, out: Uint8Array): void {
  const blocks = input.length / q4_0BlockSize;
  for (let blockIndex = 0; blockIndex < blocks; blockIndex++) {
    const first = blockIndex * q4_0BlockSize;
    const offset = blockIndex * q4_0BlockBytes;
    let largestMagnitude = 0;
    let signedLargest = 0;
    for (let index = first; index < first + q4_0BlockSize; index++) {
      if (Math.abs(input[index]) > largestMagnitude) {
        largestMagnitude = Math.abs(input[index]);
        signedLargest = input[index];
      }
    }
    const scale = Math.fround(signedLargest / -8);
    const inverse = scale !== 0 ? Math.fround(1 / scale) : 0;
    writeUint16(out, offset, float32ToFloat16(scale));
    for (let byte = 0; byte < 16; byte++) {
      const low = quantizeNibble(input[first + byte], inverse);
      const high = quantizeNibble(input[first + byte + 16], inverse);
      out[offset + 2 + byte] = low | (high << 4);
    }
  }
}

/** Decodes input (a whole number of blocks) into out. */
export function dequantizeQ4_0(input: Uint8Array, out: Float32Array): void {
  const block = createUnpackedBlock(q4_0BlockSize, q4_0SubBlockSize);
  const blocks = input.length / q4_0BlockBytes;
  for (let blockIndex = 0; blockIndex < blocks; blockIndex++) {
    unpackQ4_0Block(input, blockIndex * q4_0BlockBytes, block);
    dequantizeUnpackedBlock(block, out, blockIndex * q4_0BlockSize);
  }
}
