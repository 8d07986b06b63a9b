// TEST FIXTURE: a tiny byte-level BPE tokenizer.json (the GPT-2 byte alphabet, a few merges, added tokens) for
// testing the Hugging Face wrapper without model files.

import { byteLevelAlphabet } from "../src/index.ts";
import type { HfTokenizerJson } from "../src/index.ts";

export interface TinyTokenizerOptions {
  /** Added tokens after the alphabet and merged words (ids from 256 + words.length). */
  added?: Array<{ content: string; special: boolean }>;
  /** tokenizer.json post_processor (default none). */
  postProcessor?: unknown;
  /** tokenizer.json decoder (default ByteLevel). */
  decoder?: unknown;
}

export const tinyWords = ["Hi", "Ġa", "ab"];
export const tinyMerges = ["H i", "Ġ a", "a b"];

export function tinyTokenizerJson(options: TinyTokenizerOptions = {}): HfTokenizerJson {
  const vocab: Record<string, number> = {};
  byteLevelAlphabet.forEach((character, id) => (vocab[character] = id));
  tinyWords.forEach((word, index) => (vocab[word] = 256 + index));
  const added = (options.added ?? []).map((token, index) => ({
    id: 256 + tinyWords.length + index,
    content: token.content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: token.special,
  }));
  for (const token of added) vocab[token.content] = token.id;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: options.postProcessor ?? null,
    decoder: options.decoder === undefined ? { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true } : options.decoder,
    model: ({
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: tinyMerges,
    }) as HfTokenizerJson["model"],
  };
}

/** TemplateProcessing that puts `before` and `after` (token texts with their ids) around a single sequence. */
export function templateProcessing(before: Array<[string, number]>, after: Array<[string, number]>, withSequence = true): unknown {
  const special = (text: string) => ({ SpecialToken: { id: text, type_id: 0 } });
  const single = [...before.map(([text]) => special(text)), ...(withSequence ? [{ Sequence: { id: "A", type_id: 0 } }] : []), ...after.map(([text]) => special(text))];
  return {
    type: "TemplateProcessing",
    single,
    pair: single,
    special_tokens: Object.fromEntries([...before, ...after].map(([text, id]) => [text, { id: text, ids: [id], tokens: [text] }])),
  };
}
