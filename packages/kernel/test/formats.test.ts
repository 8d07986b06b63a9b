// Bit-exactness of the storage formats: f16/bf16 conversions, and the q8_0, q4_0, q4_k and q6_k block layouts
// checked against hand-built blocks, against a line-by-line transcription of ggml's dequantize_row_* loops, and
// for round-trip error bounds. Also the activation quantization matmul uses.

import { describe, expect, it } from "vitest";
import { allDTypes, dtypeInfo, type DType } from "../src/dtype.ts";
import { quantizeActivations } from "../src/formats/activation-quantization.ts";
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from "../src/formats/float16.ts";
import { dequantizeRow, dequantizeTensor, quantizeRow, quantizeTensor } from "../src/formats/index.ts";
import { packQ4_kBlock, q4_kSubBlockMin, q4_kSubBlockScale, unpackQ4_kBlock } from "../src/formats/q4_k.ts";
import { packQ6_kBlock, unpackQ6_kBlock } from "../src/formats/q6_k.ts";
import { createUnpackedBlock } from "../src/formats/unpacked-block.ts";
import { createRandom, randomValues, relativeError } from "./helpers.ts";

const fround = Math.fround;

function littleEndianFloat16(bytes: Uint8Array, offset: number): number {
  return float16ToFloat32(bytes[offset] | (bytes[offset + 1] << 8));
}

function randomBytes(count: number, seed: number): Uint8Array {
  const random = createRandom(seed);
  const bytes = new Uint8Array(count); // [count]
  for (let index = 0; index < count; index++) bytes[index] = Math.floor(random() * 256);
  return bytes;
}

/** Writes a random, finite, normal f16 scale (magnitude about 2^-10 .. 2^2) at bytes[offset ..]. */
function writeRandomScale(bytes: Uint8Array, offset: number, random: () => number, allowNegative = true): void {
  const exponent = 5 + Math.floor(random() * 12);
  const sign = allowNegative && random() < 0.5 ? 0x8000 : 0;
  const half = sign | (exponent << 10) | Math.floor(random() * 1024);
  bytes[offset] = half & 0xff;
  bytes[offset + 1] = half >> 8;
}

// ---- ggml's dequantize_row_* loops, transcribed (float math emulated with fround) ----

function ggmlDequantizeQ8_0(bytes: Uint8Array, count: number): Float32Array {
  const y = new Float32Array(count); // [count]
  for (let block = 0; block < count / 32; block++) {
    const d = littleEndianFloat16(bytes, block * 34);
    for (let j = 0; j < 32; j++) y[block * 32 + j] = fround(((bytes[block * 34 + 2 + j] << 24) >> 24) * d);
  }
  return y;
}

function ggmlDequantizeQ4_0(bytes: Uint8Array, count: number): Float32Array {
  const y = new Float32Array(count); // [count]
  for (let block = 0; block < count / 32; block++) {
    const d = littleEndianFloat16(bytes, block * 18);
    for (let j = 0; j < 16; j++) {
      const x0 = (bytes[block * 18 + 2 + j] & 0x0f) - 8;
      const x1 = (bytes[block * 18 + 2 + j] >> 4) - 8;
      y[block * 32 + j] = fround(x0 * d);
      y[block * 32 + j + 16] = fround(x1 * d);
    }
  }
  return y;
}

function ggmlGetScaleMinK4(j: number, q: Uint8Array): [number, number] {
  if (j < 4) return [q[j] & 63, q[j + 4] & 63];
  return [(q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4)];
}

function ggmlDequantizeQ4_K(bytes: Uint8Array, count: number): Float32Array {
  const y = new Float32Array(count); // [count]
  let output = 0;
  for (let block = 0; block < count / 256; block++) {
    const base = block * 144;
    const d = littleEndianFloat16(bytes, base);
    const min = littleEndianFloat16(bytes, base + 2);
    const scales = bytes.subarray(base + 4, base + 16);
    let q = base + 16;
    let is = 0;
    for (let j = 0; j < 256; j += 64) {
      const [sc1, m1] = ggmlGetScaleMinK4(is + 0, scales);
      const d1 = fround(d * sc1);
      const min1 = fround(min * m1);
      const [sc2, m2] = ggmlGetScaleMinK4(is + 1, scales);
      const d2 = fround(d * sc2);
      const min2 = fround(min * m2);
      for (let l = 0; l < 32; ++l) y[output++] = fround(fround(d1 * (bytes[q + l] & 0xf)) - min1);
      for (let l = 0; l < 32; ++l) y[output++] = fround(fround(d2 * (bytes[q + l] >> 4)) - min2);
      q += 32;
      is += 2;
    }
  }
  return y;
}

