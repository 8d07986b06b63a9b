// Bit-exact conversions between float32 and the two 16-bit float formats, IEEE half (f16) and bfloat16 (bf16).
// Inputs are float32 values (a JS number is first rounded to float32, as storing it in a float C variable would).
// Both encoders round to nearest, ties to even, like the native addon (native/formats.h) and ggml.

import { roundHalfToEven } from "./rounding.ts";

// Shared scratch for reinterpreting float32 bits; one element, reused by every call.
const scratchFloat = new Float32Array(1); // [1]
const scratchBits = new Uint32Array(scratchFloat.buffer); // [1], aliases scratchFloat

function bitsOfFloat32(value: number): number {
  scratchFloat[0] = value;
  return scratchBits[0];
}

function float32OfBits(bits: number): number {
  scratchBits[0] = bits;
  return scratchFloat[0];
}

const float16SubnormalStep = 2 ** -24; // value of the f16 bit pattern 0x0001

/** Encodes a float32 as f16 bits: round to nearest even, ≥ 65520 in magnitude → ±inf, tiny values → subnormals or ±0, NaN → quiet NaN. */
export function float32ToFloat16(value: number): number {
  const bits = bitsOfFloat32(value);
  const sign = (bits >>> 16) & 0x8000;
  const magnitudeBits = bits & 0x7fffffff;
  if (magnitudeBits >= 0x7f800000) {
    // infinity stays infinity; any NaN becomes a quiet NaN
    return sign | 0x7c00 | (magnitudeBits > 0x7f800000 ? 0x0200 : 0);
  }
  // 65520 (0x477ff000) is halfway between 65504, the largest half, and 65536; the tie goes to the even side: infinity.
  if (magnitudeBits >= 0x477ff000) return sign | 0x7c00;
  if (magnitudeBits < 0x38800000) {
    // below 2^-14 the result is subnormal: an integer count of 2^-24 steps (the multiplication is exact)
    const steps = roundHalfToEven(float32OfBits(magnitudeBits) / float16SubnormalStep);
    return sign | steps;
  }
  // normal: drop 13 mantissa bits with round-to-nearest-even, then rebias the exponent from 127 to 15 (127 − 15 = 112 = 0x38000000 >> 23).
  const rounded = magnitudeBits + 0x0fff + ((magnitudeBits >>> 13) & 1);
  return sign | ((rounded - 0x38000000) >>> 13);
}

/** Decodes f16 bits to the (exactly representable) float32 value. */
export function float16ToFloat32(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x03ff;
  if (exponent === 0) {
    const magnitude = mantissa * float16SubnormalStep;
    return sign ? -magnitude : magnitude;
  }
  if (exponent === 31) return float32OfBits((sign | 0x7f800000 | (mantissa << 13)) >>> 0);
  return float32OfBits((sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0);
}

/** Encodes a float32 as bf16 bits (its upper 16 bits) with round-to-nearest-even; NaN stays a quiet NaN. */
export function float32ToBfloat16(value: number): number {
  const bits = bitsOfFloat32(value);
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x0040) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decodes bf16 bits to float32. */
export function bfloat16ToFloat32(half: number): number {
  return float32OfBits(((half & 0xffff) << 16) >>> 0);
}
