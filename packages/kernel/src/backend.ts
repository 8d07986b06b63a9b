// The contract every backend implements. Arguments arrive already validated by `Kernel` (kernel.ts):
// dtypes, shapes and contiguity are right, so a backend only computes. Shapes are noted per argument.

import type { DType } from "./dtype.ts";
import type { Tensor } from "./tensor.ts";

/** Which dimensions of a head rotary embedding rotates together. */
export type RopeLayout =
  /** Pairs (i, i + rotaryDim/2): Hugging Face Llama, GPT-NeoX ("rotate half"). */
  | "half"
  /** Pairs (2i, 2i + 1): Meta's original Llama, GGUF llama tensors, ChatGLM/GLM. */
  | "interleaved";

/** Where a chunk of queries sits in the sequence, and how it attends. */
export interface AttentionOptions {
  /** Absolute position of the first query token; query token i sits at startPosition + i. */
  startPosition: number;
  /** Number of valid rows in the key/value buffers (tokens cached so far, including this chunk). */
  kvLength: number;
  /** Causal: query i attends keys 0..startPosition+i only. Otherwise all kvLength keys. */
  causal: boolean;
  /** Multiplier applied to q·k; usually 1/sqrt(headDim). */
  scale: number;
  /**
   * Keys quantized per channel (KIVI), for q8_0 / q4_0 keys. When given, the keys tensor holds groups of 32 storage
   * rows: group g (rows 32g..32g+31) is kvHeads·headDim blocks, block c holding channel c of those 32 positions with
   * one scale; this f32 tensor [rows, kvHeads, headDim] holds the newest positions, position p at row p mod rows, at
   * least floor(startPosition / 32)·32 .. kvLength − 1. A causal query reads its own group from it while that group is
   * not full at its position, so results do not depend on chunking (channel-keys.ts has the rules). Values stay per
   * token. Dense keys need a capacity, paged keys a block size, that is a multiple of 32.
   */
  keyResidual?: Tensor;
}

/** The k largest values of a row, largest first, with their indices. */
export interface TopK {
  /** Positions of the values in the input, [k]. */
  indices: Int32Array;
  /** The values, [k], descending. */
  values: Float32Array;
}

/**
 * What a kernel backend computes. {@link Kernel} validates every argument (dtypes, shapes, contiguity) before it
 * calls a backend, so an implementation only computes. Two exist: {@link ReferenceBackend} (TypeScript, the
 * definition) and {@link NativeBackend} (C++); a new op goes into both and into `Kernel`.
 */
export interface Backend {
  /** Which backend this is. */
  readonly name: "reference" | "native";
  /** Worker threads an op may use (the reference backend always uses 1). */
  readonly threads: number;
  /** Sets the worker threads (ignored by the reference backend). */
  setThreads(threads: number): void;

  /** out[t, r] = Σ_c input[t, c] · weight[r, c]. out [tokens, rows] f32, input [tokens, cols] f32, weight [rows, cols] any dtype.
   *  For q8_0/q4_0 weights the input rows are quantized to 8 bits per 32-value block first, for q4_k/q6_k per 256. */
  matmul(out: Tensor, input: Tensor, weight: Tensor): void;
  /** The weight [rows, cols] in the layout this backend's matmul reads fastest (in weight's own storage when
   *  inPlace, else a new tensor), or undefined to keep it as it is. Backends without a preferred layout leave this out. */
  packWeight?(weight: Tensor, inPlace: boolean): Tensor | undefined;

  /** out = input / sqrt(mean(input²) + epsilon) · weight, per row. out, input [rows, dim]; weight [dim]. */
  rmsNorm(out: Tensor, input: Tensor, weight: Tensor, epsilon: number): void;
  /** out = (input − mean) / sqrt(variance + epsilon) · weight + bias, per row. bias may be null. */
  layerNorm(out: Tensor, input: Tensor, weight: Tensor, bias: Tensor | null, epsilon: number): void;

  /** Rotates x [tokens, heads, headDim] in place. positions: one per token. frequencies [rotaryDim / 2]; dims ≥ rotaryDim are left alone. */
  rope(x: Tensor, positions: Int32Array, frequencies: Float32Array, layout: RopeLayout): void;

  /** Softmax over the last axis. out, input [rows, n]; out may be input. */
  softmax(out: Tensor, input: Tensor): void;
  /** out = x · sigmoid(x). */
  silu(out: Tensor, input: Tensor): void;
  /** GELU, tanh approximation. */
  gelu(out: Tensor, input: Tensor): void;
  /** out = silu(gate) · up. out, gate, up [rows, n]. */
  swiglu(out: Tensor, gate: Tensor, up: Tensor): void;
  /** out = a + b; b has a's shape or is one row [n] added to every row. */
  add(out: Tensor, a: Tensor, b: Tensor): void;
  /** out = a · b; b has a's shape or is one row [n] multiplied into every row. */
  mul(out: Tensor, a: Tensor, b: Tensor): void;

  /** Tiled attention with online softmax. out, query [tokens, heads, headDim] f32; keys, values [capacity, kvHeads, headDim]
   *  in one cache dtype (f32, f16, bf16, q8_0, q4_0), decoded inside the loop, never into a copy of the cache.
   *  heads is a multiple of kvHeads (GQA/MQA): head h reads kv head floor(h / (heads / kvHeads)). */
  attention(out: Tensor, query: Tensor, keys: Tensor, values: Tensor, options: AttentionOptions): void;

  /** The same attention with the keys and values in fixed-size blocks of a paged cache. keyBlocks, valueBlocks
   *  [blockCount, blockSize, kvHeads, headDim] in one cache dtype; blockTable [≥ ceil(kvLength / blockSize)]: position p of the
   *  sequence lives in block blockTable[floor(p / blockSize)], row p mod blockSize. */
  pagedAttention(out: Tensor, query: Tensor, keyBlocks: Tensor, valueBlocks: Tensor, blockTable: Int32Array, options: AttentionOptions): void;

  /** out[i] = table[ids[i]] dequantized. out [ids.length, dim] f32; table [vocab, dim] any dtype. */
  embedding(out: Tensor, table: Tensor, ids: Int32Array): void;

  /** Encodes input (f32) into out's dtype. out and input have the same shape. */
  quantize(out: Tensor, input: Tensor): void;
  /** Decodes input (any dtype) into out (f32) of the same shape. */
  dequantize(out: Tensor, input: Tensor): void;

  /** Index of the largest value (the first one on ties). input [n] f32. */
  argmax(input: Tensor): number;
  /** The k largest values, largest first (lower index first on ties). input [n] f32. */
  topK(input: Tensor, k: number): TopK;
}

/** dtypes `quantize` can produce and `matmul`/`embedding`/`dequantize` can read (matmul and dequantize also read the
 *  interleaved layouts packWeight makes). */
export const weightDTypes: readonly DType[] = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q6_k"];
