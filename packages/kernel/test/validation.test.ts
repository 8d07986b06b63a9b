// The Kernel front rejects bad arguments before any backend runs, with KernelError messages that name the op,
// the argument and the shapes involved.

import { describe, expect, it } from "vitest";
import { KernelError } from "../src/errors.ts";
import { Kernel } from "../src/kernel.ts";
import { createReferenceBackend } from "../src/reference/index.ts";
import { Tensor } from "../src/tensor.ts";
import { randomTensor, zerosLike } from "./helpers.ts";

const kernel = new Kernel(createReferenceBackend());

/** Runs `call`, requiring a KernelError whose message matches `pattern`. */
function expectKernelError(call: () => unknown, pattern: RegExp): void {
  expect(call).toThrow(KernelError);
  expect(call).toThrow(pattern);
}

describe("matmul validation", () => {
  const input = randomTensor([2, 64], 1);
  const weight = randomTensor([8, 64], 2);

  it("accepts matching shapes", () => {
    const out = zerosLike([2, 8]);
    kernel.matmul(out, input, weight);
    expect(Array.from(out.data as Float32Array).some((value) => value !== 0)).toBe(true);
  });

  it("rejects an inner-size mismatch, naming both shapes", () => {
    expectKernelError(() => kernel.matmul(zerosLike([2, 8]), input, randomTensor([8, 48], 3)), /matmul: .*\[2, 64\].*\[8, 48\].*inner size \(64 vs 48\)/);
  });

  it("rejects a wrong out shape", () => {
    expectKernelError(() => kernel.matmul(zerosLike([2, 9]), input, weight), /matmul: out must have shape \[2, 8\], got \[2, 9\]/);
    expectKernelError(() => kernel.matmul(zerosLike([16]), input, weight), /matmul: out must have 2 dimensions, got \[16\]/);
  });

  it("rejects an f16 input where f32 is needed", () => {
    const halfInput = Tensor.zeros("f16", [2, 64]);
    expectKernelError(() => kernel.matmul(zerosLike([2, 8]), halfInput, weight), /matmul: input must be f32, got f16 \[2, 64\]/);
  });

  it("rejects a transposed (non-contiguous) input", () => {
    const transposed = randomTensor([64, 2], 4).transpose();
    expectKernelError(() => kernel.matmul(zerosLike([2, 8]), transposed, weight), /matmul: input \[2, 64\] must be contiguous \(strides \[1, 2\]\)/);
  });

  it("rejects q4_0 weight rows that are not a multiple of 32 values", () => {
    // A real Tensor cannot even hold such a q4_0 shape: the constructor refuses it first.
    expect(() => Tensor.zeros("q4_0", [8, 48])).toThrow(/q4_0 row must hold a multiple of 32 values, got 48/);
    // The kernel checks it too, for tensor-like objects built around the constructor.
    const forged = Object.assign(Object.create(Tensor.prototype) as Tensor, {
      dtype: "q4_0",
      shape: [8, 48],
      strides: [48, 1],
      data: new Uint8Array(8 * 27),
    });
    expectKernelError(() => kernel.matmul(zerosLike([2, 8]), randomTensor([2, 48], 5), forged), /matmul: q4_0 weight rows must be a multiple of 32 values, got 48/);
  });
});

describe("attention validation", () => {
  const options = { startPosition: 0, kvLength: 4, causal: true, scale: 0.25 };

  it("rejects query heads that are not a multiple of the kv heads", () => {
    const query = zerosLike([1, 6, 16]);
    const keys = zerosLike([4, 4, 16]);
    expectKernelError(
      () => kernel.attention(zerosLike([1, 6, 16]), query, keys, zerosLike([4, 4, 16]), options),
      /attention: query heads \(6\) must be a multiple of key\/value heads \(4\); shapes \[1, 6, 16\], \[4, 4, 16\]/,
    );
  });

  it("rejects kvLength beyond the capacity", () => {
    const query = zerosLike([1, 4, 16]);
    const keys = zerosLike([4, 2, 16]);
    expectKernelError(
      () => kernel.attention(zerosLike([1, 4, 16]), query, keys, zerosLike([4, 2, 16]), { ...options, kvLength: 5 }),
      /attention: kvLength 5 exceeds the key\/value capacity 4 of \[4, 2, 16\]/,
    );
  });

  it("rejects causal attention past the cached keys", () => {
    const query = zerosLike([2, 4, 16]);
    const keys = zerosLike([8, 2, 16]);
    expectKernelError(
      () => kernel.attention(zerosLike([2, 4, 16]), query, keys, zerosLike([8, 2, 16]), { ...options, startPosition: 3, kvLength: 4 }),
      /attention: causal attention needs keys up to position 4, but only 4 are cached/,
    );
  });

  it("rejects a head-dimension mismatch and mismatched keys/values", () => {
    expectKernelError(
      () => kernel.attention(zerosLike([1, 4, 16]), zerosLike([1, 4, 16]), zerosLike([4, 2, 8]), zerosLike([4, 2, 8]), options),
      /attention: query \[1, 4, 16\] and keys \[4, 2, 8\] disagree on the head dimension/,
    );
    expectKernelError(
      () => kernel.attention(zerosLike([1, 4, 16]), zerosLike([1, 4, 16]), zerosLike([4, 2, 16]), zerosLike([5, 2, 16]), options),
      /attention: keys and values must have the same shape, got \[4, 2, 16\] and \[5, 2, 16\]/,
    );
  });
});

