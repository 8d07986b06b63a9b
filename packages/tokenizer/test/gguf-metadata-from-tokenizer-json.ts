// Test helper: builds GGUF-style tokenizer metadata (tokenizer.ggml.*) from a Hugging Face byte-level BPE
// tokenizer.json the way llama.cpp's converter does (special added tokens → control, other added → user-defined,
// holes → unused "[PAD<id>]"), to test the byte-level BPE implementation against the Hugging Face tokenizer.

import { readFileSync } from "node:fs";

interface TokenizerJson {
  model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens: { id: number; content: string; special: boolean }[];
}

export interface ByteLevelMetadataOptions {
  pre: string;
  bosTokenId?: number;
  eosTokenId?: number;
  addBosToken?: boolean;
}

export function ggufMetadataFromTokenizerJson(path: string, options: ByteLevelMetadataOptions): Map<string, unknown> {
  const json = JSON.parse(readFileSync(path, "utf8")) as TokenizerJson;
  let size = 0;
  for (const id of Object.values(json.model.vocab)) size = Math.max(size, id + 1);
  for (const token of json.added_tokens) size = Math.max(size, token.id + 1);
  const tokens = new Array<string>(size);
  const tokenTypes = new Int32Array(size);
  for (const [token, id] of Object.entries(json.model.vocab)) {
    tokens[id] = token;
    tokenTypes[id] = 1;
  }
  for (const token of json.added_tokens) {
    tokens[token.id] = token.content;
    tokenTypes[token.id] = token.special ? 3 : 4;
  }
  for (let id = 0; id < size; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      tokenTypes[id] = 5;
    }
  }
  const metadata = new Map<string, unknown>([
    ["tokenizer.ggml.model", "gpt2"],
    ["tokenizer.ggml.pre", options.pre],
    ["tokenizer.ggml.tokens", tokens],
    ["tokenizer.ggml.token_type", tokenTypes],
    ["tokenizer.ggml.merges", json.model.merges.map((merge) => (Array.isArray(merge) ? merge.join(" ") : merge))],
  ]);
  if (options.bosTokenId !== undefined) metadata.set("tokenizer.ggml.bos_token_id", options.bosTokenId);
  if (options.eosTokenId !== undefined) metadata.set("tokenizer.ggml.eos_token_id", options.eosTokenId);
  if (options.addBosToken !== undefined) metadata.set("tokenizer.ggml.add_bos_token", options.addBosToken);
  return metadata;
}
