// Each reference op checked against an independent, straightforward computation on small inputs.
// Tolerances sit next to each assertion with the reason for their size.

import { describe, expect, it } from "vitest";
import type { AttentionOptions } from "../src/backend.ts";
import { quantizeActivations } from "../src/formats/activation-quantization.ts";
import { dequantizeTensor, quantizeTensor } from "../src/formats/index.ts";
import { Kernel } from "../src/kernel.ts";
import { attentionNaive, createReferenceBackend } from "../src/reference/index.ts";
import { ropeFrequencies } from "../src/rope-frequencies.ts";
import { Tensor } from "../src/tensor.ts";
import { maxAbsDiff, randomTensor, randomValues, zerosLike } from "./helpers.ts";

const kernel = new Kernel(createReferenceBackend());

/** out[t, r] = Σ_c input[t, c] · weight[r, c], a plain triple loop in float64. */
function tripleLoop(input: Float32Array, weight: Float32Array, tokens: number, rows: number, columns: number): Float64Array {
  const out = new Float64Array(tokens * rows); // [tokens, rows]
  for (let token = 0; token < tokens; token++) {
    for (let row = 0; row < rows; row++) {
      let sum = 0;
      for (let column = 0; column < columns; column++) sum += input[token * columns + column] * weight[row * columns + column];
      out[token * rows + row] = sum;
    }
  }
  return out;
}

function runMatmul(input: Tensor, weight: Tensor): Float32Array {
  const out = zerosLike([input.shape[0], weight.shape[0]]);
  kernel.matmul(out, input, weight);
  return out.data as Float32Array;
}

describe("reference backend", () => {
  it("is named reference and always uses one thread", () => {
    const backend = createReferenceBackend();
    expect(backend.name).toBe("reference");
    backend.setThreads(8);
    expect(backend.threads).toBe(1);
  });
});

