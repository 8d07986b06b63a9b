// Llama models stored as GGUF: the LlamaConfig from the llama.* metadata keys, and loading the tensors under
// Hugging Face names. GGUF llama tensors keep the Q/K rows in the interleaved RoPE layout (llama.cpp's converter
// permutes them; llama2.c-derived files never had the other layout), so the config says ropeLayout "interleaved".

import type { Tensor } from "@infer-recipes/kernel";

import { ModelFileError } from "../errors.ts";
import { validateLlamaConfig, type LlamaConfig } from "../llama-config.ts";
import { assembleLoadedWeights, type LoadedWeights, type LoadModelOptions } from "../loaded-weights.ts";
import { loadGgufGlmModel } from "./chatglm.ts";
import { ggufEosTokenIds, ggufVocabSize, MetadataFields } from "./metadata-fields.ts";
import { readGguf, type GgufFile } from "./reader.ts";
import { ggufToHfTensorName, hfToGgufTensorName } from "./tensor-names.ts";

export { eosTokenIdsMetadataKey } from "./metadata-fields.ts";

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
    throw new ModelFileError({ file: file.path, field: "general.architecture" }, `expected "llama" or "chatglm", got ${architecture === undefined ? "nothing" : `"${architecture}"`}`);
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
    vocabSize: ggufVocabSize(file, llama),
    tiedEmbeddings: file.tensorInfo("output.weight") === undefined,
    eosTokenIds: ggufEosTokenIds(file),
  };
  const bosTokenId = tokenizer.optionalNumber("bos_token_id");
  if (bosTokenId !== undefined) config.bosTokenId = bosTokenId;
  return validateLlamaConfig(config, file.path);
}

/** Loads a llama or chatglm GGUF file (a path or an already parsed GgufFile) as LoadedWeights with Hugging Face
 *  names. Tensors outside the naming scheme keep their GGUF names. */
export function loadGgufModel(source: string | GgufFile, options: LoadModelOptions = {}): LoadedWeights {
  const file = typeof source === "string" ? readGguf(source) : source;
  if (file.metadata.get("general.architecture") === "chatglm") return loadGgufGlmModel(file, options);
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