function ggmlDequantizeQ6_K(bytes: Uint8Array, count: number): Float32Array {
  const y = new Float32Array(count); // [count]
  for (let block = 0; block < count / 256; block++) {
    const base = block * 210;
    const d = littleEndianFloat16(bytes, base + 208);
    let ql = base;
    let qh = base + 128;
    let sc = base + 192;
    let output = block * 256;
    for (let n = 0; n < 256; n += 128) {
      for (let l = 0; l < 32; ++l) {
        const is = Math.floor(l / 16);
        const q1 = ((bytes[ql + l + 0] & 0xf) | (((bytes[qh + l] >> 0) & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32] & 0xf) | (((bytes[qh + l] >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l + 0] >> 4) | (((bytes[qh + l] >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32] >> 4) | (((bytes[qh + l] >> 6) & 3) << 4)) - 32;
        const scale = (index: number): number => (bytes[sc + index] << 24) >> 24;
        y[output + l + 0] = fround(fround(d * scale(is + 0)) * q1);
        y[output + l + 32] = fround(fround(d * scale(is + 2)) * q2);
        y[output + l + 64] = fround(fround(d * scale(is + 4)) * q3);
        y[output + l + 96] = fround(fround(d * scale(is + 6)) * q4);
      }
      output += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
  return y;
}

function dequantized(dtype: DType, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count); // [count]
  dequantizeRow(dtype, bytes, out);
  return out;
}

function quantized(dtype: DType, values: Float32Array): Uint8Array {
  const out = new Uint8Array((values.length / dtypeInfo[dtype].blockSize) * dtypeInfo[dtype].blockBytes);
  quantizeRow(dtype, values, out);
  return out;
}

describe("float16", () => {
  it("encodes exactly representable values", () => {
    expect(float32ToFloat16(1)).toBe(0x3c00);
    expect(float32ToFloat16(-2)).toBe(0xc000);
    expect(float32ToFloat16(0.5)).toBe(0x3800);
    expect(float32ToFloat16(0)).toBe(0x0000);
    expect(float32ToFloat16(-0)).toBe(0x8000);
    expect(float32ToFloat16(65504)).toBe(0x7bff); // largest finite half
    expect(float32ToFloat16(2 ** -14)).toBe(0x0400); // smallest normal
    expect(float32ToFloat16(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16(1023 * 2 ** -24)).toBe(0x03ff); // largest subnormal
  });

  it("overflows to infinity from 65520 up (the tie above 65504 rounds to even = infinity)", () => {
    expect(float32ToFloat16(65519)).toBe(0x7bff);
    expect(float32ToFloat16(65520)).toBe(0x7c00);
    expect(float32ToFloat16(1e6)).toBe(0x7c00);
    expect(float32ToFloat16(-1e6)).toBe(0xfc00);
    expect(float32ToFloat16(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16(-Infinity)).toBe(0xfc00);
  });

  it("rounds to nearest, ties to even, for normals and subnormals", () => {
    expect(float32ToFloat16(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1 + 2^-10: even is 1
    expect(float32ToFloat16(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway between 0x3c01 and 0x3c02: even is 0x3c02
    expect(float32ToFloat16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above the tie rounds up
    expect(float32ToFloat16(2 ** -25)).toBe(0x0000); // half the smallest subnormal: tie to even 0
    expect(float32ToFloat16(3 * 2 ** -25)).toBe(0x0002); // 1.5 steps: tie to even 2
    expect(float32ToFloat16(5 * 2 ** -25)).toBe(0x0002); // 2.5 steps: tie to even 2
    expect(float32ToFloat16(2 ** -26)).toBe(0x0000); // below half a step
    expect(float32ToFloat16(2 ** -14 - 2 ** -25)).toBe(0x0400); // 1023.5 subnormal steps: tie rounds up into the smallest normal
    expect(float32ToFloat16(-(3 * 2 ** -25))).toBe(0x8002);
  });

  it("keeps NaN a NaN", () => {
    const half = float32ToFloat16(NaN);
    expect(half & 0x7c00).toBe(0x7c00);
    expect(half & 0x03ff).not.toBe(0);
    expect(float16ToFloat32(half)).toBeNaN();
  });

  it("decodes", () => {
    expect(float16ToFloat32(0x3c00)).toBe(1);
    expect(float16ToFloat32(0xc000)).toBe(-2);
    expect(float16ToFloat32(0x7bff)).toBe(65504);
    expect(float16ToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16ToFloat32(0x8001)).toBe(-(2 ** -24));
    expect(float16ToFloat32(0x0400)).toBe(2 ** -14);
    expect(float16ToFloat32(0x3555)).toBe(fround(0.333251953125));
    expect(float16ToFloat32(0x7c00)).toBe(Infinity);
    expect(float16ToFloat32(0xfc00)).toBe(-Infinity);
    expect(Object.is(float16ToFloat32(0x8000), -0)).toBe(true);
    expect(float16ToFloat32(0x7e00)).toBeNaN();
  });

  it("round-trips every one of the 65536 bit patterns (NaNs stay NaN)", () => {
    for (let half = 0; half < 0x10000; half++) {
      const value = float16ToFloat32(half);
      const isNaN = (half & 0x7c00) === 0x7c00 && (half & 0x03ff) !== 0;
      if (isNaN) expect(Number.isNaN(value)).toBe(true);
      else if (float32ToFloat16(value) !== half) expect(float32ToFloat16(value)).toBe(half);
    }
  });
});

describe("bfloat16", () => {
  it("encodes, rounding to nearest even on the upper 16 bits", () => {
    expect(float32ToBfloat16(1)).toBe(0x3f80);
    expect(float32ToBfloat16(-2)).toBe(0xc000);
    expect(float32ToBfloat16(1 + 2 ** -8)).toBe(0x3f80); // tie between 1 and 1 + 2^-7: even is 1
    expect(float32ToBfloat16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie between 0x3f81 and 0x3f82: even
    expect(float32ToBfloat16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // above the tie
    expect(float32ToBfloat16(Infinity)).toBe(0x7f80);
    expect(float32ToBfloat16(3.4028234663852886e38)).toBe(0x7f80); // float32 max is past bf16's last tie: infinity
  });

  it("keeps NaN a quiet NaN", () => {
    const half = float32ToBfloat16(NaN);
    expect(half & 0x7fc0).toBe(0x7fc0); // exponent all ones and the quiet bit set
    expect(bfloat16ToFloat32(half)).toBeNaN();
  });

  it("round-trips every non-NaN bit pattern", () => {
    for (let half = 0; half < 0x10000; half++) {
      const value = bfloat16ToFloat32(half);
      const isNaN = (half & 0x7f80) === 0x7f80 && (half & 0x007f) !== 0;
      if (isNaN) expect(Number.isNaN(value)).toBe(true);
      else if (float32ToBfloat16(value) !== half) expect(float32ToBfloat16(value)).toBe(half);
    }
  });
});

describe("q8_0", () => {
  it("decodes a hand-built block: f16 d little-endian, then 32 int8", () => {
    const bytes = new Uint8Array(34);
    bytes[0] = 0x00; // d = 0.5 = f16 0x3800, low byte first
    bytes[1] = 0x38;
    const quants = [-128, -127, -5, -1, 0, 1, 2, 127]; // repeated to fill 32
    for (let index = 0; index < 32; index++) bytes[2 + index] = quants[index % 8] & 0xff;
    const values = dequantized("q8_0", bytes, 32);
    for (let index = 0; index < 32; index++) expect(values[index]).toBe(0.5 * quants[index % 8]);
  });

  it("quantizes like quantize_row_q8_0_ref: d = amax/127 as f16, roundf halves away from zero", () => {
    const input = new Float32Array(32); // amax 127 → d = 1, inverse 1, so q = roundf(x)
    input.set([127, 2.5, -2.5, 0.5, -0.5, 1.49, -126.5, 3.5]);
    const bytes = quantized("q8_0", input);
    expect([bytes[0], bytes[1]]).toEqual([0x00, 0x3c]); // f16(1) little-endian
    const quants = Array.from(new Int8Array(bytes.buffer, 2, 8));
    expect(quants).toEqual([127, 3, -3, 1, -1, 1, -127, 4]);

    const ramp = new Float32Array(32).map((_, index) => index - 16); // amax 16: d = 16/127, f16 0x3008
    const rampBytes = quantized("q8_0", ramp);
    expect([rampBytes[0], rampBytes[1]]).toEqual([0x08, 0x30]);
    expect(new Int8Array(rampBytes.buffer, 2, 32)[0]).toBe(-127); // −16 · 127/16
    expect(new Int8Array(rampBytes.buffer, 2, 32)[17]).toBe(8); // 1 · 7.9375 = 7.9375 → 8
  });

  it("an all-zero block has d = 0 and zero quants", () => {
    expect(Array.from(quantized("q8_0", new Float32Array(32)))).toEqual(new Array(34).fill(0));
  });

  it("matches ggml's dequantize_row_q8_0 on random blocks", () => {
    const random = createRandom(11);
    const bytes = randomBytes(34 * 8, 12);
    for (let block = 0; block < 8; block++) writeRandomScale(bytes, block * 34, random);
    expect(dequantized("q8_0", bytes, 256)).toEqual(ggmlDequantizeQ8_0(bytes, 256));
  });

  it("round-trips within d/2 per value plus the f16 rounding of d", () => {
    const input = randomValues(32 * 64, 13, 1, "normal");
    const output = dequantized("q8_0", quantized("q8_0", input), input.length);
    for (let block = 0; block < 64; block++) {
      let amax = 0;
      for (let index = 0; index < 32; index++) amax = Math.max(amax, Math.abs(input[block * 32 + index]));
      const d = amax / 127;
      // rounding to the nearest of 255 steps costs ≤ d/2 (1e-4·d covers the float32 x·(1/d));
      // storing d as f16 (relative error ≤ 2^-11) moves a value with |q| ≤ 127 by ≤ 127·d·2^-11
      const bound = d * (0.5 + 1e-4 + 127 / 2048);
      for (let index = 0; index < 32; index++) {
        expect(Math.abs(output[block * 32 + index] - input[block * 32 + index])).toBeLessThanOrEqual(bound);
      }
    }
    expect(relativeError(output, input)).toBeLessThan(0.0065); // measured 0.0053 on normal data; uniform-step noise is d/√12
  });
});

describe("q4_0", () => {
  it("decodes a hand-built block: byte j = value j (low nibble) and value j + 16 (high nibble)", () => {
    const bytes = new Uint8Array(18);
    bytes[0] = 0x00; // d = 0.25 = f16 0x3400
    bytes[1] = 0x34;
    for (let j = 0; j < 16; j++) bytes[2 + j] = j | ((15 - j) << 4);
    const values = dequantized("q4_0", bytes, 32);
    for (let j = 0; j < 16; j++) {
      expect(values[j]).toBe(0.25 * (j - 8));
      expect(values[j + 16]).toBe(0.25 * (15 - j - 8));
    }
  });

  it("quantizes like quantize_row_q4_0_ref: d = signed max / −8, nibble = min(15, trunc(x/d + 8.5))", () => {
    const input = new Float32Array(32); // max = −8 → d = 1, so nibble = min(15, trunc(x + 8.5))
    input.set([-8, 7, 7.4, 7.6, -0.5, -0.6, 0.49, 3]);
    input[16] = 1; // lands in the high nibble of byte 0
    input[17] = -3;
    const bytes = quantized("q4_0", input);
    expect([bytes[0], bytes[1]]).toEqual([0x00, 0x3c]); // f16(1)
    const low = Array.from(bytes.subarray(2, 10), (byte) => byte & 0x0f);
    expect(low).toEqual([0, 15, 15, 15, 8, 7, 8, 11]); // 7.6 + 8.5 = 16.1 clamps to 15; −0.6 + 8.5 = 7.9 truncates to 7
    expect(bytes[2] >> 4).toBe(9); // value 16: 1 + 8.5 → 9
    expect(bytes[3] >> 4).toBe(5); // value 17: −3 + 8.5 → 5
    expect(bytes[4] >> 4).toBe(8); // value 18 is 0 → 8

    const positive = new Float32Array(32); // max = +8 → d = −1 (f16 0xbc00): the largest value maps to nibble 0
    positive.set([8, -7, 2]);
    const positiveBytes = quantized("q4_0", positive);
    expect([positiveBytes[0], positiveBytes[1]]).toEqual([0x00, 0xbc]);
    expect(Array.from(positiveBytes.subarray(2, 5), (byte) => byte & 0x0f)).toEqual([0, 15, 6]);
  });

  it("matches ggml's dequantize_row_q4_0 on random blocks", () => {
    const random = createRandom(21);
    const bytes = randomBytes(18 * 8, 22);
    for (let block = 0; block < 8; block++) writeRandomScale(bytes, block * 18, random);
    expect(dequantized("q4_0", bytes, 256)).toEqual(ggmlDequantizeQ4_0(bytes, 256));
  });

  it("round-trips within |d|/2 per value (|d| where the top nibble clamps) plus the f16 rounding of d", () => {
    const input = randomValues(32 * 64, 23, 1, "normal");
    const output = dequantized("q4_0", quantized("q4_0", input), input.length);
    for (let block = 0; block < 64; block++) {
      let signedMax = 0;
      for (let index = 0; index < 32; index++) {
        if (Math.abs(input[block * 32 + index]) > Math.abs(signedMax)) signedMax = input[block * 32 + index];
      }
      const d = signedMax / -8;
      for (let index = 0; index < 32; index++) {
        const value = input[block * 32 + index];
        // nibble − 8 = round(x/d) within −8..7; x/d in (7.5, 8] clamps to 7 and costs up to |d|.
        // f16 storage of d (relative ≤ 2^-11) moves a value with |nibble − 8| ≤ 8 by ≤ 8·|d|·2^-11.
        const clamped = value / d > 7.5;
        const bound = Math.abs(d) * ((clamped ? 1 : 0.5) + 1e-4 + 8 / 2048);
        expect(Math.abs(output[block * 32 + index] - value)).toBeLessThanOrEqual(bound);
      }
    }
    expect(relativeError(output, input)).toBeLessThan(0.1); // measured 0.085 on normal data (16 levels over ±max)
  });
});

describe("q4_k", () => {
  const scales = [1, 2, 3, 4, 33, 40, 50, 63]; // sc[j]
  const mins = [0, 5, 10, 20, 17, 34, 48, 63]; // m[j]
  // The 12 packed bytes, worked out by hand from get_scale_min_k4:
  //   bytes 0..3  = sc[j] | (sc[j+4] >> 4) << 6;   bytes 4..7 = m[j] | (m[j+4] >> 4) << 6;
  //   bytes 8..11 = (sc[j+4] & 15) | (m[j+4] & 15) << 4
  const packedScales = [129, 130, 195, 196, 64, 133, 202, 212, 17, 40, 2, 255];
  const nibbleOf = (value: number): number => (value * 7 + 3) % 16;

  function handBuiltBlock(): Uint8Array {
    const bytes = new Uint8Array(144);
    bytes.set([0x00, 0x38], 0); // d = 0.5
    bytes.set([0x00, 0x34], 2); // dmin = 0.25
    bytes.set(packedScales, 4);
    for (let chunk = 0; chunk < 4; chunk++) {
      for (let byte = 0; byte < 32; byte++) {
        bytes[16 + 32 * chunk + byte] = nibbleOf(64 * chunk + byte) | (nibbleOf(64 * chunk + 32 + byte) << 4);
      }
    }
    return bytes;
  }

  it("unpacks the 6-bit scales and mins (get_scale_min_k4)", () => {
    const bytes = new Uint8Array(packedScales);
    for (let j = 0; j < 8; j++) {
      expect(q4_kSubBlockScale(bytes, 0, j)).toBe(scales[j]);
      expect(q4_kSubBlockMin(bytes, 0, j)).toBe(mins[j]);
    }
  });

  it("decodes a hand-built block: value = d·sc·q − dmin·m", () => {
    const values = dequantized("q4_k", handBuiltBlock(), 256);
    for (let value = 0; value < 256; value++) {
      const subBlock = Math.floor(value / 32); // chunk c low nibbles = sub-block 2c, high nibbles = 2c + 1
      expect(values[value]).toBe(0.5 * scales[subBlock] * nibbleOf(value) - 0.25 * mins[subBlock]); // all exact in f32
    }
  });

  it("matches ggml's dequantize_row_q4_K on random blocks", () => {
    const random = createRandom(31);
    const bytes = randomBytes(144 * 4, 32);
    for (let block = 0; block < 4; block++) {
      writeRandomScale(bytes, block * 144, random, false);
      writeRandomScale(bytes, block * 144 + 2, random, false);
    }
    expect(dequantized("q4_k", bytes, 1024)).toEqual(ggmlDequantizeQ4_K(bytes, 1024));
  });

  it("packs what it unpacks, byte for byte", () => {
    const random = createRandom(33);
    const bytes = randomBytes(144, 34);
    writeRandomScale(bytes, 0, random, false);
    writeRandomScale(bytes, 2, random, false);
    const block = createUnpackedBlock(256, 32);
    unpackQ4_kBlock(bytes, 0, block);
    const repacked = new Uint8Array(144);
    packQ4_kBlock(block, repacked, 0);
    expect(repacked).toEqual(bytes);
  });

  it("quantizes known input into the expected bytes (f16 d, scales, nibble order)", () => {
    const input = new Float32Array(256); // sub-block 0: 0..15 twice, sub-block 1: 15..0 twice, rest 0
    for (let index = 0; index < 32; index++) {
      input[index] = index % 16;
      input[32 + index] = 15 - (index % 16);
    }
    const bytes = quantized("q4_k", input);
    // no negative values → dmin = 0; the largest step is 15/15 = 1 → d = f16(1/63) = 0x2410 → sc = round(1/d) = 63
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x10, 0x24, 0x00, 0x00]);
    expect(Array.from(bytes.subarray(4, 16))).toEqual([63, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (let byte = 0; byte < 32; byte++) {
      // chunk 0, byte i: low nibble = value i (sub-block 0), high nibble = value 32 + i (sub-block 1)
      expect(bytes[16 + byte]).toBe((byte % 16) | ((15 - (byte % 16)) << 4));
    }
    expect(Array.from(bytes.subarray(48))).toEqual(new Array(96).fill(0));
    expect(Array.from(dequantized("q4_k", bytes, 256))).toEqual(Array.from(input, (value) => fround(fround(0.015869140625 * 63) * value)));
  });

  it("round-trips random data within a measured relative RMS error", () => {
    const normal = randomValues(256 * 64, 35, 1, "normal");
    const uniform = randomValues(256 * 64, 36, 1, "uniform");
    // measured 0.0775 (normal) and 0.0608 (uniform); 16 levels per 32 values, with 6-bit scales and mins; ~15% margin
    expect(relativeError(dequantized("q4_k", quantized("q4_k", normal), normal.length), normal)).toBeLessThan(0.09);
    expect(relativeError(dequantized("q4_k", quantized("q4_k", uniform), uniform.length), uniform)).toBeLessThan(0.07);
  });
});

describe("q6_k", () => {
  const scales = [-3, 5, 7, -128, 127, 1, 0, -1, 2, 3, 4, 5, 6, 7, 8, 9]; // int8 sub-block scales
  const sixBitsOf = (value: number): number => (value * 13 + 5) % 64; // stored 6-bit value of each of the 256

  /** ggml's scale index for a value: in half n, value 32k + l (k = 0..3) uses scales[8n + 2k + floor(l / 16)]. */
  function scaleIndexOf(value: number): number {
    const half = Math.floor(value / 128);
    const quarter = Math.floor((value % 128) / 32);
    return 8 * half + 2 * quarter + Math.floor((value % 32) / 16);
  }

  function handBuiltBlock(): Uint8Array {
    const bytes = new Uint8Array(210);
    for (let half = 0; half < 2; half++) {
      for (let l = 0; l < 32; l++) {
        const [q1, q2, q3, q4] = [0, 32, 64, 96].map((shift) => sixBitsOf(128 * half + l + shift));
        bytes[64 * half + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        bytes[64 * half + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        bytes[128 + 32 * half + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
    scales.forEach((scale, index) => (bytes[192 + index] = scale & 0xff));
    bytes.set([0x00, 0x30], 208); // d = 0.125
    return bytes;
  }

  it("decodes a hand-built block: value = d·scale·(q − 32)", () => {
    const values = dequantized("q6_k", handBuiltBlock(), 256);
    for (let value = 0; value < 256; value++) {
      expect(scaleIndexOf(value)).toBe(Math.floor(value / 16)); // so sub-block s is values 16s .. 16s + 15
      expect(values[value]).toBe(0.125 * scales[scaleIndexOf(value)] * (sixBitsOf(value) - 32)); // exact in f32
    }
  });

  it("matches ggml's dequantize_row_q6_K on random blocks", () => {
    const random = createRandom(41);
    const bytes = randomBytes(210 * 4, 42);
    for (let block = 0; block < 4; block++) writeRandomScale(bytes, block * 210 + 208, random);
    expect(dequantized("q6_k", bytes, 1024)).toEqual(ggmlDequantizeQ6_K(bytes, 1024));
  });

  it("packs what it unpacks, byte for byte", () => {
    const random = createRandom(43);
    const bytes = randomBytes(210, 44);
    writeRandomScale(bytes, 208, random);
    const block = createUnpackedBlock(256, 16);
    unpackQ6_kBlock(bytes, 0, block);
    const repacked = new Uint8Array(210);
    packQ6_kBlock(block, repacked, 0);
    expect(repacked).toEqual(bytes);
  });

  it("quantizes known input into the expected bytes (ql, qh, scales, f16 d at the end)", () => {
    const input = new Float32Array(256);
    input[5] = 31; // sub-block 0: max |x| = 31 → step 1 → d = f16(1/127) = 0x2008 → scale round(1/d) = 127, q = 31
    const bytes = quantized("q6_k", input);
    // every other value is q = 0, stored 32 = 0b10_0000: low nibble 0, high bits 2
    const expectedLow = new Array(128).fill(0);
    expectedLow[5] = 63 & 0xf; // value 5 stored 31 + 32 = 63: low nibble 15 in ql[5]'s low half
    expect(Array.from(bytes.subarray(0, 128))).toEqual(expectedLow);
    const expectedHigh = new Array(64).fill(0b10101010); // four 2-bit fields of 2
    expectedHigh[5] = 0b10101011; // value 5's high bits (63 >> 4 = 3) in bits 0..1 of qh[5]
    expect(Array.from(bytes.subarray(128, 192))).toEqual(expectedHigh);
    expect(Array.from(bytes.subarray(192, 208))).toEqual([127, ...new Array(15).fill(0)]);
    expect(Array.from(bytes.subarray(208, 210))).toEqual([0x08, 0x20]);
  });

  it("round-trips random data within a measured relative RMS error", () => {
    const normal = randomValues(256 * 64, 45, 1, "normal");
    const uniform = randomValues(256 * 64, 46, 1, "uniform");
    // measured 0.0191 (normal) and 0.0148 (uniform); 63 levels per 16 values with 8-bit scales; ~15% margin
    expect(relativeError(dequantized("q6_k", quantized("q6_k", normal), normal.length), normal)).toBeLessThan(0.023);
    expect(relativeError(dequantized("q6_k", quantized("q6_k", uniform), uniform.length), uniform)).toBeLessThan(0.018);
  });
});

describe("tensor helpers", () => {
  it("encode and decode every dtype over several rows; rows are independent", () => {
    for (const dtype of allDTypes) {
      const columns = 512;
      const values = randomValues(3 * columns, 51, 2);
      const tensor = quantizeTensor(dtype, [3, columns], values);
      expect(tensor.dtype).toBe(dtype);
      expect(tensor.shape).toEqual([3, columns]);
      const decoded = dequantizeTensor(tensor);
      for (let row = 0; row < 3; row++) {
        const rowValues = values.subarray(row * columns, (row + 1) * columns);
        const single = dequantizeTensor(quantizeTensor(dtype, [columns], rowValues));
        expect(decoded.subarray(row * columns, (row + 1) * columns)).toEqual(single);
      }
      if (dtype === "f32") expect(decoded).toEqual(values);
      // worst format is q4_0 at ~0.085 relative RMS on normal-ish data; 0.12 catches a broken layout, not noise
      expect(relativeError(decoded, values)).toBeLessThan(0.12);
    }
  });

  it("decodes f16 and bf16 tensors element by element", () => {
    const values = new Float32Array([1, -2, 0.1, 65504, 1e-8]);
    expect(dequantizeTensor(quantizeTensor("f16", [5], values))).toEqual(
      new Float32Array(Array.from(values, (value) => float16ToFloat32(float32ToFloat16(value)))),
    );
    expect(dequantizeTensor(quantizeTensor("bf16", [5], values))).toEqual(
      new Float32Array(Array.from(values, (value) => bfloat16ToFloat32(float32ToBfloat16(value)))),
    );
  });

  it("rejects rows that are not whole blocks and mismatched lengths", () => {
    expect(() => quantizeTensor("q4_0", [2, 48], new Float32Array(96))).toThrow(/multiple of 32/);
    expect(() => quantizeTensor("q8_0", [2, 64], new Float32Array(100))).toThrow(/100 values do not fill shape \[2, 64\]/);
    expect(() => quantizeRow("q8_0", new Float32Array(32), new Uint8Array(33))).toThrow(/not a whole number of q8_0 blocks/);
    expect(() => dequantizeRow("f16", new Uint8Array(2), new Float32Array(1))).toThrow(/f16 is not a block format/);
  });
});

describe("activation quantization", () => {
  it("rounds half to even and keeps d as float32 (not f16)", () => {
    const row = new Float32Array(32); // amax 127 → d = 1, q = roundHalfToEven(x)
    row.set([127, 2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 126.5]);
    const { values, scales } = quantizeActivations(row, 32);
    expect(Array.from(values.subarray(0, 8))).toEqual([127, 2, 4, -2, -4, 0, 0, 126]);
    expect(scales[0]).toBe(1);

    const small = new Float32Array(32).fill(0.25);
    small[3] = 1; // amax 1 → d = float32(1/127), which f16 could not hold exactly
    const quantizedSmall = quantizeActivations(small, 32);
    expect(quantizedSmall.scales[0]).toBe(fround(1 / 127));
    expect(quantizedSmall.scales[0]).not.toBe(float16ToFloat32(float32ToFloat16(1 / 127)));
    expect(quantizedSmall.values[3]).toBe(127);
    expect(quantizedSmall.values[0]).toBe(32); // 0.25 · fround(1/fround(1/127)) = 31.75 → 32
  });

  it("quantizes each block independently with d = amax/127, |q| ≤ 127, and a zero block gives zeros", () => {
    const row = randomValues(512, 61, 3, "normal");
    row.fill(0, 256, 288); // one all-zero block of 32
    for (const blockSize of [32, 256]) {
      const { values, scales } = quantizeActivations(row, blockSize);
      expect(scales.length).toBe(512 / blockSize);
      for (let block = 0; block < scales.length; block++) {
        let amax = 0;
        for (let index = 0; index < blockSize; index++) amax = Math.max(amax, Math.abs(row[block * blockSize + index]));
        expect(scales[block]).toBe(fround(amax / 127));
        for (let index = 0; index < blockSize; index++) {
          const position = block * blockSize + index;
          expect(Math.abs(values[position])).toBeLessThanOrEqual(127);
          // q · d reproduces x within half a step (plus float32 slop of 1e-4 steps)
          expect(Math.abs(values[position] * scales[block] - row[position])).toBeLessThanOrEqual(scales[block] * (0.5 + 1e-4));
        }
      }
      if (blockSize === 32) expect(scales[8]).toBe(0);
    }
    expect(() => quantizeActivations(new Float32Array(40), 32)).toThrow(/not a multiple of the block size 32/);
  });
});