describe("matmul", () => {
  it("f32 weights equal a float64 triple loop", () => {
    const [tokens, rows, columns] = [3, 5, 40];
    const input = randomTensor([tokens, columns], 1);
    const weight = randomTensor([rows, columns], 2);
    const expected = tripleLoop(input.data as Float32Array, weight.data as Float32Array, tokens, rows, columns);
    // same float64 sum in the same column order, rounded once to f32: identical
    expect(runMatmul(input, weight)).toEqual(Float32Array.from(expected));
  });

  it("f16 weights equal the triple loop over the decoded weights; bf16 weights the same over bf16-rounded activations", () => {
    const [tokens, rows, columns] = [2, 4, 24];
    const input = randomTensor([tokens, columns], 3);
    const values = randomValues(rows * columns, 4);
    for (const dtype of ["f16", "bf16"] as const) {
      const weight = quantizeTensor(dtype, [rows, columns], values);
      // bf16 weights multiply activations rounded to bf16 (as llama.cpp and vdpbf16ps do): round them here by hand.
      const activations = dtype === "bf16" ? dequantizeTensor(quantizeTensor("bf16", input.shape, input.data as Float32Array)) : (input.data as Float32Array);
      const expected = tripleLoop(activations, dequantizeTensor(weight), tokens, rows, columns);
      expect(runMatmul(input, weight)).toEqual(Float32Array.from(expected)); // decoding is exact, so identical
    }
    // The rounding matters: with f32 activations the bf16 result differs.
    const weight = quantizeTensor("bf16", [rows, columns], values);
    expect(runMatmul(input, weight)).not.toEqual(Float32Array.from(tripleLoop(input.data as Float32Array, dequantizeTensor(weight), tokens, rows, columns)));
  });

  for (const [dtype, columns] of [["q8_0", 96], ["q4_0", 64], ["q4_k", 512], ["q6_k", 512]] as const) {
    it(`${dtype} weights: exact against quantized activations, bounded against f32 activations`, () => {
      const [tokens, rows] = [3, 6];
      const input = randomTensor([tokens, columns], 10 + columns, 2, "normal");
      const weight = quantizeTensor(dtype, [rows, columns], randomValues(rows * columns, 20 + columns, 1, "normal"));
      const weightValues = dequantizeTensor(weight); // [rows, columns]
      const blockSize = dtype === "q4_k" || dtype === "q6_k" ? 256 : 32;
      const actual = runMatmul(input, weight);

      for (let token = 0; token < tokens; token++) {
        const row = (input.data as Float32Array).subarray(token * columns, (token + 1) * columns);
        const activations = quantizeActivations(row, blockSize);
        for (let weightRow = 0; weightRow < rows; weightRow++) {
          let quantizedDot = 0; // Σ w · (q_x · d_x): the dequantized weight times the dequantized activation
          let floatDot = 0; // Σ w · x
          let magnitude = 0; // Σ |w| · |x|
          let activationErrorBound = 0; // Σ |w| · d_x / 2: each activation moves by at most half a step
          for (let column = 0; column < columns; column++) {
            const w = weightValues[weightRow * columns + column];
            const scale = activations.scales[Math.floor(column / blockSize)];
            quantizedDot += w * activations.values[column] * scale;
            floatDot += w * row[column];
            magnitude += Math.abs(w * row[column]);
            activationErrorBound += (Math.abs(w) * scale) / 2;
          }
          const result = actual[token * rows + weightRow];
          // Same products, regrouped into integer sub-block sums; only float rounding differs (dequantized weights
          // rounded to f32 ≤ 2^-24 relative, the final f32 store ≤ 2^-24 relative): 1e-6 of Σ|w||x| covers it.
          expect(Math.abs(result - quantizedDot)).toBeLessThanOrEqual(1e-6 * magnitude);
          // Against the true f32 activations the only extra error is the activation rounding (≤ d_x/2 per value,
          // 1e-4 of a step for the float32 x·(1/d) product).
          expect(Math.abs(result - floatDot)).toBeLessThanOrEqual(activationErrorBound * (1 + 2e-4) + 1e-6 * magnitude);
        }
      }
    });
  }

  it("quantizes each input row on its own: one token gives the same result as that row of a batch", () => {
    for (const dtype of ["f32", "q8_0", "q4_k"] as const) {
      const input = randomTensor([4, 256], 30);
      const weight = quantizeTensor(dtype, [3, 256], randomValues(3 * 256, 31));
      const batch = runMatmul(input, weight);
      const single = runMatmul(input.slice(2, 3), weight);
      expect(single).toEqual(batch.subarray(2 * 3, 3 * 3));
    }
  });
});

describe("rmsNorm and layerNorm", () => {
  it("rmsNorm equals x / sqrt(mean(x²) + ε) · w", () => {
    const input = randomTensor([3, 20], 40, 3);
    const weight = randomTensor([20], 41);
    const out = zerosLike([3, 20]);
    kernel.rmsNorm(out, input, weight, 1e-5);
    const x = input.data as Float32Array;
    const expected = new Float64Array(60); // [3, 20]
    for (let row = 0; row < 3; row++) {
      let sum = 0;
      for (let index = 0; index < 20; index++) sum += x[row * 20 + index] ** 2;
      const rms = Math.sqrt(sum / 20 + 1e-5);
      for (let index = 0; index < 20; index++) expected[row * 20 + index] = (x[row * 20 + index] / rms) * (weight.data as Float32Array)[index];
    }
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-6); // outputs are O(1); only the final f32 rounding (≤ 3e-7) differs

    kernel.rmsNorm(input, input, weight, 1e-5); // in place gives the same values
    expect(input.data).toEqual(out.data);
  });

  it("layerNorm equals (x − mean) / sqrt(var + ε) · w + b, with and without bias", () => {
    const input = randomTensor([2, 32], 42, 5);
    const weight = randomTensor([32], 43);
    const bias = randomTensor([32], 44);
    const x = input.data as Float32Array;
    for (const withBias of [true, false]) {
      const out = zerosLike([2, 32]);
      kernel.layerNorm(out, input, weight, withBias ? bias : null, 1e-5);
      const expected = new Float64Array(64); // [2, 32]
      for (let row = 0; row < 2; row++) {
        const slice = Array.from(x.subarray(row * 32, (row + 1) * 32));
        const mean = slice.reduce((total, value) => total + value, 0) / 32;
        const variance = slice.reduce((total, value) => total + (value - mean) ** 2, 0) / 32;
        for (let index = 0; index < 32; index++) {
          const normalized = ((slice[index] - mean) / Math.sqrt(variance + 1e-5)) * (weight.data as Float32Array)[index];
          expected[row * 32 + index] = normalized + (withBias ? (bias.data as Float32Array)[index] : 0);
        }
      }
      expect(maxAbsDiff(out, expected)).toBeLessThan(1e-6); // O(1) outputs, final f32 rounding only
    }
  });

  it("layerNorm with unit weight and no bias gives rows of mean 0 and variance 1", () => {
    const input = randomTensor([1, 64], 45, 10);
    const out = zerosLike([1, 64]);
    kernel.layerNorm(out, input, Tensor.fromFloat32([64], new Float32Array(64).fill(1)), null, 0);
    const values = Array.from(out.data as Float32Array);
    const mean = values.reduce((total, value) => total + value, 0) / 64;
    const variance = values.reduce((total, value) => total + (value - mean) ** 2, 0) / 64;
    expect(Math.abs(mean)).toBeLessThan(1e-6); // 64 f32-rounded values of size ~1: ≤ 64 · 6e-8
    expect(Math.abs(variance - 1)).toBeLessThan(1e-6);
  });
});

