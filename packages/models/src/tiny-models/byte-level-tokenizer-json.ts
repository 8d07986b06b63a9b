// The tokenizer.json of a byte-level BPE vocabulary, as the tiny test tokenizers write it: regular tokens in the BPE
// model's vocab, special tokens as added tokens, the given pre-tokenizer and post-processor, and a ByteLevel decoder.

/** A byte-level BPE vocabulary: tokens in id order, merges by rank, the special tokens' ids by their text. */
export interface ByteLevelVocabulary {
  /** Every token's text in byte-level form, indexed by id. */
  tokens: readonly string[];
  /** BPE merges ("left right"), highest priority first. */
  merges: readonly string[];
  /** The special tokens' ids by their text. */
  special: ReadonlyMap<string, number>;
}

/** The steps of a tokenizer.json that differ between vocabularies. */
export interface TokenizerJsonSteps {
  /** tokenizer.json's pre_tokenizer object. */
  preTokenizer: object;
  /** tokenizer.json's post_processor object, or null for none. */
  postProcessor: object | null;
}

/** tokenizer.json's added_tokens for `special` (all special, none normalized). */
export function addedTokensJson(special: ReadonlyMap<string, number>): object[] {
  return [...special].map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
}

/**
 * The whole tokenizer.json. Tokens for which `isFiller` is true (padding rows) are left out of the vocab, as a
 * converter's "[PAD<id>]" rows are absent from the original file.
 */
export function byteLevelTokenizerJson(
  vocabulary: ByteLevelVocabulary,
  steps: TokenizerJsonSteps,
  isFiller: (token: string) => boolean = () => false,
): object {
  const vocab: Record<string, number> = {};
  vocabulary.tokens.forEach((token, id) => {
    if (!vocabulary.special.has(token) && !isFiller(token)) vocab[token] = id;
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokensJson(vocabulary.special),
    normalizer: null,
    pre_tokenizer: steps.preTokenizer,
    post_processor: steps.postProcessor,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: vocabulary.merges },
  };
}
