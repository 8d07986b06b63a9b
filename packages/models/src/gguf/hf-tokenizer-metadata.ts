// GGUF tokenizer metadata (tokenizer.ggml.*) from a Hugging Face tokenizer.json and tokenizer_config.json, so a
// converted file carries its vocabulary the way llama.cpp expects it:
//   - byte-level BPE (Llama 3, GPT-2 style; a ByteLevel pre-tokenizer): model "gpt2", tokens in their byte-level
//     spelling, merges "a b", tokenizer.ggml.pre naming the pre-tokenizer regex ("llama-bpe" for Llama 3);
//   - SentencePiece-style BPE with byte fallback (Llama 2, TinyStories): model "llama", with scores that make
//     llama.cpp's score-driven merging pick the same merges as the ranked BPE merges (score = −rank of the merge that
//     builds the token), and add_space_prefix when the normalizer prepends "▁".
// Token types follow llama.cpp's converter: special added tokens → control, other added tokens → user-defined,
// <0xNN> → byte, the unknown token → unknown, ids with no token → "[PAD<id>]" unused.

import fs from "node:fs";
import path from "node:path";

import { ModelFileError } from "../errors.ts";
import type { GgufMetadataInput } from "./writer.ts";

/** The parts of tokenizer.json this reads. */
export interface HfTokenizerJsonSubset {
  /** The tokenization model. */
  model: {
    /** "BPE" (byte-level or SentencePiece-style). */
    type: string;
    /** Token text → id. */
    vocab: Record<string, number>;
    /** Merges by rank, "a b" or ["a", "b"]. */
    merges?: Array<string | [string, string]>;
    /** The unknown token's text. */
    unk_token?: string | null;
    /** Whether pieces without a token are spelled with <0xXX> byte tokens (SentencePiece style). */
    byte_fallback?: boolean;
  };
  /** Tokens added on top of the vocabulary. */
  added_tokens?: Array<{
    /** The token's id. */
    id: number;
    /** Its text. */
    content: string;
    /** Whether it is a special (control) token. */
    special: boolean;
  }>;
  /** The normalizer section (read to tell SentencePiece-style vocabularies apart). */
  normalizer?: unknown;
  /** The pre-tokenizer section (its regex names the GGUF pre-tokenizer). */
  pre_tokenizer?: unknown;
  /** The post-processor section (whether BOS is added). */
  post_processor?: unknown;
}

/** The parts of tokenizer_config.json this reads. */
export interface HfTokenizerConfigSubset {
  /** The BOS token. */
  bos_token?:
    | string
    | {
        /** Its text. */
        content: string;
      }
    | null;
  /** The EOS token. */
  eos_token?:
    | string
    | {
        /** Its text. */
        content: string;
      }
    | null;
  /** The padding token. */
  pad_token?:
    | string
    | {
        /** Its text. */
        content: string;
      }
    | null;
  /** The unknown token. */
  unk_token?:
    | string
    | {
        /** Its text. */
        content: string;
      }
    | null;
  /** Whether encoding adds BOS. */
  add_bos_token?: boolean;
  /** Whether encoding adds EOS. */
  add_eos_token?: boolean;
  /** The chat template (a string, or a list of named templates). */
  chat_template?: unknown;
}

/** Options of {@link hfTokenizerGgufMetadata}. */
export interface HfTokenizerMetadataOptions {
  /** tokenizer.ggml.pre for byte-level vocabularies; by default recognised from the pre-tokenizer regex. */
  preTokenizer?: string;
  /** Names the source in errors (a file or directory). */
  source?: string;
}

const tokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** Pre-tokenizer split regexes llama.cpp knows by name (tokenizer.ggml.pre). */
const knownPreTokenizers: ReadonlyArray<readonly [name: string, regex: string]> = [
  ["llama-bpe", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
  ["qwen2", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
];

/** Every object nested in `value` (depth first), to find pre-tokenizer and normalizer steps inside Sequences. */
function nestedObjects(value: unknown): Array<Record<string, unknown>> {
  if (value === null || typeof value !== "object") return [];
  if (Array.isArray(value)) return value.flatMap(nestedObjects);
  const record = value as Record<string, unknown>;
  return [record, ...Object.values(record).flatMap(nestedObjects)];
}

function tokenText(token: HfTokenizerConfigSubset["bos_token"]): string | undefined {
  if (token === null || token === undefined) return undefined;
  return typeof token === "string" ? token : token.content;
}

function mergeParts(merge: string | [string, string]): [string, string] {
  if (Array.isArray(merge)) return merge;
  const space = merge.indexOf(" ", 1); // a part never is empty, so a leading space belongs to the first part
  return [merge.slice(0, space), merge.slice(space + 1)];
}

function detectPreTokenizer(json: HfTokenizerJsonSubset): string | undefined {
  for (const step of nestedObjects(json.pre_tokenizer)) {
    const pattern = step.type === "Split" ? (step.pattern as { Regex?: string } | undefined)?.Regex : undefined;
    if (pattern === undefined) continue;
    const known = knownPreTokenizers.find(([, regex]) => regex === pattern);
    if (known) return known[0];
  }
  return undefined;
}

/** Whether the post-processor puts a special token before the sequence (the BOS), when the config does not say. */
function postProcessorAddsBos(json: HfTokenizerJsonSubset): boolean {
  for (const step of nestedObjects(json.post_processor)) {
    const single = step.single;
    if (step.type === "TemplateProcessing" && Array.isArray(single) && single.length > 0) return "SpecialToken" in (single[0] as object);
  }
  return false;
}

/** The tokenizer.ggml.* metadata for `json` (tokenizer.json) and `config` (tokenizer_config.json). */
export function hfTokenizerGgufMetadata(
  json: HfTokenizerJsonSubset,
  config: HfTokenizerConfigSubset = {},
  options: HfTokenizerMetadataOptions = {},
): Map<string, GgufMetadataInput> {
  const source = options.source ?? "tokenizer.json";
  const fail = (problem: string): never => {
    throw new ModelFileError({ file: source, field: "model" }, problem);
  };
  if (json.model?.type !== "BPE") fail(`only BPE tokenizers can be embedded in GGUF here, got model type "${json.model?.type}"`);
  const byteLevel = nestedObjects(json.pre_tokenizer).some((step) => step.type === "ByteLevel");
  const sentencePiece = !byteLevel && json.model.byte_fallback === true;
  if (!byteLevel && !sentencePiece) fail("a BPE tokenizer without a ByteLevel pre-tokenizer must use byte_fallback (SentencePiece style)");

  const added = json.added_tokens ?? [];
  let size = 0;
  for (const id of Object.values(json.model.vocab)) size = Math.max(size, id + 1);
  for (const token of added) size = Math.max(size, token.id + 1);
  const tokens = new Array<string>(size);
  const types = new Int32Array(size); // [vocab]
  for (const [token, id] of Object.entries(json.model.vocab)) {
    tokens[id] = token;
    types[id] = sentencePiece && /^<0x[0-9A-Fa-f]{2}>$/.test(token) ? tokenType.byte : tokenType.normal;
  }
  for (const token of added) {
    tokens[token.id] = token.content;
    types[token.id] = token.special ? tokenType.control : tokenType.userDefined;
  }
  const unknownToken = json.model.unk_token ?? tokenText(config.unk_token);
  const idOf = new Map<string, number>();
  for (let id = 0; id < size; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = tokenType.unused;
    }
    if (!idOf.has(tokens[id])) idOf.set(tokens[id], id);
  }
  if (unknownToken !== undefined && idOf.has(unknownToken)) types[idOf.get(unknownToken)!] = tokenType.unknown;

  const merges = (json.model.merges ?? []).map(mergeParts);
  const metadata = new Map<string, GgufMetadataInput>();
  if (byteLevel) {
    const pre = options.preTokenizer ?? detectPreTokenizer(json);
    if (pre === undefined) {
      fail(`the byte-level pre-tokenizer's regex is not one llama.cpp knows by name (${knownPreTokenizers.map(([name]) => name).join(", ")}); pass preTokenizer`);
    }
    metadata.set("tokenizer.ggml.model", "gpt2");
    metadata.set("tokenizer.ggml.pre", pre!);
    metadata.set("tokenizer.ggml.tokens", tokens);
    metadata.set("tokenizer.ggml.token_type", types);
    metadata.set("tokenizer.ggml.merges", { type: "array", elementType: "string", value: merges.map(([left, right]) => `${left} ${right}`) });
  } else {
    // llama.cpp merges the adjacent pair whose joined text has the highest score: score = −rank of the merge that
    // builds a token reproduces the BPE merge order; tokens no merge builds come last.
    const scores = new Float32Array(size).fill(-(merges.length + 1)); // [vocab]
    merges.forEach(([left, right], rank) => {
      const id = idOf.get(left + right);
      if (id !== undefined && scores[id] < -rank) scores[id] = -rank;
    });
    for (let id = 0; id < size; id++) if (types[id] !== tokenType.normal) scores[id] = 0;
    metadata.set("tokenizer.ggml.model", "llama");
    metadata.set("tokenizer.ggml.tokens", tokens);
    metadata.set("tokenizer.ggml.scores", scores);
    metadata.set("tokenizer.ggml.token_type", types);
    const prependsSpace = nestedObjects(json.normalizer).some((step) => step.type === "Prepend" && step.prepend === "\u2581");
    metadata.set("tokenizer.ggml.add_space_prefix", prependsSpace);
  }

  const specialId = (key: string, token: string | undefined): void => {
    const id = token === undefined ? undefined : idOf.get(token);
    if (id !== undefined) metadata.set(key, { type: "uint32", value: id });
  };
  specialId("tokenizer.ggml.bos_token_id", tokenText(config.bos_token));
  specialId("tokenizer.ggml.eos_token_id", tokenText(config.eos_token));
  specialId("tokenizer.ggml.unknown_token_id", unknownToken);
  specialId("tokenizer.ggml.padding_token_id", tokenText(config.pad_token));
  metadata.set("tokenizer.ggml.add_bos_token", config.add_bos_token ?? postProcessorAddsBos(json));
  metadata.set("tokenizer.ggml.add_eos_token", config.add_eos_token ?? false);
  if (typeof config.chat_template === "string") metadata.set("tokenizer.chat_template", config.chat_template);
  return metadata;
}

/** Reads tokenizer.json (and tokenizer_config.json when present) from `directory`; undefined without tokenizer.json. */
export function readHfTokenizerGgufMetadata(directory: string, options: HfTokenizerMetadataOptions = {}): Map<string, GgufMetadataInput> | undefined {
  const jsonPath = path.join(directory, "tokenizer.json");
  if (!fs.existsSync(jsonPath)) return undefined;
  const configPath = path.join(directory, "tokenizer_config.json");
  const parse = <T>(file: string): T => {
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as T;
    } catch (error) {
      throw new ModelFileError({ file }, `is not valid JSON: ${(error as Error).message}`);
    }
  };
  const json = parse<HfTokenizerJsonSubset>(jsonPath);
  const config = fs.existsSync(configPath) ? parse<HfTokenizerConfigSubset>(configPath) : {};
  return hfTokenizerGgufMetadata(json, config, { source: jsonPath, ...options });
}
