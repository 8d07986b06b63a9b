// The synthetic byte-level vocabulary used when the real Llama 3 tokenizer is absent: exact size, special tokens at
// Llama 3's ids when there is room, merges that only name existing tokens.
import { describe, expect, it } from "vitest";

import { byteLevelAlphabet, syntheticByteLevelVocabulary } from "../src/synthetic-vocabulary.ts";

describe("syntheticByteLevelVocabulary", () => {
  it("spells all 256 bytes with distinct printable symbols", () => {
    const alphabet = byteLevelAlphabet();
    expect(new Set(alphabet).size).toBe(256);
    expect(alphabet["A".charCodeAt(0)]).toBe("A");
    expect(alphabet[32]).toBe("Ġ"); // GPT-2's spelling of the space
  });

  it("has exactly the requested size, with Llama 3's special ids in a full-size vocabulary", () => {
    const vocabulary = syntheticByteLevelVocabulary(128256);
    const tokens = vocabulary.metadata.get("tokenizer.ggml.tokens") as string[];
    expect(tokens).toHaveLength(128256);
    expect(new Set(tokens).size).toBe(128256);
    expect(vocabulary.bosTokenId).toBe(128000);
    expect(tokens[128000]).toBe("<|begin_of_text|>");
    expect(tokens[128009]).toBe("<|eot_id|>");
  });

  it("puts BOS and EOS last in a small vocabulary, and every merge joins two existing tokens", () => {
    const vocabulary = syntheticByteLevelVocabulary(512);
    const tokens = vocabulary.metadata.get("tokenizer.ggml.tokens") as string[];
    expect(tokens).toHaveLength(512);
    expect([vocabulary.bosTokenId, vocabulary.eosTokenId]).toEqual([510, 511]);
    const known = new Set(tokens);
    const merges = (vocabulary.metadata.get("tokenizer.ggml.merges") as { value: string[] }).value;
    for (const merge of merges) {
      const [left, right] = merge.split(" ");
      expect(known.has(left) && known.has(right) && known.has(left + right)).toBe(true);
    }
  });

  it("rejects a vocabulary too small for the bytes and two special tokens", () => {
    expect(() => syntheticByteLevelVocabulary(100)).toThrow(/at least 258/);
  });
});
