// A small byte-level BPE vocabulary shaped like GLM-4's (THUDM/glm-4-9b-chat): the 256 byte tokens, merges that make
// common English, Chinese and code words single tokens, then GLM-4's special tokens ([gMASK], <sop>, <|user|>, ...)
// and "[PAD<id>]" padding up to the embedding rows. Written both as a Hugging Face tokenizer.json (GLM-4's regex
// split before ByteLevel, read through @huggingface/tokenizers) and as the GGUF metadata llama.cpp's converter writes
// (model "gpt2", pre "chatglm-bpe"), so a tiny GLM-4 model runs through the same tokenizer paths as the real one, and
// llama.cpp can check both.

import fs from "node:fs";
import path from "node:path";

import { byteLevelAlphabet, byteLevelEncode, glm4SpecialTokens } from "@infer-recipes/tokenizer";

import type { GgufMetadataInput } from "../gguf/writer.ts";
import { byteLevelTokenizerJson, type ByteLevelVocabulary, type TokenizerJsonSteps } from "./byte-level-tokenizer-json.ts";

/** GLM-4's pre-tokenizer expression as its tokenizer.json writes it (Oniguruma syntax; llama.cpp's CHATGLM4 regex). */
export const GLM4_SPLIT_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** A GLM-4-style chat template of the shape glm-4-9b-chat's tokenizer_config.json has (without its tool branches). */
export const TINY_GLM4_CHAT_TEMPLATE =
  "[gMASK]<sop>{% for item in messages %}{% if item['role'] == 'system' %}<|system|>\n{{ item['content'] }}" +
  "{% elif item['role'] == 'user' %}<|user|>\n{{ item['content'] }}{% elif item['role'] == 'assistant' %}<|assistant|>\n{{ item['content'] }}" +
  "{% elif item['role'] == 'observation' %}<|observation|>\n{{ item['content'] }}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}<|assistant|>{% endif %}";

/** GLM-4's tokenizer.json steps around the BPE model: its regex split, then ByteLevel without a regex of its own. */
export const glm4TokenizerSteps: TokenizerJsonSteps = {
  preTokenizer: {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: GLM4_SPLIT_PATTERN }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
  postProcessor: null,
};

/** Words the merges make whole (each merged left to right, so every prefix is a token too). */
const WORDS = [
  " the", " and", " sea", " ship", " you", " Hello", "Hello", " world", "ing", " is", " a", " of", " to", "\n\n", "  ", "    ",
  "你好", "世界", "我们", "中文", "学习", "，", "。", " def", " return", " const", "();", " =", " ==", "123", " 12",
];

/** The vocabulary: tokens in id order, merges by rank, the ids of GLM-4's special tokens by their text. */
export type TinyGlm4Vocabulary = ByteLevelVocabulary;

/** The vocabulary padded with "[PAD<id>]" to `vocabSize` (llama.cpp's converter pads GLM-4 to padded_vocab_size so). */
export function tinyGlm4Vocabulary(vocabSize: number): TinyGlm4Vocabulary {
  const tokens = [...byteLevelAlphabet];
  const merges: string[] = [];
  const known = new Set(tokens);
  for (const word of WORDS) {
    const symbols = Array.from(byteLevelEncode(new TextEncoder().encode(word)));
    let left = symbols[0];
    for (const right of symbols.slice(1)) {
      const merged = left + right;
      if (!known.has(merged)) {
        known.add(merged);
        tokens.push(merged);
        merges.push(`${left} ${right}`);
      }
      left = merged;
    }
  }
  const first = tokens.length;
  tokens.push(...glm4SpecialTokens);
  if (tokens.length > vocabSize) throw new RangeError(`tinyGlm4Vocabulary: needs vocabSize ≥ ${tokens.length}, got ${vocabSize}`);
  for (let id = tokens.length; id < vocabSize; id++) tokens.push(`[PAD${id}]`);
  return { tokens, merges, special: new Map(glm4SpecialTokens.map((text, index) => [text, first + index])) };
}