describe("rope", () => {
  const [tokens, heads, headDim] = [3, 2, 16];
  const frequencies = ropeFrequencies({ rotaryDim: headDim, theta: 10000 });

  function rotated(x: Tensor, positions: number[], layout: "half" | "interleaved", rotaryFrequencies = frequencies): Float32Array {
    const copy = Tensor.fromFloat32(x.shape, (x.data as Float32Array).slice());
    kernel.rope(copy, Int32Array.from(positions), rotaryFrequencies, layout);
    return copy.data as Float32Array;
  }

  it("position 0 is the identity", () => {
    const x = randomTensor([tokens, heads, headDim], 50);
    for (const layout of ["half", "interleaved"] as const) expect(rotated(x, [0, 0, 0], layout)).toEqual(x.data); // cos 0 = 1, sin 0 = 0 exactly
  });

  it("rotates each pair by position · frequency, preserving its length", () => {
    const x = randomTensor([tokens, heads, headDim], 51);
    const positions = [1, 17, 4000];
    const result = rotated(x, positions, "half");
    const values = x.data as Float32Array;
    const half = headDim / 2;
    for (let token = 0; token < tokens; token++) {
      for (let head = 0; head < heads; head++) {
        const start = (token * heads + head) * headDim;
        for (let pair = 0; pair < half; pair++) {
          const angle = positions[token] * frequencies[pair];
          const [a, b] = [values[start + pair], values[start + pair + half]];
          // float64 rotation, f32 store: ≤ 1 ulp of values of size ≤ 1.5
          expect(Math.abs(result[start + pair] - (a * Math.cos(angle) - b * Math.sin(angle)))).toBeLessThan(3e-7);
          expect(Math.abs(result[start + pair + half] - (a * Math.sin(angle) + b * Math.cos(angle)))).toBeLessThan(3e-7);
          const before = Math.hypot(a, b);
          const after = Math.hypot(result[start + pair], result[start + pair + half]);
          expect(Math.abs(after - before)).toBeLessThan(1e-6); // a rotation keeps the length; f32 rounding ~2e-7
        }
      }
    }
  });

  it("half and interleaved layouts are the same rotation under the pair permutation i ↔ 2i, i + d/2 ↔ 2i + 1", () => {
    const x = randomTensor([tokens, heads, headDim], 52);
    const half = headDim / 2;
    const toInterleaved = (values: Float32Array): Float32Array => {
      const permuted = new Float32Array(values.length); // [tokens, heads, headDim]
      for (let start = 0; start < values.length; start += headDim) {
        for (let pair = 0; pair < half; pair++) {
          permuted[start + 2 * pair] = values[start + pair];
          permuted[start + 2 * pair + 1] = values[start + pair + half];
        }
      }
      return permuted;
    };
    const positions = [3, 9, 100];
    const interleavedInput = Tensor.fromFloat32(x.shape, toInterleaved(x.data as Float32Array));
    expect(rotated(interleavedInput, positions, "interleaved")).toEqual(toInterleaved(rotated(x, positions, "half"))); // same arithmetic: identical
  });

  it("leaves dimensions ≥ rotaryDim untouched", () => {
    const x = randomTensor([tokens, heads, headDim], 53);
    const partial = ropeFrequencies({ rotaryDim: 8, theta: 10000 });
    for (const layout of ["half", "interleaved"] as const) {
      const result = rotated(x, [5, 6, 7], layout, partial);
      for (let start = 0; start < result.length; start += headDim) {
        expect(result.subarray(start + 8, start + headDim)).toEqual((x.data as Float32Array).subarray(start + 8, start + headDim));
        expect(result.subarray(start, start + 8)).not.toEqual((x.data as Float32Array).subarray(start, start + 8));
      }
    }
  });
});

