// The reference backend: every op in plain TypeScript, single-threaded, written to be read.
// It defines what each op computes; the native backend is tested against it.

import type { AttentionOptions, Backend, RopeLayout, TopK } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { gelu, silu, swiglu } from "./activation.ts";
import { attentionFlash } from "./attention.ts";
import { dequantize, quantize } from "./conversion.ts";
import { add, mul } from "./elementwise.ts";
import { embedding } from "./embedding.ts";
import { matmul } from "./matmul.ts";
import { attentionPaged } from "./paged-attention.ts";
import { layerNorm, rmsNorm } from "./normalization.ts";
import { rope } from "./rope.ts";
import { argmax, topK } from "./selection.ts";
import { softmax } from "./softmax.ts";

export { attentionFlash, attentionNaive } from "./attention.ts";
export { attentionPaged } from "./paged-attention.ts";

/**
 * The TypeScript backend: the readable definition of every op, single-threaded, and the oracle the native backend is
 * tested against. Subclass it to swap one op (the llama recipe's baseline swaps in naive attention).
 */
export class ReferenceBackend implements Backend {
  /** Always `"reference"`. */
  readonly name = "reference";
  readonly threads = 1;

  /** The reference backend always runs on one thread. */
  setThreads(_threads: number): void {}

  matmul(out: Tensor, input: Tensor, weight: Tensor): void {
    matmul(out, input, weight);
  }
  rmsNorm(out: Tensor, input: Tensor, weight: Tensor, epsilon: number): void {
    rmsNorm(out, input, weight, epsilon);
  }
  layerNorm(out: Tensor, input: Tensor, weight: Tensor, bias: Tensor | null, epsilon: number): void {
    layerNorm(out, input, weight, bias, epsilon);
  }
  rope(x: Tensor, positions: Int32Array, frequencies: Float32Array, layout: RopeLayout): void {
    rope(x, positions, frequencies, layout);
  }
  softmax(out: Tensor, input: Tensor): void {
    softmax(out, input);
  }
  silu(out: Tensor, input: Tensor): void {
    silu(out, input);
  }
  gelu(out: Tensor, input: Tensor): void {
    gelu(out, input);
  }
  swiglu(out: Tensor, gate: Tensor, up: Tensor): void {
    swiglu(out, gate, up);
  }
  add(out: Tensor, a: Tensor, b: Tensor): void {
    add(out, a, b);
  }
  mul(out: Tensor, a: Tensor, b: Tensor): void {
    mul(out, a, b);
  }
  attention(out: Tensor, query: Tensor, keys: Tensor, values: Tensor, options: AttentionOptions): void {
    attentionFlash(out, query, keys, values, options);
  }
  pagedAttention(out: Tensor, query: Tensor, keyBlocks: Tensor, valueBlocks: Tensor, blockTable: Int32Array, options: AttentionOptions): void {
    attentionPaged(out, query, keyBlocks, valueBlocks, blockTable, options);
  }
  embedding(out: Tensor, table: Tensor, ids: Int32Array): void {
    embedding(out, table, ids);
  }
  quantize(out: Tensor, input: Tensor): void {
    quantize(out, input);
  }
  dequantize(out: Tensor, input: Tensor): void {
    dequantize(out, input);
  }
  argmax(input: Tensor): number {
    return argmax(input);
  }
  topK(input: Tensor, k: number): TopK {
    return topK(input, k);
  }
}

/** A new {@link ReferenceBackend}. */
export function createReferenceBackend(): ReferenceBackend {
  return new ReferenceBackend();
}
