// A small SentencePiece-style vocabulary for tiny test models, written both as a Hugging Face tokenizer.json (BPE
// with byte fallback, as Llama 2 and TinyStories use) and as GGUF tokenizer metadata, so an end-to-end test can run
// a generated model through the same tokenizer code paths as a real one without any downloaded file.

import fs from "node:fs";
import path from "node:path";

import { chatGlm3ChatTemplate, chatGlm3SpecialTokens } from "@infer-recipes/tokenizer";

import type { GgufMetadataInput } from "../gguf/writer.ts";

const SPECIALS = ["<unk>", "<s>", "</s>"];
const BYTES = Array.from({ length: 256 }, (_, byte) => `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
const PIECES = ["\u2581", ..."abcdefghijklmnopqrstuvwxyz", ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ", ..."0123456789", ".", ",", "!", "?", "'"];

/** Tokens in id order: <unk> <s> </s>, the 256 byte tokens, then single characters (the rest of `vocabSize` is filler). */
export function tinyVocabulary(vocabSize: number): string[] {
  const tokens = [...SPECIALS, ...BYTES, ...PIECES];
  if (vocabSize < tokens.length) throw new RangeError(`tinyVocabulary: needs vocabSize ≥ ${tokens.length}, got ${vocabSize}`);
  for (let index = tokens.length; index < vocabSize; index++) tokens.push(`<unused${index}>`);
  return tokens;
}

/** Writes tokenizer.json and tokenizer_config.json (with a small chat template) into `directory`. */
export function writeTinyHfTokenizer(directory: string, vocabSize: number): void {
  const tokens = tinyVocabulary(vocabSize);
  const vocab = Object.fromEntries(tokens.map((token, id) => [token, id]));
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" }, { type: "Replace", pattern: { String: " " }, content: "\u2581" }] },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "\u2581" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: { type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: [] },
  };
  fs.writeFileSync(path.join(directory, "tokenizer.json"), JSON.stringify(tokenizer));
  fs.writeFileSync(
    path.join(directory, "tokenizer_config.json"),
    JSON.stringify({ add_bos_token: true, add_eos_token: false, bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", chat_template: TINY_CHAT_TEMPLATE }),
  );
}

/** A minimal chat template in the Llama 2 style. */
export const TINY_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}[INST] {{ message['content'] }} [/INST]{% else %}{{ message['content'] }}{{ eos_token }}{% endif %}{% endfor %}";

/** The same vocabulary as GGUF tokenizer metadata (model "llama", SentencePiece scoring). */
export function tinyGgufTokenizerMetadata(vocabSize: number): Map<string, GgufMetadataInput> {
  const tokens = tinyVocabulary(vocabSize);
  const types = new Int32Array(tokens.map((token, id) => (id === 0 ? 2 : id < 3 ? 3 : id < 259 ? 6 : token.startsWith("<unused") ? 5 : 1)));
  const scores = new Float32Array(tokens.map((_, id) => (id < 259 ? 0 : -id)));
  return new Map<string, GgufMetadataInput>([
    ["tokenizer.ggml.model", "llama"],
    ["tokenizer.ggml.tokens", tokens],
    ["tokenizer.ggml.scores", scores],
    ["tokenizer.ggml.token_type", types],
    ["tokenizer.ggml.bos_token_id", { type: "uint32", value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: "uint32", value: 2 }],
    ["tokenizer.ggml.unknown_token_id", { type: "uint32", value: 0 }],
    ["tokenizer.ggml.add_bos_token", true],
    ["tokenizer.chat_template", TINY_CHAT_TEMPLATE],
  ]);
}

/**
 * A ChatGLM3-style vocabulary of `vocabSize` tokens as GGUF metadata: tinyVocabulary, then ChatGLM3's special tokens
 * ([gMASK], sop, <|user|>, ...) as its last ids, with ChatGLM3's chat template, no BOS, and <|user|> / <|observation|>
 * ending a turn — so a tiny GLM model chats through the same code paths as ChatGLM3-6B.
 */
export function tinyChatGlmGgufTokenizerMetadata(vocabSize: number): Map<string, GgufMetadataInput> {
  const first = vocabSize - chatGlm3SpecialTokens.length;
  const tokens = [...tinyVocabulary(first), ...chatGlm3SpecialTokens];
  const types = new Int32Array(tokens.map((token, id) => (id === 0 ? 2 : id < 3 || id >= first ? 3 : id < 259 ? 6 : token.startsWith("<unused") ? 5 : 1)));
  const scores = new Float32Array(tokens.map((_, id) => (id < 259 || id >= first ? 0 : -id)));
  const idOf = (token: string) => ({ type: "uint32" as const, value: tokens.indexOf(token) });
  return new Map<string, GgufMetadataInput>([
    ["tokenizer.ggml.model", "llama"],
    ["tokenizer.ggml.pre", "chatglm-spm"],
    ["tokenizer.ggml.tokens", tokens],
    ["tokenizer.ggml.scores", scores],
    ["tokenizer.ggml.token_type", types],
    ["tokenizer.ggml.eos_token_id", { type: "uint32", value: 2 }],
    ["tokenizer.ggml.eot_token_id", idOf("<|user|>")],
    ["tokenizer.ggml.eom_token_id", idOf("<|observation|>")],
    ["tokenizer.ggml.unknown_token_id", { type: "uint32", value: 0 }],
    ["tokenizer.ggml.add_bos_token", false],
    ["tokenizer.chat_template", chatGlm3ChatTemplate],
  ]);
}
