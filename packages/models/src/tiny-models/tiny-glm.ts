// Tiny GLM models (ChatGLM2/3 architecture) with random weights, written through every format the loaders read: a
// Hugging Face folder as THUDM publishes it (config.json + safetensors or PyTorch checkpoints, fused
// query_key_value / dense_h_to_4h matrices under transformer.* names) and a llama.cpp `chatglm` GGUF file. Tensors are
// given in GLM naming (glm-tensors.ts), so tests can write the same weights to every format and compare.

import fs from "node:fs";
import path from "node:path";

import type { DType, Tensor } from "@infer-recipes/kernel";

import { llamaGgufMetadata, type GgufQuantization } from "../convert.ts";
import { expectedGlmTensorShapes, glmToGgufTensorName } from "../glm-tensors.ts";
import { writeGguf, type GgufMetadataInput } from "../gguf/writer.ts";
import type { LlamaConfig } from "../llama-config.ts";
import { writeSafetensors, writeShardedSafetensors } from "../safetensors-writer.ts";
import { writePyTorchCheckpoint, writeShardedPyTorchCheckpoint } from "./pytorch-writer.ts";
import { randomTensor } from "./random-tensors.ts";

/** A valid tiny GLM config (multi-query groups, q/k/v bias, RoPE on half of each head); override any field. */
export function tinyGlmConfig(overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  const headDim = overrides.headDim ?? 8;
  return {
    architecture: "chatglm",
    attentionBias: true,
    hiddenSize: 32,
    intermediateSize: 48,
    layerCount: 2,
    headCount: 4,
    keyValueHeadCount: 2,
    headDim,
    rotaryDim: headDim / 2,
    rmsNormEpsilon: 1e-5,
    ropeTheta: 10000,
    ropeLayout: "interleaved",
    contextLength: 128,
    vocabSize: 64,
    tiedEmbeddings: false,
    eosTokenIds: [2],
    ...overrides,
  };
}

/** Random weights for every GLM tensor the config needs (GLM names; norm weights f32 around 1). */
export function randomGlmTensors(config: LlamaConfig, seed: number, matrixDType: DType = "f32"): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  let index = 0;
  for (const [name, shape] of expectedGlmTensorShapes(config)) {
    tensors.set(name, randomTensor(shape.length === 1 ? "f32" : matrixDType, shape, seed * 1000 + index++, 0.5));
  }
  return tensors;
}

/** The config.json of a THUDM ChatGLM checkpoint with this config. */
export function glmConfigJson(config: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ["ChatGLMModel"],
    model_type: "chatglm",
    add_bias_linear: false,
    add_qkv_bias: config.attentionBias ?? false,
    apply_residual_connection_post_layernorm: false,
    ffn_hidden_size: config.intermediateSize,
    hidden_size: config.hiddenSize,
    kv_channels: config.headDim,
    layernorm_epsilon: config.rmsNormEpsilon,
    multi_query_attention: config.keyValueHeadCount !== config.headCount,
    multi_query_group_num: config.keyValueHeadCount,
    num_attention_heads: config.headCount,
    num_layers: config.layerCount,
    original_rope: true,
    padded_vocab_size: config.vocabSize,
    post_layer_norm: true,
    rmsnorm: true,
    rope_ratio: config.ropeTheta / 10000,
    seq_length: config.contextLength,
    tie_word_embeddings: false,
    torch_dtype: "float32",
    eos_token_id: config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds,
    pad_token_id: 0,
  };
}

/** How {@link writeGlmHfModel} writes the weights. */
export interface GlmHfWriteOptions {
  /** "safetensors" (default) or "pytorch" (pytorch_model.bin files, as older repositories hold). */
  format?: "safetensors" | "pytorch";
  /** Split the weights into this many shard files with an index. */
  shards?: number;
}

/** Writes config.json and the weights (GLM-named tensors) into `directory` as a THUDM checkpoint. */
export function writeGlmHfModel(directory: string, config: LlamaConfig, tensors: ReadonlyMap<string, Tensor>, options: GlmHfWriteOptions = {}): void {
  fs.writeFileSync(path.join(directory, "config.json"), JSON.stringify(glmConfigJson(config), null, 2));
  const shards = options.shards ?? 1;
  if (options.format === "pytorch") {
    if (shards > 1) writeShardedPyTorchCheckpoint(directory, tensors, shards);
    else writePyTorchCheckpoint(path.join(directory, "pytorch_model.bin"), tensors);
  } else if (shards > 1) writeShardedSafetensors(directory, new Map(tensors), shards, { format: "pt" });
  else writeSafetensors(path.join(directory, "model.safetensors"), new Map(tensors), { format: "pt" });
}

/**
 * Writes the model as a llama.cpp `chatglm` GGUF file: fused tensors as given (any dtype), chatglm.* metadata plus
 * `extraMetadata` (e.g. a vocabulary); `quant` only sets general.file_type.
 */
export function writeGlmGgufModel(
  file: string,
  config: LlamaConfig,
  tensors: ReadonlyMap<string, Tensor>,
  extraMetadata: ReadonlyMap<string, GgufMetadataInput> = new Map(),
  options: { quant?: GgufQuantization; name?: string } = {},
): void {
  const ggufTensors = [...tensors].map(([name, tensor]) => {
    const ggufName = glmToGgufTensorName(name);
    if (ggufName === undefined) throw new Error(`writeGlmGgufModel: ${name} is not a GLM tensor name`);
    return { name: ggufName, tensor };
  });
  const metadata = llamaGgufMetadata(config, options.name ?? "tiny-glm", options.quant ?? "f32");
  for (const [key, value] of extraMetadata) metadata.set(key, value);
  writeGguf(file, { metadata, tensors: ggufTensors });
}
