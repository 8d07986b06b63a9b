// Tiny Idefics3 / SmolVLM models with random weights, written the ways users hold the real ones: a Hugging Face
// directory (config.json with text_config + vision_config, model.safetensors, tokenizer.json, chat_template.json,
// preprocessor_config.json) and llama.cpp's split form (a language-model GGUF with the tokenizer and chat template,
// plus an mmproj GGUF). Shapes follow SmolVLM's rules at toy size: 8-pixel patches on 32-pixel tiles and scale factor
// 2, so a tile is 16 patches and 4 language-model tokens (SmolVLM: 16-pixel patches, 512-pixel tiles, 4, 1024 and 64).

import fs from "node:fs";
import path from "node:path";

import type { DType, Tensor } from "@infer-recipes/kernel";

import { writeMmprojGguf } from "../gguf/mmproj.ts";
import { expectedIdefics3VisionShapes, idefics3VisionTensorNames } from "../idefics3-vision-tensors.ts";
import type { Idefics3VisionConfig } from "../idefics3-vision-config.ts";
import type { LlamaConfig } from "../llama-config.ts";
import { llamaTensorNames } from "../llama-tensors.ts";
import { writeSafetensors } from "../safetensors-writer.ts";
import { randomTensor } from "./random-tensors.ts";
import { hfConfigJson, randomLlamaTensors, tinyLlamaConfig, writeGgufModel } from "./tiny-llama.ts";
import { tinySmolVlmGgufTokenizerMetadata, tinySmolVlmVocabulary, writeTinySmolVlmHfTokenizer, type TinySmolVlmVocabulary } from "./tiny-smolvlm-tokenizer.ts";

/** A tiny random Idefics3 model's description: both configs, the vocabulary and the processor settings. */
export interface TinyIdefics3 {
  /** The language model's config (a tiny Llama). */
  text: LlamaConfig;
  /** The vision side's config (a tiny SigLIP and connector). */
  vision: Idefics3VisionConfig;
  /** The tokenizer's vocabulary, with SmolVLM's special tokens. */
  vocabulary: TinySmolVlmVocabulary;
  /** The processor settings (preprocessor_config.json / mmproj keys): longest edge and tile size. */
  processor: {
    /** Images are resized so that their longer side is this many pixels. */
    longestEdge: number;
    /** Side of a square tile in pixels (the encoder's image size). */
    tileSize: number;
    /** Per-channel (R, G, B) mean subtracted after rescaling to [0, 1]. */
    mean: readonly [number, number, number];
    /** Per-channel (R, G, B) standard deviation divided by after the mean. */
    std: readonly [number, number, number];
  };
}

/** A tiny config: text 64 wide (GQA 4/2 heads of 16, SmolVLM's rope base), vision 64 wide with a 96-wide MLP
 *  (unequal, so llama.cpp does not take fc1/fc2 as swapped), 8-pixel patches on 32-pixel tiles, scale factor 2. */
export function tinyIdefics3Config(overrides: { text?: Partial<LlamaConfig>; vision?: Partial<Idefics3VisionConfig>; longestEdge?: number } = {}): TinyIdefics3 {
  const vocabulary = tinySmolVlmVocabulary(overrides.text?.vocabSize ?? 320);
  const text = tinyLlamaConfig({
    hiddenSize: 64, intermediateSize: 128, layerCount: 2, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 16,
    ropeTheta: 100000, rmsNormEpsilon: 1e-5, contextLength: 512, vocabSize: vocabulary.tokens.length, tiedEmbeddings: false,
    bosTokenId: vocabulary.beginTokenId, eosTokenIds: [vocabulary.endOfUtteranceId],
    ...overrides.text,
  });
  const vision: Idefics3VisionConfig = {
    hiddenSize: 64, intermediateSize: 96, layerCount: 2, headCount: 4, imageSize: 32, patchSize: 8, layerNormEpsilon: 1e-6, scaleFactor: 2,
    projectionSize: text.hiddenSize,
    ...overrides.vision,
  };
  return { text, vision, vocabulary, processor: { longestEdge: overrides.longestEdge ?? 64, tileSize: vision.imageSize, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } };
}

/** Random vision tensors (HF names, patch embedding in its 4-D convolution shape). Scales keep activations O(1). */
export function randomIdefics3VisionTensors(config: Idefics3VisionConfig, seed: number, matrixDType: DType = "f32"): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  let index = 0;
  for (const [name, shape] of expectedIdefics3VisionShapes(config)) {
    const isVector = shape.length === 1;
    const isNormWeight = name.endsWith("layer_norm1.weight") || name.endsWith("layer_norm2.weight") || name === idefics3VisionTensorNames.postNormWeight;
    const columns = isVector ? 1 : shape[1];
    const scale = isVector ? 0.2 : name === idefics3VisionTensorNames.positionEmbedding ? 0.5 : 1.5 / Math.sqrt(columns);
    let tensor = randomTensor(isVector || name === idefics3VisionTensorNames.positionEmbedding || name === idefics3VisionTensorNames.patchEmbedding ? "f32" : matrixDType, shape, seed * 1000 + index++, scale);
    if (isNormWeight) {
      const values = tensor.data as Float32Array;
      for (let position = 0; position < values.length; position++) values[position] += 1;
    }
    if (name === idefics3VisionTensorNames.patchEmbedding) tensor = tensor.reshape([config.hiddenSize, 3, config.patchSize, config.patchSize]);
    tensors.set(name, tensor);
  }
  return tensors;
}