describe("ropeFrequencies", () => {
  it("without scaling: 1 / theta^(2i / rotaryDim)", () => {
    const frequencies = ropeFrequencies({ rotaryDim: 128, theta: 10000 });
    expect(frequencies.length).toBe(64);
    for (let index = 0; index < 64; index++) expect(frequencies[index]).toBe(Math.fround(1 / 10000 ** ((2 * index) / 128)));
  });

  it("llama3 scaling reproduces Hugging Face's values for Llama 3.2 (factor 32, low 1, high 4, original 8192)", () => {
    const scaling = { type: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192 } as const;
    const plain = ropeFrequencies({ rotaryDim: 64, theta: 500000 });
    const scaled = ropeFrequencies({ rotaryDim: 64, theta: 500000, scaling });
    // wavelength 2π/f < 8192/4 = 2048 for i ≤ 14: unchanged; > 8192 for i ≥ 18: divided by 32
    for (let index = 0; index <= 14; index++) expect(scaled[index]).toBe(plain[index]);
    for (let index = 18; index < 32; index++) expect(scaled[index]).toBe(Math.fround((1 / 500000 ** ((2 * index) / 64)) / 32));
    // the three medium frequencies interpolate; values from transformers' _compute_llama3_parameters in float64
    const medium: [number, number][] = [
      [15, 0.001290547928209264],
      [16, 0.00042955679655936815],
      [17, 9.70828780262767e-5],
    ];
    for (const [index, value] of medium) expect(Math.abs(scaled[index] - value) / value).toBeLessThan(1e-7); // f32 storage: ≤ 6e-8 relative
    expect(scaled[0]).toBe(1);
    expect(Math.abs(scaled[31] - 9.418306725434909e-8) / 9.418306725434909e-8).toBeLessThan(1e-7);
  });

  it("rejects bad arguments with a clear error", () => {
    expect(() => ropeFrequencies({ rotaryDim: 7, theta: 10000 })).toThrow(/rotaryDim must be an even integer > 0, got 7/);
    expect(() => ropeFrequencies({ rotaryDim: 0, theta: 10000 })).toThrow(/rotaryDim/);
    expect(() => ropeFrequencies({ rotaryDim: 64, theta: 0 })).toThrow(/theta must be a finite number > 0, got 0/);
    const scaling = { type: "llama3", factor: 32, lowFrequencyFactor: 4, highFrequencyFactor: 1, originalMaxPositions: 8192 } as const;
    expect(() => ropeFrequencies({ rotaryDim: 64, theta: 500000, scaling })).toThrow(/highFrequencyFactor \(1\) must exceed lowFrequencyFactor \(4\)/);
  });
});

