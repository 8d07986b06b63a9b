// Converts a Hugging Face model directory (config.json + safetensors or PyTorch checkpoints) into a GGUF file that
// llama.cpp-style loaders (and this package's GGUF loader) read. Llama: llama.* metadata, tensors renamed to GGUF
// names, Q/K rows permuted from rotate-half to the interleaved RoPE layout exactly as llama.cpp's
// convert_hf_to_gguf.py does, llama3 rope scaling written as rope_freqs.weight. GLM (ChatGLM2/3, GLM-4): chatglm.*
// metadata and llama.cpp's chatglm tensor names (glm-tensors.ts). 2-D weights are stored in the type llama-quantize
// would choose for each tensor under the requested scheme (quantization-plan.ts: e.g. q4_0 files keep the output
// matrix in q6_k, q4_k_m files mix q4_k and q6_k) and vectors in f32. Tensors are read, converted and written one at a
// time, so memory stays near the size of the largest tensor. The tokenizer (tokenizer.json, or ChatGLM3's
// SentencePiece tokenizer.model) is embedded as tokenizer.ggml.* metadata, so llama.cpp can load the file on its own;
// embedTokenizer: false leaves it out.

import { Tensor, type DType } from "@infer-recipes/kernel";

import type { ProgressCallback } from "./binary-file.ts";
import { ModelFileError, shapeText } from "./errors.ts";
import { readGlmTokenizerGgufMetadata } from "./glm-tokenizer-metadata.ts";
import { expectedGlmTensorShapes, glmToGgufTensorName } from "./glm-tensors.ts";
import { readHfTokenizerGgufMetadata } from "./gguf/hf-tokenizer-metadata.ts";
import { eosTokenIdsMetadataKey } from "./gguf/metadata-fields.ts";
import { hfToGgufTensorName } from "./gguf/tensor-names.ts";
import { writeGguf, type GgufMetadataInput, type GgufTensorSource } from "./gguf/writer.ts";
import { readGenerationEosTokenIds, readHfConfig } from "./hf-config.ts";
import { openHfWeights } from "./hf-model.ts";
import type { LlamaConfig } from "./llama-config.ts";
import { expectedLlamaTensorShapes, llamaLayerTensorNames, llamaTensorNames, type ExpectedTensorShape } from "./llama-tensors.ts";
import { llamaFileTypes, plannedTensorDType, quantizationSchemes, type QuantizationScheme } from "./quantization-plan.ts";
import { reorderRopeRows } from "./rope-rows.ts";
import type { TensorArchive } from "./tensor-archive.ts";
import { convertTensorDType } from "./weight-dtypes.ts";

/** The schemes a GGUF file can be written in (quantization-plan.ts gives each tensor's type). */
export type GgufQuantization = QuantizationScheme;

/** Every {@link GgufQuantization}, for option checking and help text. */
export const ggufQuantizations: readonly GgufQuantization[] = quantizationSchemes;

/** What {@link convertSafetensorsToGguf} writes. */
export interface ConvertOptions {
  /** Format of the 2-D matrices (vectors stay f32). */
  quant: GgufQuantization;
  /** general.name (default: the directory name). */
  name?: string;
  /** (bytesWritten, totalBytes) over the tensor data. */
  onProgress?: ProgressCallback;
  /** Embed tokenizer.json (with tokenizer_config.json) as GGUF tokenizer metadata (default: when the directory has
   *  one). true without a tokenizer.json is an error. */
  embedTokenizer?: boolean;
}

/** One tensor as written to the GGUF file. */
export interface ConvertedTensor {
  /** GGUF name. */
  name: string;
  /** The dtype it was written in. */
  dtype: DType;
  /** Kernel shape, outermost first. */
  shape: readonly number[];
}

/** What {@link convertSafetensorsToGguf} wrote. */
export interface ConvertResult {
  /** The GGUF file written. */
  outputPath: string;
  /** The model's configuration, as read from config.json. */
  config: LlamaConfig;
  /** Every tensor written, in file order. */
  tensors: ConvertedTensor[];
  /** Whether tokenizer.ggml.* metadata was written. */
  tokenizerEmbedded: boolean;
}

/** The metadata llama.cpp reads for a model of the config's architecture ("llama" or "chatglm": the same keys under
 *  the architecture's prefix), from a LlamaConfig. */
