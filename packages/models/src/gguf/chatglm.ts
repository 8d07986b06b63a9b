// GLM models (ChatGLM2/3, GLM-4) stored as GGUF by llama.cpp's converter (general.architecture "chatglm"): the
// LlamaConfig from the chatglm.* metadata keys, and loading the tensors into the shared decoder's names — GGUF names
// are first mapped to THUDM's (blk.N.attn_qkv → ...self_attention.query_key_value), then the fused matrices are split
// as for a Hugging Face checkpoint (glm-tensors.ts). GLM's RoPE pairs adjacent dimensions in the first half of each
// head, which GGUF keeps as is (llama.cpp's rope mode 0), so the config says ropeLayout "interleaved".

import type { Tensor } from "@infer-recipes/kernel";

import { ModelFileError } from "../errors.ts";
import { glmTurnEndTokenTexts } from "../glm-config.ts";
import { ggufToGlmTensorName, glmToDecoderTensors, glmToGgufTensorName } from "../glm-tensors.ts";
import { validateLlamaConfig, type LlamaConfig } from "../llama-config.ts";
import { assembleLoadedWeights, type LoadedWeights, type LoadModelOptions } from "../loaded-weights.ts";
import { ggufEosTokenIds, ggufVocabSize, MetadataFields } from "./metadata-fields.ts";
import type { GgufFile } from "./reader.ts";

/** The LlamaConfig of a GGUF file with general.architecture "chatglm". */
export function ggufToGlmConfig(file: GgufFile): LlamaConfig {
  const glm = new MetadataFields(file, "chatglm.");
  const hiddenSize = glm.positiveInteger("embedding_length");
  const headCount = glm.positiveInteger("attention.head_count");
  const headDim = glm.positiveInteger("attention.key_length", hiddenSize / headCount);
  const rotaryDim = glm.positiveInteger("rope.dimension_count", headDim / 2);
  if (rotaryDim > headDim) throw new ModelFileError({ file: file.path, field: "chatglm.rope.dimension_count" }, `must be at most the head size ${headDim}, got ${rotaryDim}`);
  // Chat models end a turn with <|user|> or <|observation|> as well as EOS (THUDM's generation code stops at them).
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  const turnEnds = Array.isArray(tokens) ? glmTurnEndTokenTexts.map((text) => tokens.indexOf(text)).filter((id) => id >= 0) : [];
  const config: LlamaConfig = {
    architecture: "chatglm",
    attentionBias: file.tensorInfo("blk.0.attn_qkv.bias") !== undefined || file.tensorInfo("blk.0.attn_q.bias") !== undefined,
    hiddenSize,
    intermediateSize: glm.positiveInteger("feed_forward_length"),
    layerCount: glm.positiveInteger("block_count"),
    headCount,
    keyValueHeadCount: glm.positiveInteger("attention.head_count_kv", headCount),
    headDim,
    rotaryDim,
    rmsNormEpsilon: glm.number("attention.layer_norm_rms_epsilon"),
    ropeTheta: glm.number("rope.freq_base", 10000),
    ropeLayout: "interleaved",
    contextLength: glm.positiveInteger("context_length"),
    vocabSize: ggufVocabSize(file, glm, "chatglm"),
    tiedEmbeddings: file.tensorInfo("output.weight") === undefined,
    eosTokenIds: [...new Set([...ggufEosTokenIds(file), ...turnEnds])],
  };
  return validateLlamaConfig(config, file.path);
}

/** Loads a chatglm GGUF file as LoadedWeights under the decoder's names. */
export function loadGgufGlmModel(file: GgufFile, options: LoadModelOptions = {}): LoadedWeights {
  const config = ggufToGlmConfig(file);
  const loaded = file.loadTensors({ onProgress: options.onProgress });
  const glm = new Map<string, Tensor>();
  for (const [name, tensor] of loaded) glm.set(ggufToGlmTensorName(name) ?? name, tensor);
  const { tensors, describeName } = glmToDecoderTensors(glm, config, file.path, (name) => glmToGgufTensorName(name) ?? name);
  return assembleLoadedWeights(
    { config, tensors, source: { format: "gguf", path: file.path, files: [file.path] }, metadata: file.metadata, describeName },
    options,
  );
}
