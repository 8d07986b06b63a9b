// LoadedWeights: what every loader returns — a LlamaConfig, the tensors under Hugging Face names, the RoPE
// frequencies, and where they came from — and the shared last step that turns a format's raw tensors into it
// (tied-embedding aliasing, shape checks against the config, optional RoPE re-layout, quantize-on-load and packing
// for the kernel).

import type { DType, Kernel, RopeLayout, Tensor } from "@infer-recipes/kernel";

import type { ProgressCallback } from "./binary-file.ts";
import { ModelFileError } from "./errors.ts";
import type { LlamaConfig } from "./llama-config.ts";
import { checkLlamaTensors, llamaLayerTensorNames, llamaTensorNames } from "./llama-tensors.ts";
import { llamaRopeFrequencies } from "./rope-frequencies.ts";
import { reorderRopeRows } from "./rope-rows.ts";
import { convertWeightDTypes, vectorsToFloat32 } from "./weight-dtypes.ts";

/** Where weights came from; "pytorch" is a Hugging Face directory of pytorch_model*.bin checkpoints; "random" is an
 *  in-memory model built for benchmarks. */
export type WeightFileFormat = "safetensors" | "pytorch" | "gguf" | "llama2c" | "random";

/** Where a model's weights were read from. */
export interface WeightSource {
  /** The file format. */
  format: WeightFileFormat;
  /** What was loaded: a model directory (safetensors or PyTorch checkpoints), a .gguf file or a llama2.c .bin file. */
  path: string;
  /** Every file whose tensors were read. */
  files: string[];
}

/** A model as every loader returns it: the config, the tensors under Hugging Face names, and where they came from. */
export interface LoadedWeights {
  /** The model's hyperparameters. */
  config: LlamaConfig;
  /**
   * Tensors under Hugging Face names (see llamaTensorNames / llamaLayerTensorNames). Matrices keep their stored dtype
   * (f32, f16, bf16, q8_0, q4_0, q4_k, q6_k) unless LoadModelOptions.dtype asks otherwise; vectors (norm weights) are
   * f32. Both "model.embed_tokens.weight" and "lm_head.weight" are always present — the same Tensor object when
   * config.tiedEmbeddings. Q/K rows are in config.ropeLayout order.
   */
  tensors: Map<string, Tensor>;
  /** RoPE inverse frequencies [rotaryDim / 2] including any llama3 scaling; pass to the kernel's rope op. */
  ropeFrequencies: Float32Array;
  /** The files read. */
  source: WeightSource;
  /** Format metadata: GGUF key/values, safetensors "__metadata__" entries, or empty. */
  metadata: Map<string, unknown>;
}

/** How {@link loadModelWeights} loads: progress, RoPE layout, quantize-on-load and packing for a kernel. */
export interface LoadModelOptions {
  /** Called as tensor bytes arrive: (bytesRead, totalBytes). */
  onProgress?: ProgressCallback;
  /** Reorder Q/K rows into this RoPE layout if the file uses the other one (config.ropeLayout follows). */
  ropeLayout?: RopeLayout;
  /** Quantize-on-load: store 2-D matrices in this dtype (rows that are not whole blocks fall back to f16). */
  dtype?: DType;
  /**
   * Repack the layers' matrices (and an untied output matrix) for this kernel's matmul as they load, in their own
   * storage (Kernel.packWeight with inPlace: no second copy of the model in memory). LlamaModel.fromLoadedWeights
   * packs whatever is not packed yet, but as copies.
   */
  packFor?: Kernel;
}

/** The tensor `name` of `weights`; a missing tensor is a ModelFileError naming the source. */
export function getTensor(weights: LoadedWeights, name: string): Tensor {
  const tensor = weights.tensors.get(name);
  if (tensor === undefined) throw new ModelFileError({ file: weights.source.path, tensor: name }, "missing from the loaded weights");
  return tensor;
}

/** What a format reader hands to the common loading steps (checks, layout, quantize-on-load) before they finish it. */
export interface RawWeights {
  /** The model's hyperparameters. */
  config: LlamaConfig;
  /** Tensors under Hugging Face names, as read. */
  tensors: Map<string, Tensor>;
  /** The files read. */
  source: WeightSource;
  /** Format metadata (GGUF key/values, safetensors "__metadata__"). */
  metadata: Map<string, unknown>;
  /** Maps an HF name back to the file's own spelling, for error messages. */
  describeName?: (name: string) => string;
}