describe("softmax and activations", () => {
  it("softmax rows sum to 1 and match exp(x − max) / Σ", () => {
    const input = randomTensor([4, 100], 60, 8);
    const out = zerosLike([4, 100]);
    kernel.softmax(out, input);
    const x = input.data as Float32Array;
    for (let row = 0; row < 4; row++) {
      const slice = Array.from(x.subarray(row * 100, (row + 1) * 100));
      const maximum = Math.max(...slice);
      const exps = slice.map((value) => Math.exp(value - maximum));
      const total = exps.reduce((sum, value) => sum + value, 0);
      const result = (out.data as Float32Array).subarray(row * 100, (row + 1) * 100);
      expect(Math.abs(result.reduce((sum, value) => sum + value, 0) - 1)).toBeLessThan(1e-6); // 100 f32 roundings of ≤ 2^-24 relative each
      expect(maxAbsDiff(result, exps.map((value) => value / total))).toBeLessThan(1e-7); // probabilities ≤ 1: f32 rounding ≤ 6e-8
    }
  });

  it("softmax subtracts the row max (no overflow for large inputs) and works in place", () => {
    const input = Tensor.fromFloat32([1, 3], new Float32Array([1000, 1001, 1002]));
    kernel.softmax(input, input);
    const expected = [Math.exp(-2), Math.exp(-1), 1].map((value) => value / (Math.exp(-2) + Math.exp(-1) + 1));
    expect(maxAbsDiff(input, expected)).toBeLessThan(1e-7); // f32 rounding of values ≤ 1
  });

  it("silu, gelu (tanh approximation) and swiglu match their formulas", () => {
    const input = randomTensor([2, 50], 61, 6);
    const up = randomTensor([2, 50], 62);
    const x = Array.from(input.data as Float32Array);
    const silu = x.map((value) => value / (1 + Math.exp(-value)));
    const gelu = x.map((value) => 0.5 * value * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (value + 0.044715 * value ** 3))));
    const swiglu = silu.map((value, index) => value * (up.data as Float32Array)[index]);
    const out = zerosLike([2, 50]);
    // all three are O(|x|) ≤ 6: only the f32 store differs (≤ 4.8e-7)
    kernel.silu(out, input);
    expect(maxAbsDiff(out, silu)).toBeLessThan(1e-6);
    kernel.gelu(out, input);
    expect(maxAbsDiff(out, gelu)).toBeLessThan(1e-6);
    kernel.swiglu(out, input, up);
    expect(maxAbsDiff(out, swiglu)).toBeLessThan(1e-6);

    const known = Tensor.fromFloat32([2], new Float32Array([1, -1]));
    const knownOut = zerosLike([2]);
    kernel.gelu(knownOut, known);
    expect(maxAbsDiff(knownOut, [0.8411919906082768, -0.15880800939172324])).toBeLessThan(1e-7); // HF gelu_new(±1)
    kernel.silu(knownOut, known);
    expect(maxAbsDiff(knownOut, [0.7310585786300049, -0.2689414213699951])).toBeLessThan(1e-7); // 1/(1+e^-1), −1/(1+e)
  });

  it("add and mul, with the same shape or one broadcast row", () => {
    const a = randomTensor([3, 8], 63);
    const b = randomTensor([3, 8], 64);
    const row = randomTensor([8], 65);
    const out = zerosLike([3, 8]);
    const aValues = a.data as Float32Array;
    const bValues = b.data as Float32Array;
    const rowValues = row.data as Float32Array;
    // one float32 operation rounded once: identical to Math.fround of the exact result
    kernel.add(out, a, b);
    expect(out.data).toEqual(Float32Array.from(aValues, (value, index) => value + bValues[index]));
    kernel.mul(out, a, b);
    expect(out.data).toEqual(Float32Array.from(aValues, (value, index) => value * bValues[index]));
    kernel.add(out, a, row);
    expect(out.data).toEqual(Float32Array.from(aValues, (value, index) => value + rowValues[index % 8]));
    kernel.mul(out, a, row);
    expect(out.data).toEqual(Float32Array.from(aValues, (value, index) => value * rowValues[index % 8]));
  });
});

