// Parses a Hugging Face config.json of a LlamaForCausalLM model into a LlamaConfig, with the defaults transformers'
// LlamaConfig uses for absent fields and errors that name the file and the JSON field.

import fs from "node:fs";
import path from "node:path";

import { ModelFileError } from "./errors.ts";
import { validateLlamaConfig, type Llama3RopeScaling, type LlamaConfig } from "./llama-config.ts";

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads a JSON file into an object; a missing file, bad JSON or a non-object is a ModelFileError naming the file. */
export function readJsonObject(file: string): JsonObject {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFileError({ file }, code === "ENOENT" ? "file not found" : `cannot read (${code ?? String(error)})`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError({ file }, `invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isObject(parsed)) throw new ModelFileError({ file }, "expected a JSON object at the top level");
  return parsed;
}

class ConfigFields {
  constructor(
    readonly file: string,
    readonly json: JsonObject,
    readonly prefix = "",
  ) {}

  private fail(field: string, problem: string): never {
    throw new ModelFileError({ file: this.file, field: this.prefix + field }, problem);
  }

  has(field: string): boolean {
    return this.json[field] !== undefined && this.json[field] !== null;
  }

  number(field: string, fallback?: number): number {
    const value = this.json[field];
    if (value === undefined || value === null) {
      if (fallback === undefined) this.fail(field, "is required but missing");
      return fallback;
    }
    if (typeof value !== "number" || !Number.isFinite(value)) this.fail(field, `expected a number, got ${JSON.stringify(value)}`);
    return value;
  }

  positiveInteger(field: string, fallback?: number): number {
    const value = this.number(field, fallback);
    if (!Number.isInteger(value) || value <= 0) this.fail(field, `expected a positive integer, got ${value}`);
    return value;
  }

  positiveNumber(field: string, fallback?: number): number {
    const value = this.number(field, fallback);
    if (value <= 0) this.fail(field, `expected a number > 0, got ${value}`);
    return value;
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.json[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") this.fail(field, `expected true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  string(field: string): string | undefined {
    const value = this.json[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") this.fail(field, `expected a string, got ${JSON.stringify(value)}`);
    return value;
  }

  /** A token id or a list of them (eos_token_id may be either); undefined when absent. */
  tokenIds(field: string): number[] | undefined {
    const value = this.json[field];
    if (value === undefined || value === null) return undefined;
    const list = Array.isArray(value) ? value : [value];
    for (const id of list) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
        this.fail(field, `expected a token id (integer ≥ 0) or a list of them, got ${JSON.stringify(value)}`);
      }
    }
    return list as number[];
  }

  object(field: string): ConfigFields | undefined {
    const value = this.json[field];
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) this.fail(field, `expected an object or null, got ${JSON.stringify(value)}`);
    return new ConfigFields(this.file, value, `${this.prefix}${field}.`);
  }
}

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

/** Converts the parsed JSON of a config.json (named `file` in errors) into a validated LlamaConfig. */
export function parseHfConfig(json: unknown, file: string): LlamaConfig {
  if (!isObject(json)) throw new ModelFileError({ file }, "expected a JSON object at the top level");
  const fields = new ConfigFields(file, json);
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
