// Loads a Hugging Face Idefics3 / SmolVLM directory (config.json with text_config and vision_config, safetensors
// with model.text_model.*, model.vision_model.*, model.connector.* and lm_head.weight) as two sets of weights: the
// language model as LoadedWeights under the Llama names (model.text_model.X → model.X), and the vision side as
// LoadedVisionWeights. The text side then runs on the Llama code as is.

import fs from "node:fs";
import path from "node:path";

import type { Tensor } from "@infer-recipes/kernel";

import { ModelFileError } from "./errors.ts";
import { parseHfConfig, readGenerationEosTokenIds, readJsonObject } from "./hf-config.ts";
import { validateIdefics3VisionConfig, type Idefics3VisionConfig } from "./idefics3-vision-config.ts";
import type { LlamaConfig } from "./llama-config.ts";
import { llamaTensorNames } from "./llama-tensors.ts";
import { assembleVisionWeights, type LoadedVisionWeights, type LoadVisionOptions } from "./loaded-vision-weights.ts";
import { assembleLoadedWeights, type LoadedWeights, type LoadModelOptions } from "./loaded-weights.ts";
import { openSafetensors } from "./safetensors.ts";

/** Model types and architectures read as Idefics3 (SmolVLM 1 is idefics3; SmolVLM 2 names itself smolvlm). */
const idefics3ModelTypes = new Set(["idefics3", "smolvlm"]);
const idefics3Architectures = new Set(["Idefics3ForConditionalGeneration", "SmolVLMForConditionalGeneration"]);

/** An Idefics3 config.json: the text and vision configs and the <image> token id. */
export interface Idefics3Config {
  /** The language model (config.json text_config). */
  text: LlamaConfig;
  /** The SigLIP encoder and the connector (vision_config, scale_factor). */
  vision: Idefics3VisionConfig;
  /** Id of the <image> placeholder token (config.json image_token_id). */
  imageTokenId: number;
}

