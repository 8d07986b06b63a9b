// Reads the tokenizer.ggml.* keys of GGUF metadata (a plain Map or record, as any GGUF reader yields)
// into a typed vocabulary description shared by the SentencePiece and byte-level BPE tokenizers.

/** GGUF metadata as any reader yields it (a Map or a plain record of key → value), or as the GGUF writer takes it (values typed as { type, value }). */
export type GgufMetadataInput = ReadonlyMap<string, unknown> | Readonly<Record<string, unknown>>;

/** llama.cpp's token types (tokenizer.ggml.token_type). */
export const GgufTokenType = {
  /** No type given. */
  undefined: 0,
  /** An ordinary piece of text. */
  normal: 1,
  /** The unknown token. */
  unknown: 2,
  /** A control token (BOS, EOS, chat markers): never produced from plain text unless special tokens are parsed. */
  control: 3,
  /** An added token matched whole in the text. */
  userDefined: 4,
  /** A placeholder that is never produced. */
  unused: 5,
  /** A byte-fallback token <0xXX>. */
  byte: 6,
} as const;

/** The tokenizer.ggml.* keys of a GGUF file, typed. */
export interface GgufVocabulary {
  /** tokenizer.ggml.model: "llama" (SentencePiece BPE by scores) or "gpt2" (byte-level BPE by merges). */
  model: string;
  /** tokenizer.ggml.tokens: the spelling of every id. */
  tokens: readonly string[];
  /** tokenizer.ggml.scores: SentencePiece merge priorities, per id. */
  scores?: ArrayLike<number>;
  /** tokenizer.ggml.token_type, per id (see {@link GgufTokenType}). */
  tokenTypes: ArrayLike<number>;
  /** tokenizer.ggml.merges: byte-level BPE merges "a b", by rank. */
  merges?: readonly string[];
  /** tokenizer.ggml.pre: the pre-tokenizer name, e.g. "llama-bpe", "qwen2", "default". */
  preTokenizer?: string;
  /** tokenizer.ggml.bos_token_id. */
  bosTokenId?: number;
  /** tokenizer.ggml.eos_token_id. */
  eosTokenId?: number;
  /** tokenizer.ggml.eot_token_id (end of turn). */
  endOfTurnTokenId?: number;
  /** tokenizer.ggml.eom_token_id (end of message). */
  endOfMessageTokenId?: number;
  /** tokenizer.ggml.unknown_token_id. */
  unknownTokenId?: number;
  /** tokenizer.ggml.padding_token_id. */
  paddingTokenId?: number;
  /** tokenizer.ggml.add_bos_token. */
  addBosToken?: boolean;
  /** tokenizer.ggml.add_eos_token. */
  addEosToken?: boolean;
  /** tokenizer.ggml.add_space_prefix (SentencePiece's dummy prefix). */
  addSpacePrefix?: boolean;
  /** tokenizer.chat_template. */
  chatTemplate?: string;
}

/** The value of `key`, unwrapped from the writer's { type, value } form when it is typed. */
export function metadataValue(metadata: GgufMetadataInput, key: string): unknown {
  const value = metadata instanceof Map ? metadata.get(key) : (metadata as Readonly<Record<string, unknown>>)[key];
  return typedValueContent(value);
}

/** The value inside a typed entry as the GGUF writer takes it ({ type: "uint32", value: 2 }); anything else as is. */
function typedValueContent(value: unknown): unknown {
  const isTyped = typeof value === "object" && value !== null && !ArrayBuffer.isView(value) && !Array.isArray(value) && typeof (value as { type?: unknown }).type === "string" && "value" in value;
  return isTyped ? (value as { value: unknown }).value : value;
}

function optionalInteger(metadata: GgufMetadataInput, key: string): number | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number" && Number.isInteger(value)) return value;
  throw new TypeError(`GGUF metadata ${key} must be an integer, got ${typeof value}`);
}

function optionalBoolean(metadata: GgufMetadataInput, key: string): boolean | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (typeof value === "number" || typeof value === "bigint") return Number(value) !== 0;
  throw new TypeError(`GGUF metadata ${key} must be a boolean, got ${typeof value}`);
}

function optionalString(metadata: GgufMetadataInput, key: string): string | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  throw new TypeError(`GGUF metadata ${key} must be a string, got ${typeof value}`);
}

function optionalStringArray(metadata: GgufMetadataInput, key: string): string[] | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as string[];
  throw new TypeError(`GGUF metadata ${key} must be an array of strings`);
}

function optionalNumberArray(metadata: GgufMetadataInput, key: string): ArrayLike<number> | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined || value === null) return undefined;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Array.from(value, Number);
    return value as unknown as ArrayLike<number>;
  }
  if (Array.isArray(value)) return value.map((item) => Number(item));
  throw new TypeError(`GGUF metadata ${key} must be a numeric array`);
}

/** Reads the tokenizer.ggml.* keys; throws when the metadata embeds no tokenizer or a key has the wrong type. */
export function readGgufVocabulary(metadata: GgufMetadataInput): GgufVocabulary {
  const model = optionalString(metadata, "tokenizer.ggml.model");
  if (model === undefined) throw new Error("GGUF metadata has no tokenizer.ggml.model: the file embeds no tokenizer");
  const tokens = optionalStringArray(metadata, "tokenizer.ggml.tokens");
  if (tokens === undefined) throw new Error("GGUF metadata has no tokenizer.ggml.tokens");
  const scores = optionalNumberArray(metadata, "tokenizer.ggml.scores");
  if (scores !== undefined && scores.length !== tokens.length) {
    throw new Error(`tokenizer.ggml.scores has ${scores.length} entries for ${tokens.length} tokens`);
  }
  const tokenTypes =
    optionalNumberArray(metadata, "tokenizer.ggml.token_type") ?? new Int32Array(tokens.length).fill(GgufTokenType.normal);
  if (tokenTypes.length !== tokens.length) {
    throw new Error(`tokenizer.ggml.token_type has ${tokenTypes.length} entries for ${tokens.length} tokens`);
  }
  return {
    model,
    tokens,
    scores,
    tokenTypes,
    merges: optionalStringArray(metadata, "tokenizer.ggml.merges"),
    preTokenizer: optionalString(metadata, "tokenizer.ggml.pre"),
    bosTokenId: optionalInteger(metadata, "tokenizer.ggml.bos_token_id"),
    eosTokenId: optionalInteger(metadata, "tokenizer.ggml.eos_token_id"),
    endOfTurnTokenId: optionalInteger(metadata, "tokenizer.ggml.eot_token_id"),
    endOfMessageTokenId: optionalInteger(metadata, "tokenizer.ggml.eom_token_id"),
    unknownTokenId: optionalInteger(metadata, "tokenizer.ggml.unknown_token_id"),
    paddingTokenId: optionalInteger(metadata, "tokenizer.ggml.padding_token_id"),
    addBosToken: optionalBoolean(metadata, "tokenizer.ggml.add_bos_token"),
    addEosToken: optionalBoolean(metadata, "tokenizer.ggml.add_eos_token"),
    addSpacePrefix: optionalBoolean(metadata, "tokenizer.ggml.add_space_prefix"),
    chatTemplate: optionalString(metadata, "tokenizer.chat_template"),
  };
}