/** A tiny model's tensors, text and vision, under Hugging Face names. */
export interface TinyIdefics3Tensors {
  /** Llama names (model.layers.N..., model.embed_tokens.weight, lm_head.weight). */
  text: Map<string, Tensor>;
  /** HF vision names (model.vision_model.*, model.connector.*). */
  vision: Map<string, Tensor>;
}

/** Random tensors for `model` (deterministic in `seed`), matrices in `matrixDType`. */
export function randomIdefics3Tensors(model: TinyIdefics3, seed: number, matrixDType: DType = "f32"): TinyIdefics3Tensors {
  return { text: randomLlamaTensors(model.text, seed, matrixDType), vision: randomIdefics3VisionTensors(model.vision, seed + 1, matrixDType) };
}

/** The config.json of a Hugging Face Idefics3ForConditionalGeneration checkpoint of this model. */
export function idefics3ConfigJson(model: TinyIdefics3): Record<string, unknown> {
  const text = hfConfigJson(model.text);
  return {
    architectures: ["Idefics3ForConditionalGeneration"],
    model_type: "idefics3",
    image_token_id: model.vocabulary.imageTokenId,
    scale_factor: model.vision.scaleFactor,
    tie_word_embeddings: model.text.tiedEmbeddings,
    text_config: { ...text, architectures: ["VLlama3ForCausalLM"] },
    vision_config: {
      model_type: "idefics3_vision",
      hidden_size: model.vision.hiddenSize,
      intermediate_size: model.vision.intermediateSize,
      num_hidden_layers: model.vision.layerCount,
      num_attention_heads: model.vision.headCount,
      image_size: model.vision.imageSize,
      patch_size: model.vision.patchSize,
      layer_norm_eps: model.vision.layerNormEpsilon,
      hidden_act: "gelu_pytorch_tanh",
      num_channels: 3,
    },
    torch_dtype: "float32",
  };
}

/** The preprocessor_config.json of this model (SmolVLM's fields with the tiny sizes). */
export function idefics3PreprocessorJson(model: TinyIdefics3): Record<string, unknown> {
  return {
    do_convert_rgb: true, do_image_splitting: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true,
    image_mean: model.processor.mean, image_std: model.processor.std, image_processor_type: "Idefics3ImageProcessor",
    max_image_size: { longest_edge: model.processor.tileSize }, processor_class: "Idefics3Processor", resample: 1,
    rescale_factor: 1 / 255, size: { longest_edge: model.processor.longestEdge },
  };
}

/** Writes the Hugging Face form into `directory` (created if needed). */
export function writeIdefics3HfModel(directory: string, model: TinyIdefics3, tensors: TinyIdefics3Tensors): void {
  fs.mkdirSync(directory, { recursive: true });
  const all = new Map<string, Tensor>();
  for (const [name, tensor] of tensors.text) {
    all.set(name === llamaTensorNames.output ? name : name.replace(/^model\./, "model.text_model."), tensor);
  }
  for (const [name, tensor] of tensors.vision) all.set(name, tensor);
  fs.writeFileSync(path.join(directory, "config.json"), JSON.stringify(idefics3ConfigJson(model), null, 2));
  fs.writeFileSync(path.join(directory, "generation_config.json"), JSON.stringify({ bos_token_id: model.vocabulary.beginTokenId, eos_token_id: model.vocabulary.endOfUtteranceId }));
  fs.writeFileSync(path.join(directory, "preprocessor_config.json"), JSON.stringify(idefics3PreprocessorJson(model), null, 2));
  fs.writeFileSync(path.join(directory, "processor_config.json"), JSON.stringify({ image_seq_len: (model.vision.imageSize / model.vision.patchSize / model.vision.scaleFactor) ** 2, processor_class: "Idefics3Processor" }));
  writeSafetensors(path.join(directory, "model.safetensors"), all, { format: "pt" });
  writeTinySmolVlmHfTokenizer(directory, model.vocabulary);
}

/** Writes llama.cpp's split form: the language model (with tokenizer and chat template) and the mmproj file. */
export function writeIdefics3GgufPair(textFile: string, mmprojFile: string, model: TinyIdefics3, tensors: TinyIdefics3Tensors, options: { mmprojDType?: DType; chatTemplate?: string } = {}): void {
  writeGgufModel(textFile, model.text, tensors.text, tinySmolVlmGgufTokenizerMetadata(model.vocabulary, options.chatTemplate));
  const vision = new Map(tensors.vision);
  writeMmprojGguf(mmprojFile, { config: model.vision, tensors: vision }, { dtype: options.mmprojDType, name: "tiny idefics3", processor: model.processor });
}
