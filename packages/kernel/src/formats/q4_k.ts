// q4_k: super-blocks of 256 values = 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min (144 bytes per block).
//
//   bytes 0..1     f16 d     (scale of the sub-block scales), little-endian
//   bytes 2..3     f16 dmin  (scale of the sub-block mins), little-endian
//   bytes 4..15    scales[12]: 8 × (6-bit scale sc[j], 6-bit min m[j]) packed as ggml's get_scale_min_k4:
//                    j < 4:  sc = scales[j] & 63,                               m = scales[j + 4] & 63
//                    j ≥ 4:  sc = (scales[j + 4] & 0xF) | ((scales[j − 4] >> 6) << 4),
//                            m  = (scales[j + 4] >> 4)  | ((scales[j] >> 6) << 4)
//   bytes 16..143  qs[128]: chunk c (0..3) is qs[32c .. 32c + 31]; byte i holds value 64c + i in its low nibble
//                  (sub-block 2c) and value 64c + 32 + i in its high nibble (sub-block 2c + 1)
//
//   value = d · sc[j] · q − dmin · m[j]        (q = nibble, 0..15)
//
// The quantizer is simpler than ggml's iterative search but sound:
//   1. per sub-block: low = min(0, min x), high = max x
//   2. mins: dmin = max(−low) / 63 (stored f16), m[j] = round(−low[j] / dmin)
//   3. scales: each sub-block must span high[j] + dmin·m[j] in 15 steps; d = max span / 15 / 63 (stored f16),
//      sc[j] = round(span[j] / 15 / d)
//   4. q = clamp(round((x + dmin·m[j]) / (d·sc[j])), 0, 15) with the stored (f16-rounded) d and dmin.

import { readUint16, writeUint16 } from "./bytes.ts";
import { float16ToFloat32, float32ToFloat16 } from "./float16.ts";
import { roundHalfAwayFromZero } from "./rounding.ts";
import { createUnpackedBlock, dequantizeUnpackedBlock, type UnpackedBlock } from "./unpacked-block.ts";

export const q4_kBlockSize = 256;
export const q4_kBlockBytes = 144;
export const q4_kSubBlockSize = 32;
const subBlocks = 8;
const scalesOffset = 4;
const quantsOffset = 16;

/** 6-bit scale of sub-block j (0..7) from the 12 packed bytes at bytes[scalesStart ..]. */
export function q4_kSubBlockScale(bytes: Uint8Array, scalesStart: number, j: number): number {
  if (j < 4) return bytes[scalesStart + j] & 63;
  return (bytes[scalesStart + j + 4] & 0x0f) | ((bytes[scalesStart + j - 4] >> 6) << 4);
}

/** 6-bit min of sub-block j (0..7) from the 12 packed bytes at bytes[scalesStart ..]. */
export function q4_kSubBlockMin(bytes: Uint8Array, scalesStart: number, j: number): number {
  if (j < 4) return bytes[scalesStart + j + 4] & 63;
  return (bytes[scalesStart + j + 4] >> 4) | ((bytes[scalesStart + j] >> 6) << 4);
}

/** Decodes the block at bytes[offset ..] into `block` (quants = nibbles 0..15). */
export function unpackQ4_kBlock(bytes: Uint8Array, offset: number, block: UnpackedBlock): void {
  block.scale = float16ToFloat32(readUint16(bytes, offset));
  block.minScale = float16ToFloat32(readUint16(bytes, offset + 2));
  for (let j = 0; j < subBlocks; j++) {
    block.subBlockScales[j] = q4_kSubBlockScale(bytes, offset + scalesOffset, j);
    block.subBlockMins[j] = q4_kSubBlockMin(bytes, offset + scalesOffset, j);
  }
  for (let chunk = 0; chunk < 4; chunk++) {
    for (let byte = 0; byte < 32; byte++) {
      const packed = bytes[offset + quantsOffset + 32 * chunk + byte];
      block.quants[64 * chunk + byte] = packed & 0x0f;
      block.quants[64 * chunk + 32 + byte] = packed >> 4;
    }
  }
}