/**
 * Writes tokenizer.json, tokenizer_config.json and generation_config.json (GLM-4's layout; a turn ends at
 * <|endoftext|>, <|user|> or <|observation|>) into `directory`.
 */
export function writeTinyGlm4HfTokenizer(directory: string, vocabulary: TinyGlm4Vocabulary): void {
  const tokenizer = byteLevelTokenizerJson(vocabulary, glm4TokenizerSteps, (token) => token.startsWith("[PAD"));
  const id = (text: string) => vocabulary.special.get(text)!;
  fs.writeFileSync(path.join(directory, "tokenizer.json"), JSON.stringify(tokenizer));
  fs.writeFileSync(
    path.join(directory, "tokenizer_config.json"),
    JSON.stringify({ chat_template: TINY_GLM4_CHAT_TEMPLATE, eos_token: "<|endoftext|>", pad_token: "<|endoftext|>", clean_up_tokenization_spaces: false, tokenizer_class: "PreTrainedTokenizerFast" }),
  );
  fs.writeFileSync(path.join(directory, "generation_config.json"), JSON.stringify({ eos_token_id: [id("<|endoftext|>"), id("<|user|>"), id("<|observation|>")], pad_token_id: id("<|endoftext|>") }));
}

/**
 * Writes the vocabulary's regular tokens as GLM-4's tokenizer.model: tiktoken's text format (base64 of each token's
 * bytes, a space, its rank per line), which is not a SentencePiece model — loaders must fall back to tokenizer.json.
 */
export function writeTinyGlm4TiktokenModel(directory: string, vocabulary: TinyGlm4Vocabulary): void {
  const byteOf = new Map(byteLevelAlphabet.map((character, byte) => [character, byte]));
  const lines: string[] = [];
  vocabulary.tokens.forEach((token, id) => {
    if (vocabulary.special.has(token) || token.startsWith("[PAD")) return;
    const bytes = Uint8Array.from(Array.from(token, (character) => byteOf.get(character)!));
    lines.push(`${Buffer.from(bytes).toString("base64")} ${id}`);
  });
  fs.writeFileSync(path.join(directory, "tokenizer.model"), lines.join("\n") + "\n");
}

/**
 * The same vocabulary as the GGUF metadata llama.cpp's converter writes for GLM-4: model "gpt2", pre "chatglm-bpe",
 * special tokens as control tokens, padding unused, EOS <|endoftext|>, end of turn <|user|>, and BOS [gMASK] (which
 * llama.cpp ignores for this pre-tokenizer: the template writes it). `chatTemplate` null leaves the template out.
 */
export function tinyGlm4GgufTokenizerMetadata(vocabulary: TinyGlm4Vocabulary, chatTemplate: string | null = TINY_GLM4_CHAT_TEMPLATE): Map<string, GgufMetadataInput> {
  const types = new Int32Array(vocabulary.tokens.map((token) => (vocabulary.special.has(token) ? 3 : token.startsWith("[PAD") ? 5 : 1)));
  const id = (text: string) => ({ type: "uint32" as const, value: vocabulary.special.get(text)! });
  const metadata = new Map<string, GgufMetadataInput>([
    ["tokenizer.ggml.model", "gpt2"],
    ["tokenizer.ggml.pre", "chatglm-bpe"],
    ["tokenizer.ggml.tokens", [...vocabulary.tokens]],
    ["tokenizer.ggml.token_type", types],
    ["tokenizer.ggml.merges", [...vocabulary.merges]],
    ["tokenizer.ggml.bos_token_id", id("[gMASK]")],
    ["tokenizer.ggml.eos_token_id", id("<|endoftext|>")],
    ["tokenizer.ggml.eot_token_id", id("<|user|>")],
    ["tokenizer.ggml.unknown_token_id", id("<|endoftext|>")],
    ["tokenizer.ggml.padding_token_id", id("<|endoftext|>")],
  ]);
  if (chatTemplate !== null) metadata.set("tokenizer.chat_template", chatTemplate);
  return metadata;
}
