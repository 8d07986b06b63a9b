// Q/K row reordering between the RoPE layouts: it is llama.cpp's permute, its inverse undoes it for any dtype,
// and rotating with the kernel's "half" rope before the reorder equals rotating with "interleaved" after it.

import { createKernel, dequantizeTensor, Tensor, type RopeLayout } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { reorderRopeRows } from "../src/index.ts";
import { bytesOf, expectSameTensor, randomTensor, randomValues } from "../src/tiny-models/random-tensors.ts";

/** llama.cpp's permute written as numpy would do it: w.reshape(heads, 2, rows/heads/2, cols).swapaxes(1, 2). */
function llamaCppPermute(weight: Float32Array, rows: number, columns: number, heads: number): Float32Array {
  const half = rows / heads / 2;
  const out = new Float32Array(weight.length); // [rows, columns]
  // out index (h, i, j, c) of shape [heads, half, 2, columns] reads input (h, j, i, c) of shape [heads, 2, half, columns]
  for (let head = 0; head < heads; head++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        for (let column = 0; column < columns; column++) {
          out[((head * half + i) * 2 + j) * columns + column] = weight[((head * 2 + j) * half + i) * columns + column];
        }
      }
    }
  }
  return out;
}

describe("reorderRopeRows", () => {
  it("half → interleaved is llama.cpp's convert_hf_to_gguf permute", () => {
    for (const [rows, heads] of [[32, 4], [16, 2], [64, 1]] as const) {
      const weight = randomTensor("f32", [rows, 12], rows + heads); // [rows, 12]
      const permuted = reorderRopeRows(weight, heads, "half", "interleaved");
      expect(permuted.data).toEqual(llamaCppPermute(weight.data as Float32Array, rows, 12, heads));
    }
  });

  it("interleaved → half undoes half → interleaved, bit for bit, for float and block dtypes", () => {
    for (const dtype of ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k"] as const) {
      const weight = randomTensor(dtype, [48, 256], 7); // [heads 6 · headDim 8, 256]
      const there = reorderRopeRows(weight, 6, "half", "interleaved");
      expect(bytesOf(there)).not.toEqual(bytesOf(weight));
      expectSameTensor(reorderRopeRows(there, 6, "interleaved", "half"), weight);
      const back = reorderRopeRows(weight, 6, "interleaved", "half");
      expectSameTensor(reorderRopeRows(back, 6, "half", "interleaved"), weight);
    }
  });

  it("moves quantized rows whole: dequantizing then permuting equals permuting then dequantizing", () => {
    const weight = randomTensor("q4_0", [16, 64], 3);
    const permutedValues = dequantizeTensor(reorderRopeRows(weight, 2, "half", "interleaved"));
    expect(permutedValues).toEqual(llamaCppPermute(dequantizeTensor(weight), 16, 64, 2));
  });

  it("returns the same tensor when the layouts agree, and rejects rows that do not split into heads", () => {
    const weight = randomTensor("f32", [12, 4], 1);
    expect(reorderRopeRows(weight, 3, "half", "half")).toBe(weight);
    expect(() => reorderRopeRows(weight, 5, "half", "interleaved")).toThrow(/12 rows do not split into 5 heads/);
  });

  it("commutes with RoPE: rope_half(W·x) reordered equals rope_interleaved(reordered W · x)", () => {
    const kernel = createKernel({ backend: "reference" });
    const heads = 3;
    const headDim = 8;
    const hidden = 16;
    const tokens = 4;
    const weight = randomTensor("f32", [heads * headDim, hidden], 11); // [heads · headDim, hidden], HF layout
    const input = Tensor.fromFloat32([tokens, hidden], randomValues(tokens * hidden, 12)); // [tokens, hidden]
    const positions = new Int32Array([0, 1, 5, 17]);
    const frequencies = new Float32Array([1, 0.3, 0.1, 0.01]); // [headDim / 2]
    const project = (matrix: Tensor, layout: RopeLayout): Float32Array => {
      const out = Tensor.zeros("f32", [tokens, heads * headDim]);
      kernel.matmul(out, input, matrix);
      const rotated = out.reshape([tokens, heads, headDim]);
      kernel.rope(rotated, positions, frequencies, layout);
      return rotated.data as Float32Array;
    };
    const viaHalf = project(weight, "half");
    const viaInterleaved = project(reorderRopeRows(weight, heads, "half", "interleaved"), "interleaved");
    // reorder the half-layout result's per-head components the same way, then compare
    const reordered = reorderRopeRows(Tensor.fromFloat32([tokens * heads * headDim], viaHalf), tokens * heads, "half", "interleaved").data as Float32Array;
    for (let index = 0; index < reordered.length; index++) expect(viaInterleaved[index]).toBeCloseTo(reordered[index], 5);
  });
});