describe("attention", () => {
  interface Case {
    name: string;
    tokens: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    capacity: number;
    options: AttentionOptions;
  }
  const options = (startPosition: number, kvLength: number, causal: boolean, headDim: number): AttentionOptions => ({
    startPosition,
    kvLength,
    causal,
    scale: 1 / Math.sqrt(headDim),
  });
  const cases: Case[] = [
    { name: "causal prefill", tokens: 5, heads: 4, kvHeads: 4, headDim: 64, capacity: 8, options: options(0, 5, true, 64) },
    { name: "non-causal", tokens: 5, heads: 4, kvHeads: 4, headDim: 64, capacity: 8, options: options(0, 5, false, 64) },
    { name: "GQA 8/2, 150 keys (3 key blocks)", tokens: 150, heads: 8, kvHeads: 2, headDim: 64, capacity: 160, options: options(0, 150, true, 64) },
    { name: "MQA 6/1", tokens: 3, heads: 6, kvHeads: 1, headDim: 64, capacity: 100, options: options(97, 100, true, 64) },
    { name: "chunked prefill at startPosition 130", tokens: 4, heads: 4, kvHeads: 2, headDim: 64, capacity: 160, options: options(130, 134, true, 64) },
    { name: "kvLength < capacity, non-causal", tokens: 2, heads: 2, kvHeads: 2, headDim: 64, capacity: 300, options: options(0, 77, false, 64) },
    { name: "headDim 24", tokens: 6, heads: 4, kvHeads: 2, headDim: 24, capacity: 70, options: options(60, 66, true, 24) },
    { name: "single-token decode", tokens: 1, heads: 8, kvHeads: 2, headDim: 64, capacity: 256, options: options(199, 200, true, 64) },
  ];

  for (const { name, tokens, heads, kvHeads, headDim, capacity, options: attentionOptions } of cases) {
    it(`flash equals naive: ${name}`, () => {
      const query = randomTensor([tokens, heads, headDim], 70, 2);
      const keys = randomTensor([capacity, kvHeads, headDim], 71, 2);
      const values = randomTensor([capacity, kvHeads, headDim], 72);
      // rows past kvLength must never be read: poison them
      (keys.data as Float32Array).fill(NaN, attentionOptions.kvLength * kvHeads * headDim);
      (values.data as Float32Array).fill(NaN, attentionOptions.kvLength * kvHeads * headDim);
      const flash = zerosLike([tokens, heads, headDim]);
      const naive = zerosLike([tokens, heads, headDim]);
      kernel.attention(flash, query, keys, values, attentionOptions);
      attentionNaive(naive, query, keys, values, attentionOptions);
      expect(maxAbsDiff(flash, naive)).toBeLessThan(1e-5); // both accumulate in float64; outputs are averages of values ≤ 1
    });
  }

  it("naive attention: a query that sees one key returns its value; scale 0 averages the visible values", () => {
    const [heads, headDim] = [2, 8];
    const query = randomTensor([2, heads, headDim], 73);
    const keys = randomTensor([4, 1, headDim], 74);
    const values = randomTensor([4, 1, headDim], 75);
    const out = zerosLike([2, heads, headDim]);
    attentionNaive(out, query, keys, values, { startPosition: 0, kvLength: 2, causal: true, scale: 0.3 });
    const valueData = values.data as Float32Array; // [4, 1, headDim]
    for (let head = 0; head < heads; head++) {
      expect((out.data as Float32Array).subarray(head * headDim, (head + 1) * headDim)).toEqual(valueData.subarray(0, headDim)); // softmax of one score is exactly 1
    }
    attentionNaive(out, query, keys, values, { startPosition: 0, kvLength: 3, causal: false, scale: 0 });
    const mean = Array.from({ length: headDim }, (_, index) => (valueData[index] + valueData[headDim + index] + valueData[2 * headDim + index]) / 3);
    expect(maxAbsDiff((out.data as Float32Array).subarray(0, headDim), mean)).toBeLessThan(1e-7); // f32 rounding of values ≤ 1
  });

  it("maps query head h to kv head floor(h / (heads / kvHeads)) and masks keys after startPosition + t", () => {
    const [tokens, heads, kvHeads, headDim, capacity] = [3, 4, 2, 4, 8];
    const query = randomTensor([tokens, heads, headDim], 76);
    const keys = randomTensor([capacity, kvHeads, headDim], 77);
    const values = Tensor.zeros("f32", [capacity, kvHeads, headDim]);
    const valueData = values.data as Float32Array; // value of key j in kv head g: every component = 10·g + j
    for (let key = 0; key < capacity; key++) {
      for (let group = 0; group < kvHeads; group++) valueData.fill(10 * group + key, (key * kvHeads + group) * headDim, (key * kvHeads + group + 1) * headDim);
    }
    const out = zerosLike([tokens, heads, headDim]);
    // scale 0 makes every visible key equally likely: the output is the mean of the visible values
    kernel.attention(out, query, keys, values, { startPosition: 2, kvLength: 5, causal: true, scale: 0 });
    for (let token = 0; token < tokens; token++) {
      const visible = 2 + token + 1; // keys 0 .. startPosition + token
      for (let head = 0; head < heads; head++) {
        const group = Math.floor(head / (heads / kvHeads)); // heads 0, 1 → kv head 0; heads 2, 3 → kv head 1
        const expected = 10 * group + (visible - 1) / 2; // mean of 10g + 0 .. 10g + visible − 1
        const start = (token * heads + head) * headDim;
        expect(maxAbsDiff((out.data as Float32Array).subarray(start, start + headDim), new Array(headDim).fill(expected))).toBeLessThan(1e-5); // f32 of values ≤ 14
      }
    }
  });
});