describe("other ops", () => {
  it("embedding rejects ids outside the table", () => {
    const table = randomTensor([10, 8], 6);
    expectKernelError(() => kernel.embedding(zerosLike([2, 8]), table, Int32Array.from([1, 10])), /embedding: ids\[1\] = 10 is outside the table's 10 rows/);
    expectKernelError(() => kernel.embedding(zerosLike([1, 8]), table, Int32Array.from([-1])), /embedding: ids\[0\] = -1 is outside/);
    expectKernelError(() => kernel.embedding(zerosLike([3, 8]), table, Int32Array.from([1, 2])), /embedding: out must have shape \[2, 8\], got \[3, 8\]/);
  });

  it("topK rejects k larger than the input (and k < 1)", () => {
    const input = randomTensor([10], 7);
    expectKernelError(() => kernel.topK(input, 11), /topK: k = 11 exceeds the 10 values of input \[10\]/);
    expectKernelError(() => kernel.topK(input, 0), /topK: k must be an integer ≥ 1, got 0/);
  });

  it("rope rejects a positions array of the wrong length, negative positions and too many frequencies", () => {
    const x = zerosLike([2, 4, 8]);
    const frequencies = new Float32Array(4);
    expectKernelError(() => kernel.rope(x, Int32Array.from([0, 1, 2]), frequencies, "half"), /rope: positions has 3 entries for 2 tokens in x \[2, 4, 8\]/);
    expectKernelError(() => kernel.rope(x, Int32Array.from([0, -1]), frequencies, "half"), /rope: positions\[1\] is negative \(-1\)/);
    expectKernelError(() => kernel.rope(x, Int32Array.from([0, 1]), new Float32Array(5), "half"), /rope: rotary dimension 10 exceeds head dimension 8 of x \[2, 4, 8\]/);
  });

  it("row ops reject mismatched shapes", () => {
    expectKernelError(() => kernel.rmsNorm(zerosLike([2, 8]), zerosLike([2, 8]), zerosLike([7]), 1e-5), /rmsNorm: weight must have shape \[8\], got \[7\]/);
    expectKernelError(() => kernel.softmax(zerosLike([2, 8]), zerosLike([2, 9])), /softmax: out and input must have the same shape, got \[2, 8\] and \[2, 9\]/);
    expectKernelError(() => kernel.add(zerosLike([2, 8]), zerosLike([2, 8]), zerosLike([4])), /add: b must have a's shape \[2, 8\] or be one row \[8\], got \[4\]/);
    expectKernelError(() => kernel.swiglu(zerosLike([2, 8]), zerosLike([2, 8]), zerosLike([2, 4])), /swiglu: gate and up must have the same shape/);
  });

  it("quantize, dequantize, argmax and setThreads reject bad arguments", () => {
    expectKernelError(() => kernel.quantize(Tensor.zeros("q8_0", [2, 64]), zerosLike([2, 32])), /quantize: out and input must have the same shape, got \[2, 64\] and \[2, 32\]/);
    expectKernelError(() => kernel.dequantize(zerosLike([2, 64]), Tensor.zeros("f16", [2, 64]).reshape([4, 32])), /dequantize: out and input must have the same shape/);
    expectKernelError(() => kernel.argmax(zerosLike([0])), /argmax: input is empty/);
    expectKernelError(() => kernel.setThreads(0), /setThreads: threads must be an integer ≥ 1, got 0/);
  });
});
