// Every op computes a row of a batch exactly as it computes that row alone, bit for bit: a speculative verify (one
// forward over k+1 tokens) must give the same logits as k+1 single-token decode steps, or greedy speculative decoding
// could pick a different token where two logits nearly tie. Checked on the reference backend and on each native
// instruction-set path, with row widths that are not multiples of the vector width (the tails are where a batch and
// a single row used to part: a vectorized body and a scalar tail that fell on different elements).

import { describe, expect, it } from "vitest";

import { Kernel, NativeBackend, Tensor, createKernel, nativeAvailability, quantizeTensor, type DType } from "../src/index.ts";
import { loadAddon } from "../src/native/addon.ts";
import { createReferenceBackend } from "../src/reference/index.ts";
import { randomTensor } from "./helpers.ts";

// Products below 128 KiB of work run on the calling thread alone (addon.cc); these tests drive the threaded paths on
// small data, so every product is shared.
loadAddon().addon?.setMinimumSharedMatmulBytes?.(0);

type RowOp = (kernel: Kernel, out: Tensor, rows: Tensor) => void;

/** Runs `op` on all `tokens` rows at once and on each row alone; returns the largest difference (0 = identical). */
function batchVersusRows(kernel: Kernel, op: RowOp, input: Tensor, outWidth: number): number {
  const [tokens, width] = input.shape;
  const batch = Tensor.zeros("f32", [tokens, outWidth]);
  op(kernel, batch, input);
  let largest = 0;
  for (let token = 0; token < tokens; token++) {
    const row = Tensor.fromFloat32([1, width], (input.data as Float32Array).slice(token * width, (token + 1) * width));
    const single = Tensor.zeros("f32", [1, outWidth]);
    op(kernel, single, row);
    const expected = (batch.data as Float32Array).subarray(token * outWidth, (token + 1) * outWidth);
    for (let index = 0; index < outWidth; index++) largest = Math.max(largest, Math.abs((single.data as Float32Array)[index] - expected[index]));
  }
  return largest;
}

/** The backends to check: the reference, and the native addon once per instruction set this CPU runs. */
function backends(): string[] {
  const list = ["reference"];
  if (!nativeAvailability().available) return list;
  const probe = createKernel({ backend: "native", threads: 2 }).backend as NativeBackend;
  for (const isa of ["avx512", "avx2", "portable"] as const) if (probe.selectIsa(isa)) list.push(isa);
  restoreDefaultIsa(probe);
  return list;
}

/** The addon's kernel selection is process-wide: put back the best one (what createKernel picks by default). */
function restoreDefaultIsa(backend: NativeBackend): void {
  backend.selectIsa("avx512") || backend.selectIsa("avx2") || backend.selectIsa("portable");
}

/**
 * Runs `check` with a kernel for `name`. The instruction set is selected inside the test, not when tests are
 * collected: the selection is process-wide, so kernels selected up front would all run the last one selected.
 */
function withKernel(name: string, check: (kernel: Kernel) => void): void {
  if (name === "reference") return check(new Kernel(createReferenceBackend()));
  const kernel = createKernel({ backend: "native", threads: 2 });
  const backend = kernel.backend as NativeBackend;
  expect(backend.selectIsa(name as "avx512" | "avx2" | "portable")).toBe(true);
  try {
    expect(backend.isa).toBe(name);
    check(kernel);
  } finally {
    restoreDefaultIsa(backend);
  }
}

function checkMatmul(kernel: Kernel, dtype: "f32" | "q8_0" | "q4_0"): void {
  const f32 = randomTensor([48, 256], 3, 0.1, "normal");
  const weight = kernel.packWeight(dtype === "f32" ? f32 : quantizeTensor(dtype, f32.shape, f32.data as Float32Array));
  // 5 tokens (one token group) and 13 (two groups of 8, whose partial sums some kernels accumulate per chunk).
  for (const tokens of [5, 13]) {
    const input = randomTensor([tokens, 256], 4, 1, "normal");
    expect(batchVersusRows(kernel, (k, out, rows) => k.matmul(out, rows, weight), input, 48), `matmul ${dtype} ${tokens} tokens`).toBe(0);
  }
}