describe("embedding, quantize and dequantize", () => {
  it("embedding returns the decoded table rows", () => {
    const values = randomValues(10 * 256, 80);
    const ids = Int32Array.from([3, 0, 9, 3]);
    for (const dtype of ["f32", "f16", "q8_0", "q4_k", "q6_k"] as const) {
      const table = quantizeTensor(dtype, [10, 256], values);
      const decoded = dequantizeTensor(table);
      const out = zerosLike([4, 256]);
      kernel.embedding(out, table, ids);
      ids.forEach((id, index) => {
        expect((out.data as Float32Array).subarray(index * 256, (index + 1) * 256)).toEqual(decoded.subarray(id * 256, (id + 1) * 256));
      });
    }
  });

  it("quantize and dequantize ops agree with the format helpers", () => {
    const input = randomTensor([2, 256], 81);
    for (const dtype of ["f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k"] as const) {
      const encoded = Tensor.zeros(dtype, [2, 256]);
      kernel.quantize(encoded, input);
      expect(encoded.data).toEqual(quantizeTensor(dtype, [2, 256], input.data as Float32Array).data);
      const decoded = zerosLike([2, 256]);
      kernel.dequantize(decoded, encoded);
      expect(decoded.data).toEqual(dequantizeTensor(encoded));
    }
  });
});

describe("argmax and topK", () => {
  it("argmax returns the first index of the largest value", () => {
    expect(kernel.argmax(Tensor.fromFloat32([6], new Float32Array([1, 5, -2, 5, 0, 4])))).toBe(1);
    expect(kernel.argmax(Tensor.fromFloat32([3], new Float32Array([-3, -1, -2])))).toBe(1);
  });

  it("topK matches a full sort (value descending, lower index first on ties)", () => {
    const values = randomValues(1000, 90, 5).map(Math.round); // many ties among 11 distinct integers
    const input = Tensor.fromFloat32([1000], values);
    const order = Array.from(values.keys()).sort((first, second) => values[second] - values[first] || first - second);
    for (const k of [1, 7, 100, 1000]) {
      const { indices, values: topValues } = kernel.topK(input, k);
      expect(Array.from(indices)).toEqual(order.slice(0, k));
      expect(Array.from(topValues)).toEqual(order.slice(0, k).map((index) => values[index]));
    }
  });
});