/** Encodes `block` (scale and minScale already f16-representable, sub-block scales/mins 0..63, quants 0..15) at bytes[offset ..]. */
export function packQ4_kBlock(block: UnpackedBlock, bytes: Uint8Array, offset: number): void {
  writeUint16(bytes, offset, float32ToFloat16(block.scale));
  writeUint16(bytes, offset + 2, float32ToFloat16(block.minScale));
  const scales = offset + scalesOffset;
  bytes.fill(0, scales, scales + 12);
  for (let j = 0; j < subBlocks; j++) {
    const scale = block.subBlockScales[j];
    const min = block.subBlockMins[j];
    if (j < 4) {
      bytes[scales + j] |= scale;
      bytes[scales + j + 4] |= min;
    } else {
      bytes[scales + j + 4] = (scale & 0x0f) | ((min & 0x0f) << 4);
      bytes[scales + j - 4] |= (scale >> 4) << 6;
      bytes[scales + j] |= (min >> 4) << 6;
    }
  }
  for (let chunk = 0; chunk < 4; chunk++) {
    for (let byte = 0; byte < 32; byte++) {
      bytes[offset + quantsOffset + 32 * chunk + byte] = block.quants[64 * chunk + byte] | (block.quants[64 * chunk + 32 + byte] << 4);
    }
  }
}

/** Rounds a float32 value to the nearest f16 and returns it as a number. */
function roundToFloat16(value: number): number {
  return float16ToFloat32(float32ToFloat16(value));
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

// Quantizer scratch, reused by every block.
const lows = new Float64Array(subBlocks); // [8] min(0, smallest value) per sub-block
const highs = new Float64Array(subBlocks); // [8] largest value per sub-block
const steps = new Float64Array(subBlocks); // [8] step each sub-block needs to span its values in 15 steps

/** Quantizes the 256 values at input[first ..] into `block`. */
function quantizeBlock(input: Float32Array, first: number, block: UnpackedBlock): void {
  let largestNegatedLow = 0;
  for (let j = 0; j < subBlocks; j++) {
    let low = 0;
    let high = -Infinity;
    for (let index = first + j * q4_kSubBlockSize; index < first + (j + 1) * q4_kSubBlockSize; index++) {
      low = Math.min(low, input[index]);
      high = Math.max(high, input[index]);
    }
    lows[j] = low;
    highs[j] = high;
    largestNegatedLow = Math.max(largestNegatedLow, -low);
  }

  block.minScale = roundToFloat16(Math.fround(largestNegatedLow / 63));
  let largestStep = 0;
  for (let j = 0; j < subBlocks; j++) {
    const min = block.minScale !== 0 ? clamp(roundHalfAwayFromZero(-lows[j] / block.minScale), 0, 63) : 0;
    block.subBlockMins[j] = min;
    steps[j] = Math.max(0, highs[j] + block.minScale * min) / 15;
    largestStep = Math.max(largestStep, steps[j]);
  }

  block.scale = roundToFloat16(Math.fround(largestStep / 63));
  for (let j = 0; j < subBlocks; j++) {
    block.subBlockScales[j] = block.scale !== 0 ? clamp(roundHalfAwayFromZero(steps[j] / block.scale), 0, 63) : 0;
  }

  for (let j = 0; j < subBlocks; j++) {
    const valueScale = Math.fround(block.scale * block.subBlockScales[j]);
    const valueOffset = Math.fround(block.minScale * block.subBlockMins[j]);
    for (let index = j * q4_kSubBlockSize; index < (j + 1) * q4_kSubBlockSize; index++) {
      const quant = valueScale !== 0 ? roundHalfAwayFromZero((input[first + index] + valueOffset) / valueScale) : 0;
      block.quants[index] = clamp(quant, 0, 15);
    }
  }
}

/** Encodes input (a whole number of blocks) into out, block after block. */
export function quantizeQ4_k(input: Float32Array, out: Uint8Array): void {
  const block = createUnpackedBlock(q4_kBlockSize, q4_kSubBlockSize);
  const blocks = input.length / q4_kBlockSize;
  for (let blockIndex = 0; blockIndex < blocks; blockIndex++) {
    quantizeBlock(input, blockIndex * q4_kBlockSize, block);
    packQ4_kBlock(block, out, blockIndex * q4_kBlockBytes);
  }
}

/** Decodes input (a whole number of blocks) into out. */
export function dequantizeQ4_k(input: Uint8Array, out: Float32Array): void {
  const block = createUnpackedBlock(q4_kBlockSize, q4_kSubBlockSize);
  const blocks = input.length / q4_kBlockBytes;
  for (let blockIndex = 0; blockIndex < blocks; blockIndex++) {
    unpackQ4_kBlock(input, blockIndex * q4_kBlockBytes, block);
    dequantizeUnpackedBlock(block, out, blockIndex * q4_kBlockSize);
  }
}
