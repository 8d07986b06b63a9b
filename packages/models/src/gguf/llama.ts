// Llama models stored as GGUF: the LlamaConfig from the llama.* metadata keys, and loading the tensors under
// Hugging Face names. GGUF llama tensors keep the Q/K rows in the interleaved RoPE layout (llama.cpp's converter
// permutes them; llama2.c-derived files never had the other layout), so the config says ropeLayout "interleaved".

import type { Tensor } from "@infer-recipes/kernel";

import { ModelFileError } from "../errors.ts";
import { validateLlamaConfig, type LlamaConfig } from "../llama-config.ts";
import { assembleLoadedWeights, type LoadedWeights, type LoadModelOptions } from "../loaded-weights.ts";
import { readGguf, type GgufFile } from "./reader.ts";
import { ggufToHfTensorName, hfToGgufTensorName } from "./tensor-names.ts";

/** Extra key (written by convertSafetensorsToGguf) holding every end-of-generation token id, since GGUF's
 *  tokenizer.ggml.eos_token_id holds only one. */
export const eosTokenIdsMetadataKey = "infer_recipes.eos_token_ids";

class MetadataFields {
  constructor(
    private readonly file: GgufFile,
    private readonly prefix: string,
  ) {}

  private fail(key: string, problem: string): never {
    throw new ModelFileError({ file: this.file.path, field: key }, problem);
  }

  /** A numeric scalar (any integer or float type); `fallback` when absent, an error when absent without one. */
  number(key: string, fallback?: number): number {
    const fullKey = this.prefix + key;
    const value = this.file.metadata.get(fullKey);
    if (value === undefined) {
      if (fallback === undefined) this.fail(fullKey, "is required but missing");
      return fallback;
    }
    if (typeof value !== "number") this.fail(fullKey, `expected a number, got ${this.file.metadataType(fullKey)?.type} ${String(value)}`);
    return value;
  }

  optionalNumber(key: string): number | undefined {
    return this.file.metadata.has(this.prefix + key) ? this.number(key) : undefined;
  }

  positiveInteger(key: string, fallback?: number): number {
    const value = this.number(key, fallback);
    if (!Number.isInteger(value) || value <= 0) this.fail(this.prefix + key, `expected a positive integer, got ${value}`);
    return value;
  }

  optionalString(key: string): string | undefined {
    const value = this.file.metadata.get(this.prefix + key);
    if (value === undefined) return undefined;
    if (typeof value !== "string") this.fail(this.prefix + key, `expected a string, got ${String(value)}`);
    return value;
  }
}

function vocabSizeOf(file: GgufFile, llama: MetadataFields): number {
  const declared = llama.optionalNumber("vocab_size");
  if (declared !== undefined) return llama.positiveInteger("vocab_size");
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  if (Array.isArray(tokens)) return tokens.length;
  const embedding = file.tensorInfo("token_embd.weight");
  if (embedding !== undefined) return embedding.shape[0];
  throw new ModelFileError({ file: file.path, field: "llama.vocab_size" }, "missing, and there is neither tokenizer.ggml.tokens nor token_embd.weight to count the vocabulary from");
}

function checkRopeScaling(file: GgufFile, llama: MetadataFields): void {
  const type = llama.optionalString("rope.scaling.type");
  const factor = llama.optionalNumber("rope.scaling.factor") ?? llama.optionalNumber("rope.scale_linear");
  if ((type === undefined || type === "none") && (factor === undefined || factor === 1)) return;
  if (type === "linear" && factor === 1) return;
  throw new ModelFileError(
    { file: file.path, field: "llama.rope.scaling.type" },
    `rope scaling "${type ?? "linear"}" (factor ${factor}) is not supported; llama3 scaling is read from the rope_freqs.weight tensor`,
  );
}

/** The LlamaConfig of a GGUF file with general.architecture "llama". */
export function ggufToLlamaConfig(file: GgufFile): LlamaConfig {
  const general = new MetadataFields(file, "general.");
  const architecture = general.optionalString("architecture");
  if (architecture !== "llama") {
    throw new ModelFileError({ file: file.path, field: "general.architecture" }, `expected "llama", got ${architecture === undefined ? "nothing" : `"${architecture}"`}`);
  }
  const llama = new MetadataFields(file, "llama.");
  const hiddenSize = llama.positiveInteger("embedding_length");
  const headCount = llama.positiveInteger("attention.head_count");
  const headDim = llama.positiveInteger("attention.key_length", hiddenSize / headCount);
  const valueDim = llama.positiveInteger("attention.value_length", headDim);
  if (valueDim !== headDim) {
    throw new ModelFileError({ file: file.path, field: "llama.attention.value_length" }, `must equal llama.attention.key_length (${headDim}), got ${valueDim}`);
  }
  checkRopeScaling(file, llama);
  const tokenizer = new MetadataFields(file, "tokenizer.ggml.");
  const extraEos = file.metadata.get(eosTokenIdsMetadataKey);
  const eosTokenIds = [
    ...new Set([
      ...["eos_token_id", "eot_token_id", "eom_token_id"].map((key) => tokenizer.optionalNumber(key)).filter((id) => id !== undefined),
      ...(extraEos instanceof Uint32Array || extraEos instanceof Int32Array ? [...extraEos] : []),
    ]),
  ];
  const config: LlamaConfig = {
    hiddenSize,
    intermediateSize: llama.positiveInteger("feed_forward_length"),
    layerCount: llama.positiveInteger("block_count"),
    headCount,
    keyValueHeadCount: llama.positiveInteger("attention.head_count_kv", headCount),
    headDim,
    rotaryDim: llama.positiveInteger("rope.dimension_count", headDim),
    rmsNormEpsilon: llama.number("attention.layer_norm_rms_epsilon"),
    ropeTheta: llama.number("rope.freq_base", 10000),
    ropeLayout: "interleaved",
    contextLength: llama.positiveInteger("context_length"),
    vocabSize: vocabSizeOf(file, llama),
    tiedEmbeddings: file.tensorInfo("output.weight") === undefined,
    eosTokenIds,
  };
  const bosTokenId = tokenizer.optionalNumber("bos_token_id");
  if (bosTokenId !== undefined) config.bosTokenId = bosTokenId;
  return validateLlamaConfig(config, file.path);
}

/** Loads a llama GGUF file (a path or an already parsed GgufFile) as LoadedWeights with Hugging Face names.
 *  Tensors outside the Llama naming scheme keep their GGUF names. */
export function loadGgufModel(source: string | GgufFile, options: LoadModelOptions = {}): LoadedWeights {
  const file = typeof source === "string" ? readGguf(source) : source;
  const config = ggufToLlamaConfig(file);
  const loaded = file.loadTensors({ onProgress: options.onProgress });
  const tensors = new Map<string, Tensor>();
  for (const [name, tensor] of loaded) tensors.set(ggufToHfTensorName(name) ?? name, tensor);
  return assembleLoadedWeights(
    {
      config,
      tensors,
      source: { format: "gguf", path: file.path, files: [file.path] },
      metadata: file.metadata,
      describeName: (name) => hfToGgufTensorName(name) ?? name,
    },
    options,
  );
}
