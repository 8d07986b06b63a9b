// LlamaConfig: the hyper-parameters of a decoder-only transformer of the Llama family, in one typed shape whichever file
// they came from (Hugging Face config.json, GGUF llama.* / chatglm.* metadata, a llama2.c header), plus the consistency
// checks they must pass. GLM (ChatGLM2/3, GLM-4) is the same decoder with biases on the query/key/value projections
// and rotary embedding on part of each head (see `architecture`, `attentionBias`, `rotaryDim`).

import type { Llama3RopeScaling, RopeLayout } from "@infer-recipes/kernel";

/** Llama 3's long-context frequency scaling (rope_scaling with rope_type "llama3"): the kernel's own type, so a
 *  config's scaling passes straight into `ropeFrequencies({ scaling })`. */
export type { Llama3RopeScaling };

import { ModelFileError } from "./errors.ts";

/** The model families the shared decoder runs, under llama.cpp's architecture names (general.architecture). */
export type DecoderArchitecture = "llama" | "chatglm";

/**
 * A Llama-architecture model's hyperparameters, read the same from config.json, GGUF metadata or a llama2.c header.
 */
export interface LlamaConfig {
  /** Which family the weights come from (default "llama"); decides tensor names in files, not the forward pass. */
  architecture?: DecoderArchitecture;
  /** The query, key and value projections have bias vectors (GLM's add_qkv_bias); default false. */
  attentionBias?: boolean;
  /** Width of the residual stream: hidden_size / llama.embedding_length / llama2.c dim. */
  hiddenSize: number;
  /** Width of the SwiGLU feed-forward layer: intermediate_size / llama.feed_forward_length. */
  intermediateSize: number;
  /** Number of transformer blocks: num_hidden_layers / llama.block_count. */
  layerCount: number;
  /** Query heads: num_attention_heads / llama.attention.head_count. */
  headCount: number;
  /** Key/value heads (< headCount for grouped-query attention): num_key_value_heads / llama.attention.head_count_kv. */
  keyValueHeadCount: number;
  /** Width of one head: head_dim, else hiddenSize / headCount. */
  headDim: number;
  /** Leading dimensions of each head that RoPE rotates (usually headDim; llama.rope.dimension_count). */
  rotaryDim: number;
  /** RMSNorm epsilon: rms_norm_eps / llama.attention.layer_norm_rms_epsilon. */
  rmsNormEpsilon: number;
  /** RoPE base: rope_theta / llama.rope.freq_base (10000 for Llama 2, 500000 for Llama 3). */
  ropeTheta: number;
  /** Llama 3 frequency scaling from config.json. GGUF files store it as the tensor rope_freqs.weight instead; in
   *  both cases `LoadedWeights.ropeFrequencies` already includes it. */
  ropeScaling?: Llama3RopeScaling;
  /** Which dimensions RoPE pairs in the Q/K weights as loaded: "half" (Hugging Face, rotate-half) or "interleaved"
   *  (GGUF, llama2.c: adjacent pairs). Same names as the kernel's rope op. */
  ropeLayout: RopeLayout;
  /** Longest sequence the model was trained for: max_position_embeddings / llama.context_length / seq_len. */
  contextLength: number;
  /** Rows of the embedding and output matrices. */
  vocabSize: number;
  /** True when the output projection (lm_head) is the token embedding matrix. */
  tiedEmbeddings: boolean;
  /** Token the prompt starts with, when the model has one. */
  bosTokenId?: number;
  /** Tokens that end generation (config.json eos_token_id, number or list; GGUF eos/eot/eom ids). */
  eosTokenIds: number[];
}

function requirePositiveInteger(file: string, field: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new ModelFileError({ file, field }, `expected a positive integer, got ${value}`);
}

function requirePositiveNumber(file: string, field: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) throw new ModelFileError({ file, field }, `expected a finite number > 0, got ${value}`);
}

/** Checks the fields against each other; returns the config unchanged. `file` is named in errors. Field names in
 *  errors are LlamaConfig's (the format parsers check their own fields first, under the file's own names). */
export function validateLlamaConfig(config: LlamaConfig, file: string): LlamaConfig {
  for (const field of ["hiddenSize", "intermediateSize", "layerCount", "headCount", "keyValueHeadCount", "headDim", "rotaryDim", "contextLength", "vocabSize"] as const) {
    requirePositiveInteger(file, field, config[field]);
  }
  requirePositiveNumber(file, "rmsNormEpsilon", config.rmsNormEpsilon);
  requirePositiveNumber(file, "ropeTheta", config.ropeTheta);
  if (config.headCount % config.keyValueHeadCount !== 0) {
    throw new ModelFileError(
      { file, field: "keyValueHeadCount" },
      `headCount (${config.headCount}) must be a multiple of keyValueHeadCount (${config.keyValueHeadCount})`,
    );
  }
  if (config.rotaryDim % 2 !== 0 || config.rotaryDim > config.headDim) {
    throw new ModelFileError({ file, field: "rotaryDim" }, `expected an even number ≤ headDim (${config.headDim}), got ${config.rotaryDim}`);
  }
  if (config.architecture !== undefined && config.architecture !== "llama" && config.architecture !== "chatglm") {
    throw new ModelFileError({ file, field: "architecture" }, `expected "llama" or "chatglm", got ${String(config.architecture)}`);
  }
  if (config.ropeLayout !== "half" && config.ropeLayout !== "interleaved") {
    throw new ModelFileError({ file, field: "ropeLayout" }, `expected "half" or "interleaved", got ${String(config.ropeLayout)}`);
  }
  const scaling = config.ropeScaling;
  if (scaling !== undefined) {
    requirePositiveNumber(file, "ropeScaling.factor", scaling.factor);
    requirePositiveNumber(file, "ropeScaling.lowFrequencyFactor", scaling.lowFrequencyFactor);
    requirePositiveNumber(file, "ropeScaling.highFrequencyFactor", scaling.highFrequencyFactor);
    requirePositiveNumber(file, "ropeScaling.originalMaxPositions", scaling.originalMaxPositions);
    if (scaling.highFrequencyFactor <= scaling.lowFrequencyFactor) {
      throw new ModelFileError(
        { file, field: "ropeScaling.highFrequencyFactor" },
        `must exceed lowFrequencyFactor (${scaling.lowFrequencyFactor}), got ${scaling.highFrequencyFactor}`,
      );
    }
  }
  for (const id of [...(config.bosTokenId === undefined ? [] : [config.bosTokenId]), ...config.eosTokenIds]) {
    if (!Number.isInteger(id) || id < 0) throw new ModelFileError({ file, field: "bosTokenId/eosTokenIds" }, `token ids must be integers ≥ 0, got ${id}`);
  }
  return config;
}