export function llamaGgufMetadata(config: LlamaConfig, name: string, quant: GgufQuantization): Map<string, GgufMetadataInput> {
  const uint32 = (value: number): GgufMetadataInput => ({ type: "uint32", value });
  const float32 = (value: number): GgufMetadataInput => ({ type: "float32", value });
  const architecture = config.architecture ?? "llama";
  const metadata = new Map<string, GgufMetadataInput>([
    ["general.architecture", architecture],
    ["general.name", name],
    ["general.file_type", uint32(llamaFileTypes[quant])],
    [`${architecture}.vocab_size`, uint32(config.vocabSize)],
    [`${architecture}.context_length`, uint32(config.contextLength)],
    [`${architecture}.embedding_length`, uint32(config.hiddenSize)],
    [`${architecture}.block_count`, uint32(config.layerCount)],
    [`${architecture}.feed_forward_length`, uint32(config.intermediateSize)],
    [`${architecture}.attention.head_count`, uint32(config.headCount)],
    [`${architecture}.attention.head_count_kv`, uint32(config.keyValueHeadCount)],
    [`${architecture}.attention.layer_norm_rms_epsilon`, float32(config.rmsNormEpsilon)],
    [`${architecture}.rope.freq_base`, float32(config.ropeTheta)],
    [`${architecture}.rope.dimension_count`, uint32(config.rotaryDim)],
  ]);
  if (config.headDim * config.headCount !== config.hiddenSize) {
    metadata.set(`${architecture}.attention.key_length`, uint32(config.headDim));
    metadata.set(`${architecture}.attention.value_length`, uint32(config.headDim));
  }
  if (quant === "q8_0" || quant === "q4_0" || quant === "q4_k_m") metadata.set("general.quantization_version", uint32(2));
  if (config.bosTokenId !== undefined) metadata.set("tokenizer.ggml.bos_token_id", uint32(config.bosTokenId));
  if (config.eosTokenIds.length > 0) {
    metadata.set("tokenizer.ggml.eos_token_id", uint32(config.eosTokenIds[0]));
    metadata.set(eosTokenIdsMetadataKey, new Uint32Array(config.eosTokenIds));
  }
  // GLM prompts start with [gMASK]sop, never with BOS (llama.cpp's converter writes this too).
  if (architecture === "chatglm") metadata.set("tokenizer.ggml.add_bos_token", false);
  return metadata;
}

/** llama.cpp's llama3 rope factors [rotaryDim / 2] (convert_hf_to_gguf.py): frequency i is divided by factor i. */
export function llama3RopeFactors(config: LlamaConfig): Float32Array {
  const scaling = config.ropeScaling!;
  const factors = new Float32Array(config.rotaryDim / 2); // [rotaryDim / 2]
  const lowFrequencyWavelength = scaling.originalMaxPositions / scaling.lowFrequencyFactor;
  const highFrequencyWavelength = scaling.originalMaxPositions / scaling.highFrequencyFactor;
  for (let index = 0; index < factors.length; index++) {
    const frequency = Math.fround(1 / Math.fround(Math.pow(config.ropeTheta, Math.fround((2 * index) / config.rotaryDim))));
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highFrequencyWavelength) factors[index] = 1;
    else if (wavelength > lowFrequencyWavelength) factors[index] = scaling.factor;
    else {
      const smooth = (scaling.originalMaxPositions / wavelength - scaling.lowFrequencyFactor) / (scaling.highFrequencyFactor - scaling.lowFrequencyFactor);
      factors[index] = 1 / ((1 - smooth) / scaling.factor + smooth);
    }
  }
  return factors;
}

/** The HF tensor each GGUF tensor comes from, in llama.cpp's order; tied models take token_embd from lm_head
 *  when model.embed_tokens.weight is not stored, and write no output.weight. */
function sourceNames(config: LlamaConfig, archive: TensorArchive, directory: string): Array<[hfName: string, storedName: string]> {
  const pick = (name: string, fallback?: string): [string, string] => {
    if (archive.has(name)) return [name, name];
    if (fallback !== undefined && archive.has(fallback)) return [name, fallback];
    throw new ModelFileError({ file: directory, tensor: name }, `missing from the weights (${archive.files.join(", ")})`);
  };
  const names: Array<[string, string]> = [pick(llamaTensorNames.tokenEmbedding, config.tiedEmbeddings ? llamaTensorNames.output : undefined)];
  for (let layer = 0; layer < config.layerCount; layer++) {
    const layerNames = llamaLayerTensorNames(layer);
    for (const part of ["attentionNorm", "query", "key", "value", "attentionOutput", "feedForwardNorm", "gate", "up", "down"] as const) {
      names.push(pick(layerNames[part]));
    }
  }
  names.push(pick(llamaTensorNames.outputNorm));
  if (!config.tiedEmbeddings) names.push(pick(llamaTensorNames.output));
  return names;
}

/** One GGUF tensor to write: where it comes from in the archive, the shape config.json implies, and an optional
 *  re-layout of its rows. */
interface PlannedSource {
  ggufName: string;
  storedName: string;
  expected: ExpectedTensorShape;
  relayout?: (tensor: Tensor) => Tensor;
}