describe("a batch row equals the same row alone", () => {
  for (const name of backends()) {
    const label = name === "reference" ? name : `native ${name}`;
    // Known bug (the AVX2 matmul kernels, issue 17's): AVX2 matmul runs one token through the decode kernels (eight
    // partial float sums per row, added at the end) and batches through the prefill tiles (one float sum per token,
    // integer ones accumulated per chunk of blocks), so a token's result differs in the last bits (~1e-5 relative)
    // alone and batched. Marked as failing so the suite stays green and flags the fix: when one passes, drop `fails`.
    const matmulTest = name === "avx2" ? it.fails : it;
    for (const dtype of ["f32", "q8_0", "q4_0"] as const) {
      matmulTest(`${label}: matmul ${dtype}`, () => withKernel(name, (kernel) => checkMatmul(kernel, dtype)));
    }

    it(`${label}: rmsNorm, swiglu, attention`, () => withKernel(name, (kernel) => {
      const tokens = 5;
      for (const width of [64, 172, 1001]) {
        const input = randomTensor([tokens, width], width, 1, "normal");
        const gate = randomTensor([tokens, width], width + 1, 4, "normal");
        const norm = randomTensor([width], 7, 1, "normal");
        expect(batchVersusRows(kernel, (k, out, rows) => k.rmsNorm(out, rows, norm, 1e-5), input, width), `rmsNorm ${width}`).toBe(0);
        // swiglu(gate, up): the row's gate is the input row itself, its up a fixed function of it.
        expect(batchVersusRows(kernel, (k, out, rows) => k.swiglu(out, rows, rows), gate, width), `swiglu ${width}`).toBe(0);
      }
      // Attention: query t at position start + t over the cache equals that query alone with kvLength start + t + 1.
      const heads = 8, kvHeads = 4, headDim = 8, start = 9;
      const keys = randomTensor([32, kvHeads, headDim], 5, 1, "normal");
      const values = randomTensor([32, kvHeads, headDim], 6, 1, "normal");
      const query = randomTensor([tokens, heads, headDim], 8, 1, "normal");
      const batch = Tensor.zeros("f32", [tokens, heads, headDim]);
      kernel.attention(batch, query, keys, values, { startPosition: start, kvLength: start + tokens, causal: true, scale: 0.35 });
      const rowWidth = heads * headDim;
      for (let token = 0; token < tokens; token++) {
        const single = Tensor.zeros("f32", [1, heads, headDim]);
        const one = Tensor.fromFloat32([1, heads, headDim], (query.data as Float32Array).slice(token * rowWidth, (token + 1) * rowWidth));
        kernel.attention(single, one, keys, values, { startPosition: start + token, kvLength: start + token + 1, causal: true, scale: 0.35 });
        expect(Array.from(single.data as Float32Array), `attention token ${token}`).toEqual(Array.from((batch.data as Float32Array).subarray(token * rowWidth, (token + 1) * rowWidth)));
      }
    }));
  }
});

// Float weights on AVX-512: decode (fewer than 8 tokens, rows transposed in registers) and prefill (packed panels)
// are two paths with the same chain per output, so a batch of 13 or 20 tokens gives each row what it gets alone.
describe.skipIf(!nativeAvailability().available)("a batch row equals the same row alone: float weights across the decode/prefill paths", () => {
  for (const isa of ["avx512", "avx512-nobf16"] as const) {
    it(`native ${isa}: f32, f16, bf16 matmul with 13 and 20 tokens, ragged rows and columns`, (context) => {
      const kernel = createKernel({ backend: "native", threads: 2 });
      if (!(kernel.backend as NativeBackend).selectIsa(isa)) context.skip();
      try {
        for (const dtype of ["f32", "f16", "bf16"] as DType[]) {
          for (const [rows, cols] of [[37, 45], [48, 545]]) {
            const f32 = randomTensor([rows, cols], rows + cols, 0.1, "normal");
            const weight = dtype === "f32" ? f32 : quantizeTensor(dtype, f32.shape, f32.data as Float32Array);
            for (const tokens of [13, 20]) {
              const input = randomTensor([tokens, cols], tokens + cols, 1, "normal");
              expect(batchVersusRows(kernel, (k, out, batch) => k.matmul(out, batch, weight), input, rows), `${dtype} ${rows}×${cols} ${tokens} tokens`).toBe(0);
            }
          }
        }
      } finally {
        restoreDefaultIsa(kernel.backend as NativeBackend);
      }
    });
  }
});
