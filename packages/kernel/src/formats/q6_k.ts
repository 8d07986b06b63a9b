// q6_k: super-blocks of 256 values = 16 sub-blocks of 16, each with an int8 scale; 6-bit quants (210 bytes per block).
//
//   bytes 0..127    ql[128]: low 4 bits of the quants
//   bytes 128..191  qh[64]:  high 2 bits of the quants, four per byte
//   bytes 192..207  scales[16]: int8 sub-block scales
//   bytes 208..209  f16 d, little-endian
//
// ggml's layout: half n ∈ {0, 1} covers values 128n .. 128n + 127 with ql[64n ..], qh[32n ..], scales[8n ..].
// For l in 0..31 (is = floor(l / 16)):
//   value 128n + l      = ((ql[l] & 0xF)      | ((qh[l] >> 0) & 3) << 4) − 32, scale scales[is + 0]
//   value 128n + l + 32 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) − 32, scale scales[is + 2]
//   value 128n + l + 64 = ((ql[l] >> 4)       | ((qh[l] >> 4) & 3) << 4) − 32, scale scales[is + 4]
//   value 128n + l + 96 = ((ql[l + 32] >> 4)  | ((qh[l] >> 6) & 3) << 4) − 32, scale scales[is + 6]
// which works out to: value v uses scales[floor(v / 16)], so sub-block s is simply values 16s .. 16s + 15.
//
//   value = d · scales[s] · q        (q = 6-bit value − 32, in −32..31)
//
// The quantizer is symmetric and simpler than ggml's: per sub-block s = max |x| / 31, d = max s / 127 (stored f16),
// scales[s] = round(s / d), q = clamp(round(x / (d · scales[s])), −32, 31).

import { readInt8, readUint16, writeUint16 } from "./bytes.ts";
import { float16ToFloat32, float32ToFloat16 } from "./float16.ts";
import { roundHalfAwayFromZero } from "./rounding.ts";
import { createUnpackedBlock, dequantizeUnpackedBlock, type UnpackedBlock } from "./unpacked-block.ts";

export const q6_kBlockSize = 256;
export const q6_kBlockBytes = 210;
export const q6_kSubBlockSize = 16;
const subBlocks = 16;
const lowBitsOffset = 0;
const highBitsOffset = 128;
const scalesOffset = 192;
const scaleOffset = 208;

/** Decodes the block at bytes[offset ..] into `block` (quants = 6-bit value − 32). */
export function unpackQ6_kBlock(bytes: Uint8Array, offset: number, block: UnpackedBlock): void {
  block.scale = float16ToFloat32(readUint16(bytes, offset + scaleOffset));
  block.minScale = 0;
  for (let subBlock = 0; subBlock < subBlocks; subBlock++) {
    block.subBlockScales[subBlock] = readInt8(bytes, offset + scalesOffset + subBlock);
    block.subBlockMins[subBlock] = 0;
  }
  for (let half = 0; half < 2; half++) {
    const lowBits = offset + lowBitsOffset + 64 * half;
    const highBits = offset + highBitsOffset + 32 * half;
    const values = 128 * half;
    for (let l = 0; l < 32; l++) {
      const low = bytes[lowBits + l];
      const lowUpper = bytes[lowBits + l + 32];
      const high = bytes[highBits + l];
      block.quants[values + l] = ((low & 0x0f) | (((high >> 0) & 3) << 4)) - 32;
      block.quants[values + l + 32] = ((lowUpper & 0x0f) | (((high >> 2) & 3) << 4)) - 32;
      block.quants[values + l + 64] = ((low >> 4) | (((high >> 4) & 3) << 4)) - 32;
      block.quants[values + l + 96] = ((lowUpper >> 4) | (((high >> 6) & 3) << 4)) - 32;
    }
  }
}

