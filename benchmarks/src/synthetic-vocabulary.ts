// A synthetic byte-level BPE vocabulary of any size, as GGUF tokenizer metadata llama.cpp accepts (model "gpt2"), for
// random-weight model files when the real Llama 3 tokenizer.json is not at hand: the 256 byte-level symbols, then
// tokens built by merging pairs of them (with their merges), then unused "[PAD<id>]" fillers, and the Llama 3 special
// tokens at their Llama 3 ids when the vocabulary is large enough (else as the last ids).

import type { GgufMetadataInput } from "@infer-recipes/models";

/** GPT-2's byte → printable character mapping (bytes_to_unicode), which byte-level vocabularies spell tokens in. */
export function byteLevelAlphabet(): string[] {
  const printable = (byte: number) => (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const alphabet: string[] = [];
  let next = 0;
  for (let byte = 0; byte < 256; byte++) alphabet.push(String.fromCodePoint(printable(byte) ? byte : 256 + next++));
  return alphabet;
}

/** Llama 3's first special tokens; the rest of its 256 special ids are "<|reserved_special_token_N|>". */
const llama3Specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"];
const llama3FirstSpecialId = 128000;

export interface SyntheticVocabulary {
  metadata: Map<string, GgufMetadataInput>;
  bosTokenId: number;
  eosTokenId: number;
}

/** A byte-level vocabulary of exactly `vocabSize` tokens (≥ 256 + 2). */
export function syntheticByteLevelVocabulary(vocabSize: number): SyntheticVocabulary {
  if (!Number.isInteger(vocabSize) || vocabSize < 258) throw new RangeError(`syntheticByteLevelVocabulary: needs at least 258 tokens, got ${vocabSize}`);
  const alphabet = byteLevelAlphabet();
  const specialStart = vocabSize >= llama3FirstSpecialId + llama3Specials.length ? llama3FirstSpecialId : vocabSize - 2;
  const specialCount = specialStart === llama3FirstSpecialId ? vocabSize - llama3FirstSpecialId : 2;
  const tokens: string[] = [...alphabet];
  const types: number[] = alphabet.map(() => 1); // normal
  const merges: string[] = [];
  // Pairs of printable ASCII letters and digits first (they merge in ordinary text), then any pairs of symbols.
  const common = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"].map((character) => alphabet[character.charCodeAt(0)]);
  const seen = new Set(tokens);
  const addPair = (left: string, right: string): void => {
    if (tokens.length >= specialStart || seen.has(left + right)) return;
    seen.add(left + right);
    tokens.push(left + right);
    types.push(1);
    merges.push(`${left} ${right}`);
  };
  for (const left of common) for (const right of common) addPair(left, right);
  for (const left of alphabet) for (const right of alphabet) addPair(left, right);
  while (tokens.length < specialStart) {
    types.push(5); // unused
    tokens.push(`[PAD${tokens.length}]`);
  }
  for (let index = 0; index < specialCount; index++) {
    tokens.push(specialStart === llama3FirstSpecialId ? (llama3Specials[index] ?? `<|reserved_special_token_${index - 2}|>`) : index === 0 ? "<|begin_of_text|>" : "<|end_of_text|>");
    types.push(3); // control
  }
  const bosTokenId = specialStart;
  const eosTokenId = specialStart + 1;
  const metadata = new Map<string, GgufMetadataInput>([
    ["tokenizer.ggml.model", "gpt2"],
    ["tokenizer.ggml.pre", "llama-bpe"],
    ["tokenizer.ggml.tokens", tokens],
    ["tokenizer.ggml.token_type", new Int32Array(types)],
    ["tokenizer.ggml.merges", { type: "array", elementType: "string", value: merges }],
    ["tokenizer.ggml.bos_token_id", { type: "uint32", value: bosTokenId }],
    ["tokenizer.ggml.eos_token_id", { type: "uint32", value: eosTokenId }],
    ["tokenizer.ggml.add_bos_token", true],
  ]);
  return { metadata, bosTokenId, eosTokenId };
}
