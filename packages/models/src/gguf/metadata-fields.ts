// Typed access to the metadata of a parsed GGUF file, shared by the architecture loaders (llama.ts, chatglm.ts):
// numbers and strings under a key prefix with errors naming the file and key, the vocabulary size and the
// end-of-generation token ids.

import { ModelFileError } from "../errors.ts";
import type { GgufFile } from "./reader.ts";

/** Extra key (written by convertSafetensorsToGguf) holding every end-of-generation token id, since GGUF's
 *  tokenizer.ggml.eos_token_id holds only one. */
export const eosTokenIdsMetadataKey = "infer_recipes.eos_token_ids";

/** Typed access to GGUF metadata keys under a prefix ("llama.", "chatglm."); errors name the file and key. */
export class MetadataFields {
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

/** The vocabulary size of a GGUF file: {arch}.vocab_size, else the tokenizer's token count, else the embedding rows. */
export function ggufVocabSize(file: GgufFile, fields: MetadataFields, architectureName = "llama"): number {
  const declared = fields.optionalNumber("vocab_size");
  if (declared !== undefined) return fields.positiveInteger("vocab_size");
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  if (Array.isArray(tokens)) return tokens.length;
  const embedding = file.tensorInfo("token_embd.weight");
  if (embedding !== undefined) return embedding.shape[0];
  throw new ModelFileError({ file: file.path, field: `${architectureName}.vocab_size` }, "missing, and there is neither tokenizer.ggml.tokens nor token_embd.weight to count the vocabulary from");
}

/** The end-of-generation ids a GGUF file records: tokenizer.ggml.eos/eot/eom_token_id and this project's list. */
export function ggufEosTokenIds(file: GgufFile): number[] {
  const tokenizer = new MetadataFields(file, "tokenizer.ggml.");
  const extraEos = file.metadata.get(eosTokenIdsMetadataKey);
  return [
    ...new Set([
      ...["eos_token_id", "eot_token_id", "eom_token_id"].map((key) => tokenizer.optionalNumber(key)).filter((id) => id !== undefined),
      ...(extraEos instanceof Uint32Array || extraEos instanceof Int32Array ? [...extraEos] : []),
    ]),
  ];
}