/** A tied model's output matrix is its embedding, as in transformers (tie_weights) and the GGUF converter: a stored
 *  lm_head.weight beside the embedding (PyTorch checkpoints save both) is not used. A file that stores only
 *  lm_head.weight gives it to the embedding. */
function aliasTiedEmbeddings(tensors: Map<string, Tensor>, config: LlamaConfig): void {
  if (!config.tiedEmbeddings) return;
  const embedding = tensors.get(llamaTensorNames.tokenEmbedding);
  const output = tensors.get(llamaTensorNames.output);
  if (embedding !== undefined) tensors.set(llamaTensorNames.output, embedding);
  else if (output !== undefined) tensors.set(llamaTensorNames.tokenEmbedding, output);
}

/** Reorders every layer's Q/K rows (and their biases) into `layout`; returns the new tensor map (other tensors shared). */
export function reorderLlamaRopeWeights(tensors: ReadonlyMap<string, Tensor>, config: LlamaConfig, layout: RopeLayout): Map<string, Tensor> {
  const result = new Map(tensors);
  for (let layer = 0; layer < config.layerCount; layer++) {
    const { query, key, queryBias, keyBias } = llamaLayerTensorNames(layer);
    const heads: Array<[string, number]> = [[query, config.headCount], [key, config.keyValueHeadCount]];
    if (config.attentionBias) heads.push([queryBias, config.headCount], [keyBias, config.keyValueHeadCount]);
    for (const [name, headCount] of heads) {
      result.set(name, reorderRopeRows(tensors.get(name)!, headCount, config.ropeLayout, layout, name, config.rotaryDim));
    }
  }
  return result;
}

/**
 * Replaces every layer matrix and the output matrix in `tensors` with its Kernel.packWeight form. A tied
 * embedding/output matrix is packed once and stays shared: the kernel's embedding reads packed tables, so the LM head
 * runs on the packed layout too. In place, the packed tensors reuse the old ones' storage (the tensors must be the
 * caller's own: loaders' freshly read ones); otherwise they are copies and the old tensors stay valid.
 */
export function packLlamaMatrices(tensors: Map<string, Tensor>, config: LlamaConfig, kernel: Kernel, options: { inPlace: boolean }): void {
  const tied = tensors.get(llamaTensorNames.output) === tensors.get(llamaTensorNames.tokenEmbedding);
  const names: string[] = [];
  for (let layer = 0; layer < config.layerCount; layer++) {
    const { query, key, value, attentionOutput, gate, up, down } = llamaLayerTensorNames(layer);
    names.push(query, key, value, attentionOutput, gate, up, down);
  }
  names.push(llamaTensorNames.output);
  for (const name of names) {
    const tensor = tensors.get(name);
    if (tensor !== undefined) tensors.set(name, kernel.packWeight(tensor, options));
  }
  if (tied && tensors.has(llamaTensorNames.output)) tensors.set(llamaTensorNames.tokenEmbedding, tensors.get(llamaTensorNames.output)!);
}

/** The common last step of every loader (see the file header). */
export function assembleLoadedWeights(raw: RawWeights, options: LoadModelOptions = {}): LoadedWeights {
  const tensors = new Map(raw.tensors);
  aliasTiedEmbeddings(tensors, raw.config);
  checkLlamaTensors(tensors, raw.config, raw.source.path, raw.describeName);
  let config = raw.config;
  let result = vectorsToFloat32(tensors);
  if (options.ropeLayout !== undefined && options.ropeLayout !== config.ropeLayout) {
    result = reorderLlamaRopeWeights(result, config, options.ropeLayout);
    config = { ...config, ropeLayout: options.ropeLayout };
  }
  if (options.dtype !== undefined) result = convertWeightDTypes(result, options.dtype);
  if (options.packFor !== undefined) packLlamaMatrices(result, config, options.packFor, { inPlace: true });
  return {
    config,
    tensors: result,
    ropeFrequencies: llamaRopeFrequencies(config, result.get(llamaTensorNames.ropeFrequencyFactors)),
    source: raw.source,
    metadata: raw.metadata,
  };
}
