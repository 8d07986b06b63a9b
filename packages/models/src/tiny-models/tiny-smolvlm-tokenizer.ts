// A small byte-level BPE vocabulary shaped like SmolVLM's (SmolLM2's GPT-2 byte alphabet, digits split off first,
// <|im_start|> / <end_of_utterance>, and the image tokens <image>, <fake_token_around_image>, <global-img>,
// <row_r_col_c>), written both as a Hugging Face tokenizer.json and as GGUF tokenizer metadata (model "gpt2", pre
// "smollm"), so tiny vision-language models run through the same tokenizer paths as the real SmolVLM files, and
// llama.cpp's mtmd finds the "\n", "\n\n" and image tokens it looks up.

import fs from "node:fs";
import path from "node:path";

import { byteLevelAlphabet } from "@infer-recipes/tokenizer";

import type { GgufMetadataInput } from "../gguf/writer.ts";
import { byteLevelTokenizerJson } from "./byte-level-tokenizer-json.ts";

/** SmolVLM's chat template (transformers' SmolVLMProcessor / Idefics3 default, as in the model's chat_template.json). */
export const SMOLVLM_CHAT_TEMPLATE =
  "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}" +
  "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}" +
  "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

/** A byte-level BPE vocabulary with SmolVLM's special tokens, and the ids of the ones prompts use. */
export interface TinySmolVlmVocabulary {
  /** Tokens in id order. */
  tokens: string[];
  /** BPE merges by rank ("left right"). */
  merges: string[];
  /** Ids of the added (special) tokens by their text. */
  special: ReadonlyMap<string, number>;
  /** Id of <image>, the placeholder an image embedding replaces. */
  imageTokenId: number;
  /** Id of <|im_start|>, the BOS token. */
  beginTokenId: number;
  /** Id of <end_of_utterance>, the EOS token (ends an assistant turn). */
  endOfUtteranceId: number;
}

/** Merges that make "\n\n", " t", "th", " the" and a few words single tokens, as a real vocabulary has them. */
const MERGES = ["Ċ Ċ", "Ġ t", "t h", "Ġt h", "Ġth e", "h e", "i s", "Ġ i", "Ġi s", "Ġ a", "a t"];

/** The vocabulary, padded with <unused_N> tokens to `vocabSize`; tile tokens <row_r_col_c> up to maxGrid × maxGrid. */
export function tinySmolVlmVocabulary(vocabSize: number, maxGrid = 4): TinySmolVlmVocabulary {
  const specialsFirst = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
  const tokens = [...specialsFirst, ...byteLevelAlphabet];
  for (const merge of MERGES) tokens.push(merge.replace(" ", ""));
  const specialsAfter = ["<fake_token_around_image>", "<image>", "<global-img>", "<end_of_utterance>"];
  for (let row = 1; row <= maxGrid; row++) for (let col = 1; col <= maxGrid; col++) specialsAfter.push(`<row_${row}_col_${col}>`);
  const firstAfter = tokens.length;
  tokens.push(...specialsAfter);
  if (tokens.length > vocabSize) throw new RangeError(`tinySmolVlmVocabulary: needs vocabSize ≥ ${tokens.length}, got ${vocabSize}`);
  for (let index = tokens.length; index < vocabSize; index++) tokens.push(`<unused_${index}>`);
  const special = new Map<string, number>([...specialsFirst.map((text, id) => [text, id] as const), ...specialsAfter.map((text, index) => [text, firstAfter + index] as const)]);
  return {
    tokens,
    merges: MERGES,
    special,
    imageTokenId: special.get("<image>")!,
    beginTokenId: special.get("<|im_start|>")!,
    endOfUtteranceId: special.get("<end_of_utterance>")!,
  };
}

/** Writes tokenizer.json, tokenizer_config.json and chat_template.json (SmolVLM's layout) into `directory`. */
export function writeTinySmolVlmHfTokenizer(directory: string, vocabulary: TinySmolVlmVocabulary): void {
  const tokenizer = byteLevelTokenizerJson(vocabulary, {
    preTokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Digits", individual_digits: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    postProcessor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
  });
  fs.writeFileSync(path.join(directory, "tokenizer.json"), JSON.stringify(tokenizer));
  fs.writeFileSync(
    path.join(directory, "tokenizer_config.json"),
    JSON.stringify({ add_bos_token: false, add_prefix_space: false, bos_token: "<|im_start|>", eos_token: "<end_of_utterance>", unk_token: "<|endoftext|>", pad_token: "<|im_end|>" }),
  );
  fs.writeFileSync(path.join(directory, "chat_template.json"), JSON.stringify({ chat_template: SMOLVLM_CHAT_TEMPLATE }));
}

/** The same vocabulary as GGUF tokenizer metadata (model "gpt2", pre-tokenizer "smollm", specials as control tokens). */
export function tinySmolVlmGgufTokenizerMetadata(vocabulary: TinySmolVlmVocabulary, chatTemplate = SMOLVLM_CHAT_TEMPLATE): Map<string, GgufMetadataInput> {
  const types = new Int32Array(vocabulary.tokens.map((token) => (vocabulary.special.has(token) ? 3 : token.startsWith("<unused_") ? 5 : 1)));
  return new Map<string, GgufMetadataInput>([
    ["tokenizer.ggml.model", "gpt2"],
    ["tokenizer.ggml.pre", "smollm"],
    ["tokenizer.ggml.tokens", vocabulary.tokens],
    ["tokenizer.ggml.token_type", types],
    ["tokenizer.ggml.merges", vocabulary.merges],
    ["tokenizer.ggml.bos_token_id", { type: "uint32", value: vocabulary.beginTokenId }],
    ["tokenizer.ggml.eos_token_id", { type: "uint32", value: vocabulary.endOfUtteranceId }],
    ["tokenizer.ggml.padding_token_id", { type: "uint32", value: vocabulary.special.get("<|im_end|>")! }],
    ["tokenizer.ggml.add_bos_token", false],
    ["tokenizer.chat_template", chatTemplate],
  ]);
}
