// Parses a Hugging Face config.json into a LlamaConfig: a LlamaForCausalLM model with the defaults transformers'
// LlamaConfig uses for absent fields, or a ChatGLM model (model_type "chatglm", glm-config.ts); errors name the file and
// the JSON field.

import fs from "node:fs";
import path from "node:path";

import { ConfigFields, isObject, readJsonObject } from "./config-fields.ts";
import { ModelFileError } from "./errors.ts";
import { parseGlmHfConfig } from "./glm-config.ts";
import { validateLlamaConfig, type Llama3RopeScaling, type LlamaConfig } from "./llama-config.ts";

export { readJsonObject };

function parseRopeScaling(fields: ConfigFields): Llama3RopeScaling | undefined {
  const scaling = fields.object("rope_scaling");
  if (scaling === undefined) return undefined;
  const typeField = scaling.has("rope_type") ? "rope_type" : "type";
  const type = scaling.string(typeField);
  if (type === undefined || type === "default") return undefined;
  if (type !== "llama3") {
    throw new ModelFileError(
      { file: fields.file, field: `rope_scaling.${typeField}` },
      `rope scaling "${type}" is not supported (supported: "llama3", "default" or rope_scaling: null)`,
    );
  }
  return {
    type: "llama3",
    factor: scaling.positiveNumber("factor"),
    lowFrequencyFactor: scaling.positiveNumber("low_freq_factor"),
    highFrequencyFactor: scaling.positiveNumber("high_freq_factor"),
    originalMaxPositions: scaling.positiveInteger("original_max_position_embeddings"),
  };
}

function checkArchitecture(fields: ConfigFields): void {
  const modelType = fields.string("model_type");
  const architectures = fields.json.architectures;
  const listsLlama = Array.isArray(architectures) && architectures.includes("LlamaForCausalLM");
  if (modelType !== undefined && modelType !== "llama" && !listsLlama) {
    throw new ModelFileError(
      { file: fields.file, field: "model_type" },
      `expected a Llama model (model_type "llama" or architectures ["LlamaForCausalLM"]), got "${modelType}"`,
    );
  }
  const activation = fields.string("hidden_act");
  if (activation !== undefined && activation !== "silu") {
    throw new ModelFileError({ file: fields.file, field: "hidden_act" }, `expected "silu" (SwiGLU), got "${activation}"`);
  }
  for (const field of ["attention_bias", "mlp_bias"]) {
    if (fields.boolean(field, false)) throw new ModelFileError({ file: fields.file, field }, "bias terms are not supported (expected false)");
  }
}

/** Converts the parsed JSON of a config.json (named `file` in errors) into a validated LlamaConfig; ChatGLM configs
 *  (model_type "chatglm") go to parseGlmHfConfig. */
export function parseHfConfig(json: unknown, file: string): LlamaConfig {
  if (!isObject(json)) throw new ModelFileError({ file }, "expected a JSON object at the top level");
  const fields = new ConfigFields(file, json);
  if (fields.string("model_type") === "chatglm") return parseGlmHfConfig(fields);
  checkArchitecture(fields);
  const hiddenSize = fields.positiveInteger("hidden_size");
  const headCount = fields.positiveInteger("num_attention_heads");
  if (!fields.has("head_dim") && hiddenSize % headCount !== 0) {
    throw new ModelFileError(
      { file, field: "num_attention_heads" },
      `hidden_size (${hiddenSize}) must be a multiple of num_attention_heads (${headCount}) when head_dim is absent`,
    );
  }
  const headDim = fields.positiveInteger("head_dim", hiddenSize / headCount);
  const config: LlamaConfig = {
    hiddenSize,
    intermediateSize: fields.positiveInteger("intermediate_size"),
    layerCount: fields.positiveInteger("num_hidden_layers"),
    headCount,
    keyValueHeadCount: fields.positiveInteger("num_key_value_heads", headCount),
    headDim,
    rotaryDim: headDim,
    rmsNormEpsilon: fields.positiveNumber("rms_norm_eps", 1e-6),
    ropeTheta: fields.positiveNumber("rope_theta", 10000),
    ropeLayout: "half",
    contextLength: fields.positiveInteger("max_position_embeddings", 2048),
    vocabSize: fields.positiveInteger("vocab_size"),
    tiedEmbeddings: fields.boolean("tie_word_embeddings", false),
    eosTokenIds: "eos_token_id" in json ? (fields.tokenIds("eos_token_id") ?? []) : [2],
  };
  // transformers' defaults apply when a token field is absent; an explicit null means "none".
  const bosTokenId = "bos_token_id" in json ? fields.tokenIds("bos_token_id")?.[0] : 1;
  if (bosTokenId !== undefined) config.bosTokenId = bosTokenId;
  const ropeScaling = parseRopeScaling(fields);
  if (ropeScaling !== undefined) config.ropeScaling = ropeScaling;
  return validateLlamaConfig(config, file);
}

/** The config.json path for `location`: the file itself, or config.json inside a model directory. */
export function hfConfigPath(location: string): string {
  return fs.existsSync(location) && fs.statSync(location).isDirectory() ? path.join(location, "config.json") : location;
}

/** Reads and parses config.json (pass the file or the model directory). */
export function readHfConfig(location: string): LlamaConfig {
  const file = hfConfigPath(location);
  return parseHfConfig(readJsonObject(file), file);
}

/** eos_token_id of generation_config.json beside config.json, when the file exists and lists any. */
export function readGenerationEosTokenIds(modelDirectory: string): number[] | undefined {
  const file = path.join(modelDirectory, "generation_config.json");
  if (!fs.existsSync(file)) return undefined;
  return new ConfigFields(file, readJsonObject(file)).tokenIds("eos_token_id");
}