/** What {@link loadIdefics3HfModel} returns: both sides' weights and the <image> token id. */
export interface Idefics3Weights {
  /** The language model's weights. */
  text: LoadedWeights;
  /** The vision encoder's and the connector's weights. */
  vision: LoadedVisionWeights;
  /** Id of the <image> placeholder token (config.json image_token_id). */
  imageTokenId: number;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether a parsed config.json describes an Idefics3 / SmolVLM model. */
export function isIdefics3Config(json: unknown): boolean {
  if (!isObject(json)) return false;
  const architectures = Array.isArray(json.architectures) ? json.architectures : [];
  return idefics3ModelTypes.has(String(json.model_type)) || architectures.some((name) => idefics3Architectures.has(String(name)));
}

/** Whether `directory` holds an Idefics3 / SmolVLM model (config.json says so, safetensors beside it). */
export function isIdefics3Directory(directory: string): boolean {
  const file = path.join(directory, "config.json");
  if (!fs.existsSync(file)) return false;
  try {
    return isIdefics3Config(JSON.parse(fs.readFileSync(file, "utf8"))) && fs.readdirSync(directory).some((name) => name.endsWith(".safetensors") || name.endsWith(".safetensors.index.json"));
  } catch {
    return false;
  }
}

/** json[field] (`fallback` when absent or null), which must be a positive integer. */
function positiveInteger(file: string, json: Json, field: string, fallback: number): number {
  const value = json[field] ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ModelFileError({ file, field }, `expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The text, vision and image-token settings of a parsed idefics3 config.json (`file` is named in errors). */
export function parseIdefics3Config(json: unknown, file: string): Idefics3Config {
  if (!isObject(json) || !isIdefics3Config(json)) {
    throw new ModelFileError({ file, field: "model_type" }, `expected an Idefics3 / SmolVLM model (model_type "idefics3" or "smolvlm"), got ${JSON.stringify(isObject(json) ? json.model_type : json)}`);
  }
  const textJson = json.text_config;
  const visionJson = json.vision_config;
  if (!isObject(textJson)) throw new ModelFileError({ file, field: "text_config" }, "expected an object with the language model's settings");
  if (!isObject(visionJson)) throw new ModelFileError({ file, field: "vision_config" }, "expected an object with the vision encoder's settings");
  const text = parseHfConfig({ model_type: "llama", ...textJson }, `${file} (text_config)`);
  const activation = visionJson.hidden_act ?? "gelu_pytorch_tanh";
  if (activation !== "gelu_pytorch_tanh" && activation !== "gelu") {
    throw new ModelFileError({ file, field: "vision_config.hidden_act" }, `expected "gelu_pytorch_tanh" (tanh-approximated GELU), got ${JSON.stringify(activation)}`);
  }
  const channels = visionJson.num_channels ?? 3;
  if (channels !== 3) throw new ModelFileError({ file, field: "vision_config.num_channels" }, `expected 3 (RGB), got ${JSON.stringify(channels)}`);
  const epsilon = visionJson.layer_norm_eps ?? 1e-6;
  if (typeof epsilon !== "number") throw new ModelFileError({ file, field: "vision_config.layer_norm_eps" }, `expected a number, got ${JSON.stringify(epsilon)}`);
  const vision = validateIdefics3VisionConfig(
    {
      // transformers' Idefics3VisionConfig defaults for absent fields
      hiddenSize: positiveInteger(file, visionJson, "hidden_size", 1152),
      intermediateSize: positiveInteger(file, visionJson, "intermediate_size", 3072),
      layerCount: positiveInteger(file, visionJson, "num_hidden_layers", 12),
      headCount: positiveInteger(file, visionJson, "num_attention_heads", 16),
      imageSize: positiveInteger(file, visionJson, "image_size", 224),
      patchSize: positiveInteger(file, visionJson, "patch_size", 32),
      layerNormEpsilon: epsilon,
      scaleFactor: positiveInteger(file, json, "scale_factor", 2),
      projectionSize: text.hiddenSize,
    },
    file,
  );
  const imageTokenId = positiveInteger(file, json, "image_token_id", 128257);
  if (imageTokenId >= text.vocabSize) throw new ModelFileError({ file, field: "image_token_id" }, `${imageTokenId} is outside the vocabulary of ${text.vocabSize}`);
  return { text, vision, imageTokenId };
}

/** Reads config.json of an Idefics3 directory. */
export function readIdefics3Config(directory: string): Idefics3Config {
  const file = path.join(directory, "config.json");
  return parseIdefics3Config(readJsonObject(file), file);
}

const textPrefix = "model.text_model.";
const visionPrefixes = ["model.vision_model.", "model.connector."];

/** Reads config.json (eos ids extended by generation_config.json) and every tensor, split into text and vision. */
export function loadIdefics3HfModel(directory: string, options: { text?: LoadModelOptions; vision?: LoadVisionOptions } = {}): Idefics3Weights {
  const config = readIdefics3Config(directory);
  const generationEos = readGenerationEosTokenIds(directory) ?? [];
  const textConfig: LlamaConfig = { ...config.text, eosTokenIds: [...new Set([...config.text.eosTokenIds, ...generationEos])] };
  const archive = openSafetensors(directory);
  const loaded = archive.loadTensors({ onProgress: options.text?.onProgress });
  const textTensors = new Map<string, Tensor>();
  const visionTensors = new Map<string, Tensor>();
  for (const [name, tensor] of loaded) {
    if (name.startsWith(textPrefix)) textTensors.set(`model.${name.slice(textPrefix.length)}`, tensor);
    else if (name === llamaTensorNames.output) textTensors.set(name, tensor);
    else if (visionPrefixes.some((prefix) => name.startsWith(prefix))) visionTensors.set(name, tensor);
  }
  // Whether the output matrix is tied follows the file: no lm_head.weight means the embedding serves as output.
  textConfig.tiedEmbeddings = !textTensors.has(llamaTensorNames.output);
  const files = [path.join(directory, "config.json"), ...archive.files];
  const metadata = new Map(Object.entries(archive.metadata));
  // model.X was stored as model.text_model.X; lm_head.weight under its own name.
  const describeText = (name: string) => (name.startsWith("model.") ? `${textPrefix}${name.slice("model.".length)}` : name);
  const text = assembleLoadedWeights(
    { config: textConfig, tensors: textTensors, source: { format: "safetensors", path: directory, files }, metadata, describeName: describeText },
    options.text,
  );
  const vision = assembleVisionWeights({ config: config.vision, tensors: visionTensors, source: { format: "safetensors", path: directory, files }, metadata }, options.vision);
  return { text, vision, imageTokenId: config.imageTokenId };
}