/** Llama: HF names → GGUF names, Q/K rows permuted from rotate-half to the interleaved layout as llama.cpp does. */
function llamaSources(config: LlamaConfig, archive: TensorArchive, directory: string): PlannedSource[] {
  const expectedShapes = expectedLlamaTensorShapes(config);
  const queryKeyHeads = new Map<string, number>();
  for (let layer = 0; layer < config.layerCount; layer++) {
    queryKeyHeads.set(llamaLayerTensorNames(layer).query, config.headCount);
    queryKeyHeads.set(llamaLayerTensorNames(layer).key, config.keyValueHeadCount);
  }
  return sourceNames(config, archive, directory).map(([hfName, storedName]) => {
    const heads = queryKeyHeads.get(hfName);
    return {
      ggufName: hfToGgufTensorName(hfName)!,
      storedName,
      expected: expectedShapes.get(hfName)!,
      relayout: heads === undefined ? undefined : (tensor: Tensor) => reorderRopeRows(tensor, heads, "half", "interleaved", storedName),
    };
  });
}

/** GLM: THUDM's names → llama.cpp's chatglm names, fused matrices kept fused, rows as stored (already adjacent pairs). */
function glmSources(config: LlamaConfig, archive: TensorArchive, directory: string): PlannedSource[] {
  return [...expectedGlmTensorShapes(config)].map(([name, shape]) => {
    if (!archive.has(name)) throw new ModelFileError({ file: directory, tensor: name }, `missing from the weights (${archive.files.join(", ")})`);
    return { ggufName: glmToGgufTensorName(name)!, storedName: name, expected: { shape, formula: "the shape config.json implies" } };
  });
}

/**
 * Converts `modelDirectory` (config.json + safetensors or PyTorch checkpoints, a Llama or a GLM model) into a GGUF
 * file at `outputPath` that llama.cpp loads (architecture "llama" or "chatglm").
 */
export function convertHfModelToGguf(modelDirectory: string, outputPath: string, options: ConvertOptions): ConvertResult {
  if (!ggufQuantizations.includes(options.quant)) {
    throw new ModelFileError({ file: outputPath }, `unknown quantization "${String(options.quant)}" (expected ${ggufQuantizations.join(", ")})`);
  }
  const config = readHfConfig(modelDirectory);
  config.eosTokenIds = [...new Set([...config.eosTokenIds, ...(readGenerationEosTokenIds(modelDirectory) ?? [])])];
  const glm = config.architecture === "chatglm";
  const archive = openHfWeights(modelDirectory);
  const tensors: GgufTensorSource[] = [];

  if (config.ropeScaling !== undefined) {
    const factors = llama3RopeFactors(config);
    tensors.push({ name: "rope_freqs.weight", tensor: new Tensor("f32", [factors.length], factors) });
  }
  for (const { ggufName, storedName, expected, relayout } of glm ? glmSources(config, archive, modelDirectory) : llamaSources(config, archive, modelDirectory)) {
    const info = archive.info(storedName);
    archive.dtypeOf(storedName); // unsupported dtypes fail before anything is written
    if (info.shape.length !== expected.shape.length || info.shape.some((size, axis) => size !== expected.shape[axis])) {
      throw new ModelFileError(
        { file: info.file, tensor: storedName },
        `shape ${shapeText(info.shape)} contradicts config.json: expected ${expected.formula} = ${shapeText(expected.shape)}`,
      );
    }
    const dtype = plannedTensorDType(options.quant, ggufName, info.shape, config);
    tensors.push({
      name: ggufName,
      dtype,
      shape: info.shape,
      load: () => {
        const stored = archive.loadTensor(storedName);
        return convertTensorDType(relayout ? relayout(stored) : stored, dtype);
      },
    });
  }
  // llama.cpp's order puts rope_freqs right after token_embd.
  if (config.ropeScaling !== undefined) tensors.splice(0, 2, tensors[1], tensors[0]);

  const name = options.name ?? (modelDirectory.replace(/\/+$/, "").split("/").pop() || config.architecture || "llama");
  const metadata = llamaGgufMetadata(config, name, options.quant);
  const tokenizer = options.embedTokenizer === false ? undefined : glm ? readGlmTokenizerGgufMetadata(modelDirectory, config) : readHfTokenizerGgufMetadata(modelDirectory);
  if (options.embedTokenizer === true && tokenizer === undefined) {
    throw new ModelFileError({ file: modelDirectory }, `embedTokenizer is set, but there is no ${glm ? "tokenizer.model or " : ""}tokenizer.json in this directory`);
  }
  // The special token ids already written from config.json / generation_config.json win over tokenizer_config.json's.
  for (const [key, value] of tokenizer ?? []) if (!metadata.has(key)) metadata.set(key, value);
  writeGguf(outputPath, { metadata, tensors }, { onProgress: options.onProgress });
  return {
    outputPath,
    config,
    tensors: tensors.map((tensor) => ({
      name: tensor.name,
      dtype: "tensor" in tensor ? tensor.tensor.dtype : tensor.dtype,
      shape: "tensor" in tensor ? tensor.tensor.shape : tensor.shape,
    })),
    tokenizerEmbedded: tokenizer !== undefined,
  };
}

/** The converter under its first name, from when it read safetensors Llama models only. */
export const convertSafetensorsToGguf = convertHfModelToGguf;