/** Encodes `block` (scale f16-representable, sub-block scales −128..127, quants −32..31) at bytes[offset ..]. */
export function packQ6_kBlock(block: UnpackedBlock, bytes: Uint8Array, offset: number): void {
  writeUint16(bytes, offset + scaleOffset, float32ToFloat16(block.scale));
  for (let subBlock = 0; subBlock < subBlocks; subBlock++) {
    bytes[offset + scalesOffset + subBlock] = block.subBlockScales[subBlock] & 0xff;
  }
  for (let half = 0; half < 2; half++) {
    const lowBits = offset + lowBitsOffset + 64 * half;
    const highBits = offset + highBitsOffset + 32 * half;
    const values = 128 * half;
    for (let l = 0; l < 32; l++) {
      const first = block.quants[values + l] + 32; // 6-bit stored value of each of the four quants byte l covers
      const second = block.quants[values + l + 32] + 32;
      const third = block.quants[values + l + 64] + 32;
      const fourth = block.quants[values + l + 96] + 32;
      bytes[lowBits + l] = (first & 0x0f) | ((third & 0x0f) << 4);
      bytes[lowBits + l + 32] = (second & 0x0f) | ((fourth & 0x0f) << 4);
      bytes[highBits + l] = (first >> 4) | ((second >> 4) << 2) | ((third >> 4) << 4) | ((fourth >> 4) << 6);
    }
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

// Quantizer scratch, reused by every block.
const subBlockSteps = new Float64Array(subBlocks); // [16] max |x| / 31 per sub-block

/** Quantizes the 256 values at input[first ..] into `block`. */
function quantizeBlock(input: Float32Array, first: number, block: UnpackedBlock): void {
  let largestStep = 0;
  for (let subBlock = 0; subBlock < subBlocks; subBlock++) {
    let largestMagnitude = 0;
    for (let index = first + subBlock * q6_kSubBlockSize; index < first + (subBlock + 1) * q6_kSubBlockSize; index++) {
      largestMagnitude = Math.max(largestMagnitude, Math.abs(input[index]));
    }
    subBlockSteps[subBlock] = largestMagnitude / 31;
    largestStep = Math.max(largestStep, subBlockSteps[subBlock]);
  }

  block.scale = float16ToFloat32(float32ToFloat16(Math.fround(largestStep / 127)));
  block.minScale = 0;
  for (let subBlock = 0; subBlock < subBlocks; subBlock++) {
    const scale = block.scale !== 0 ? roundHalfAwayFromZero(subBlockSteps[subBlock] / block.scale) : 0;
    block.subBlockScales[subBlock] = clamp(scale, 0, 127);
    block.subBlockMins[subBlock] = 0;
  }

  for (let subBlock = 0; subBlock < subBlocks; subBlock++) {
    const valueScale = Math.fround(block.scale * block.subBlockScales[subBlock]);
    for (let index = subBlock * q6_kSubBlockSize; index < (subBlock + 1) * q6_kSubBlockSize; index++) {
      const quant = valueScale !== 0 ? roundHalfAwayFromZero(input[first + index] / valueScale) : 0;
      block.quants[index] = clamp(quant, -32, 31);
    }
  }
}

/** Encodes input (a whole number of blocks) into out, block after block. */
export function quantizeQ6_k(input: Float32Array, out: Uint8Array): void {
  const block = createUnpackedBlock(q6_kBlockSize, q6_kSubBlockSize);
  const blocks = input.length / q6_kBlockSize;
  for (let blockIndex = 0; blockIndex < blocks; blockIndex++) {
    quantizeBlock(input, blockIndex * q6_kBlockSize, block);
    packQ6_kBlock(block, out, blockIndex * q6_kBlockBytes);
  }
}

/** Decodes input (a whole number of blocks) into out. */
export function dequantizeQ6_k(input: Uint8Array, out: Float32Array): void {
  const block = createUnpackedBlock(q6_kBlockSize, q6_kSubBlockSize);
  const blocks = input.length / q6_kBlockBytes;
  for (let blockIndex = 0; blockIndex < blocks; blockIndex++) {
    unpackQ6_kBlock(input, blockIndex * q6_kBlockBytes, block);
    dequantizeUnpackedBlock(block, out, blockIndex * q6_kBlockSize);
  }
}
