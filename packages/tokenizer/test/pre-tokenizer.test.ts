// Tests the byte-level BPE pre-tokenizers and merge loop without model files: the words each tokenizer.ggml.pre family
// splits a table of texts into (contractions, digit groups, whitespace runs before words and line breaks, Unicode
// White_Space as llama.cpp means it), the names accepted, and the merge loop's rules (rank order, leftmost ties, merges
// file errors, duplicate merges, pieces without a token, ignore_merges, BOS defaults per family).

import { describe, expect, it } from "vitest";
import { ByteLevelBpeTokenizer, byteLevelAlphabet, byteLevelEncode, GgufTokenType, supportedPreTokenizerNames, tokenizerFromGgufMetadata } from "../src/index.ts";
import { preTokenize, preTokenizerPattern, splitWords } from "../src/pre-tokenizer-patterns.ts";
import { byteLevelDecode } from "../src/byte-level-alphabet.ts";

// The expected words were checked against the regex semantics of llama.cpp's pre-tokenizers (the same implementation
// reproduces llama.cpp's reference tokenizations of Llama 3 and Qwen2 in the tests that use ../shared/models).
const texts = ["Hello world", "I'm 12345 ok", "it's THEY'RE we'Ve", "a  b   c", "x\n\n  y", "trail  ", "\u00A1Hola! \u00BFqu\u00E9?", "tab\tsep\u00A0nb", "3.14159", "a\r\nb", "'S 'LL", "a\u0085b", "a\uFEFFb", "x\u2028y", "!?\r\n\r\nz", "  12"];
const words: Record<string, string[][]> = {
  "llama-bpe": [["Hello", " world"], ["I", "'m", " ", "123", "45", " ok"], ["it", "'s", " THEY", "'RE", " we", "'Ve"], ["a", " ", " b", "  ", " c"], ["x", "\n\n", " ", " y"], ["trail", "  "], ["\u00A1Hola", "!", " \u00BF", "qu\u00E9", "?"], ["tab", "\tsep", "\u00A0nb"], ["3", ".", "141", "59"], ["a", "\r\n", "b"], ["'S", " '", "LL"], ["a", "\u0085b"], ["a", "\uFEFFb"], ["x", "\u2028y"], ["!?\r\n\r\n", "z"], [" ", " ", "12"]],
  qwen2: [["Hello", " world"], ["I", "'m", " ", "1", "2", "3", "4", "5", " ok"], ["it", "'s", " THEY", "'RE", " we", "'Ve"], ["a", " ", " b", "  ", " c"], ["x", "\n\n", " ", " y"], ["trail", "  "], ["\u00A1Hola", "!", " \u00BF", "qu\u00E9", "?"], ["tab", "\tsep", "\u00A0nb"], ["3", ".", "1", "4", "1", "5", "9"], ["a", "\r\n", "b"], ["'S", " '", "LL"], ["a", "\u0085b"], ["a", "\uFEFFb"], ["x", "\u2028y"], ["!?\r\n\r\n", "z"], [" ", " ", "1", "2"]],
  default: [["Hello", " world"], ["I", "'m", " 12345", " ok"], ["it", "'s", " THEY", "'", "RE", " we", "'", "Ve"], ["a", " ", " b", "  ", " c"], ["x", "\n\n ", " y"], ["trail", "  "], ["\u00A1", "Hola", "!", " \u00BF", "qu\u00E9", "?"], ["tab", "\t", "sep", "\u00A0", "nb"], ["3", ".", "14159"], ["a", "\r", "\n", "b"], ["'", "S", " '", "LL"], ["a", "\u0085", "b"], ["a", "\uFEFF", "b"], ["x", "\u2028", "y"], ["!?", "\r\n\r", "\n", "z"], [" ", " 12"]],
  smollm: [["Hello", " world"], ["I", "'m", " ", "1", "2", "3", "4", "5", " ok"], ["it", "'s", " THEY", "'", "RE", " we", "'", "Ve"], ["a", " ", " b", "  ", " c"], ["x", "\n\n ", " y"], ["trail", "  "], ["\u00A1", "Hola", "!", " \u00BF", "qu\u00E9", "?"], ["tab", "\t", "sep", "\u00A0", "nb"], ["3", ".", "1", "4", "1", "5", "9"], ["a", "\r", "\n", "b"], ["'", "S", " '", "LL"], ["a", "\u0085", "b"], ["a", "\uFEFF", "b"], ["x", "\u2028", "y"], ["!?", "\r\n\r", "\n", "z"], ["  ", "1", "2"]],
};

describe("pre-tokenizer words", () => {
  for (const [name, expected] of Object.entries(words)) {
    it(`splits the sample texts as ${name} does`, () => {
      const pattern = preTokenizerPattern(name);
      expect(texts.map((text) => preTokenize(text, pattern))).toEqual(expected);
      for (const [index, text] of texts.entries()) expect(expected[index].join("")).toBe(text);
    });
  }

  it("resolves every accepted name to its family and defaults", () => {
    const resolved = Object.fromEntries(supportedPreTokenizerNames.map((name) => {
      const { family, ignoreMerges, addBosToken, digitsFirst, pattern } = preTokenizerPattern(name);
      expect(pattern.flags).toBe("gu");
      return [name, `${family} ${ignoreMerges} ${addBosToken} ${digitsFirst}`];
    }));
    expect(resolved).toEqual({
      "llama-bpe": "llama3 true true false", llama3: "llama3 true true false", "llama-v3": "llama3 true true false", falcon3: "llama3 true true false",
      qwen2: "qwen2 false false false", "deepseek-r1-qwen": "qwen2 false false false",
      default: "gpt2 false false false", "gpt-2": "gpt2 false false false", gpt2: "gpt2 false false false",
      smollm: "smollm false false true", "chatglm-bpe": "glm4 false false false", glm4: "glm4 false false false",
    });
    expect(preTokenizerPattern(undefined).family).toBe("gpt2");
    expect(preTokenizerPattern("glm4").pattern.source).toBe(preTokenizerPattern("llama-bpe").pattern.source);
    expect(preTokenizerPattern("smollm").pattern.source).toBe(preTokenizerPattern("gpt2").pattern.source);
    expect(() => preTokenizerPattern("mystery")).toThrow(`unsupported byte-level BPE pre-tokenizer "mystery" (tokenizer.ggml.pre); supported: ${supportedPreTokenizerNames.join(", ")}`);
  });

  it("keeps text the pattern does not match as words of its own, and drops empty matches", () => {
    expect(splitWords("ab--cd", /b|(?=c)/gu)).toEqual(["a", "b", "--", "cd"]);
    expect(splitWords("xay", /a/gu)).toEqual(["x", "a", "y"]);
    expect(splitWords("", /a/gu)).toEqual([]);
    expect(preTokenize("a1", { pattern: /z/gu, digitsFirst: true })).toEqual(["a", "1"]);
    expect(preTokenize("1a", { pattern: /z/gu, digitsFirst: true })).toEqual(["1", "a"]);
  });
});

describe("byte-level alphabet", () => {
  it("keeps printable bytes and shifts the rest past U+0100 in byte order", () => {
    expect(byteLevelAlphabet).toHaveLength(256);
    expect(byteLevelAlphabet[0x21]).toBe("!");
    expect(byteLevelAlphabet[0x7e]).toBe("~");
    expect(byteLevelAlphabet[0xa1]).toBe("\u00A1");
    expect(byteLevelAlphabet[0xac]).toBe("\u00AC");
    expect(byteLevelAlphabet[0xae]).toBe("\u00AE");
    expect(byteLevelAlphabet[0xff]).toBe("\u00FF");
    expect([0x00, 0x20, 0x7f, 0x80, 0xa0, 0xad].map((byte) => byteLevelAlphabet[byte])).toEqual(["\u0100", "\u0120", "\u0121", "\u0122", "\u0142", "\u0143"]);
    expect(new Set(byteLevelAlphabet).size).toBe(256);
  });

  it("spells bytes and reads them back, keeping characters outside the alphabet as their UTF-8", () => {
    expect(byteLevelEncode(new TextEncoder().encode(" é\n"))).toBe("ĠÃ©Ċ");
    expect(Array.from(byteLevelDecode("ĠÃ©Ċ", (text) => new TextEncoder().encode(text)))).toEqual([0x20, 0xc3, 0xa9, 0x0a]);
    expect(Array.from(byteLevelDecode("a€", (text) => new TextEncoder().encode(text)))).toEqual([0x61, 0xe2, 0x82, 0xac]);
  });
});

describe("byte-level BPE merges", () => {
  const metadata = (extraTokens: string[], merges: string[] | undefined, keys: Record<string, unknown> = {}) => {
    const tokens = [...byteLevelAlphabet, ...extraTokens];
    return {
      "tokenizer.ggml.model": "gpt2",
      "tokenizer.ggml.tokens": tokens,
      "tokenizer.ggml.token_type": tokens.map(() => GgufTokenType.normal),
      ...(merges === undefined ? {} : { "tokenizer.ggml.merges": merges }),
      ...keys,
    };
  };
  const spell = (tokenizer: ReturnType<typeof tokenizerFromGgufMetadata>, text: string) =>
    tokenizer.encode(text, { addSpecialTokens: false }).map((id) => tokenizer.idToToken(id)).join("|");

  it("applies merges by rank, leftmost first on ties, and pairs the merged symbol with its new neighbours", () => {
    const tokenizer = tokenizerFromGgufMetadata(metadata(["ab", "bc", "abc", "aa", "aaa", "aaaa"], ["b c", "a b", "a bc", "a a", "aa aa", "aa a"]));
    expect(spell(tokenizer, "abc")).toBe("abc"); // b+c (rank 0), then a+bc (rank 2)
    expect(spell(tokenizer, "ab")).toBe("ab");
    expect(spell(tokenizer, "aaa")).toBe("aaa"); // the left a+a, then aa+a
    expect(spell(tokenizer, "aaaa")).toBe("aaaa"); // a+a twice, then aa+aa (rank 4) before the stale aa+a
    expect(spell(tokenizer, "cab")).toBe("c|ab");
    const reversed = tokenizerFromGgufMetadata(metadata(["ab", "bc"], ["a b", "b c"]));
    expect(spell(reversed, "abc")).toBe("ab|c");
    const noLeftMerge = tokenizerFromGgufMetadata(metadata(["aa"], ["a a"]));
    expect(spell(noLeftMerge, "aaa")).toBe("aa|a");
    const rightPair = tokenizerFromGgufMetadata(metadata(["aa", "aaa"], ["a a", "a aa"]));
    expect(spell(rightPair, "aaa")).toBe("aa|a"); // the left a+a first leaves aa+a, which is no merge
  });

  it("pairs a symbol only with neighbours that exist: nothing merges past either end of a word", () => {
    // A missing neighbour read as a symbol would spell "undefined": merges and tokens with that text must never apply.
    const edges = tokenizerFromGgufMetadata(metadata(["ab", "undefinedab", "abundefined", "bundefined", "undefineda"], ["b undefined", "undefined a", "a b", "undefined ab", "ab undefined"]));
    expect(spell(edges, "ab")).toBe("ab");
    expect(spell(edges, "b")).toBe("b");
  });

  it("keeps the first rank of a repeated merge", () => {
    const tokenizer = tokenizerFromGgufMetadata(metadata(["ab", "bc"], ["a b", "b c", "a b"]));
    expect(spell(tokenizer, "abc")).toBe("ab|c");
  });

  it("spells a merged piece that is no token by its characters, leaving out characters without a token", () => {
    expect(spell(tokenizerFromGgufMetadata(metadata([], ["x y"])), "xyz")).toBe("x|y|z");
    const alphabet = [...byteLevelAlphabet];
    const withoutZ = {
      ...metadata([], []),
      "tokenizer.ggml.tokens": alphabet.map((character) => (character === "z" ? "[no z]" : character)),
    };
    expect(spell(tokenizerFromGgufMetadata(withoutZ), "azb")).toBe("a|b");
    expect(spell(tokenizerFromGgufMetadata({ ...withoutZ, "tokenizer.ggml.merges": ["a z"] }), "az")).toBe("a");
  });

  it("refuses a vocabulary without merges and malformed merges, naming the rank", () => {
    expect(() => tokenizerFromGgufMetadata(metadata([], undefined))).toThrow("byte-level BPE vocabulary has no tokenizer.ggml.merges");
    expect(() => tokenizerFromGgufMetadata(metadata([], ["a b", "ab"]))).toThrow('malformed merge "ab" at rank 1');
    expect(() => tokenizerFromGgufMetadata(metadata([], [" ab"]))).toThrow('malformed merge " ab" at rank 0');
  });

  it("takes a word that is a token whole only with ignore_merges (Llama 3), and adds BOS by the family's default", () => {
    const keys = { "tokenizer.ggml.bos_token_id": 257 };
    const llama3 = tokenizerFromGgufMetadata(metadata(["ab", "<s>"], [], { ...keys, "tokenizer.ggml.pre": "llama-bpe" }));
    const qwen2 = tokenizerFromGgufMetadata(metadata(["ab", "<s>"], [], { ...keys, "tokenizer.ggml.pre": "qwen2" }));
    expect(llama3).toBeInstanceOf(ByteLevelBpeTokenizer);
    expect((llama3 as ByteLevelBpeTokenizer).preTokenizer.family).toBe("llama3");
    expect(llama3.encode("ab")).toEqual([257, 256]);
    expect(qwen2.encode("ab")).toEqual([0x61, 0x62]); // ids 0..255 are the alphabet in byte order
    const qwen2WithBos = tokenizerFromGgufMetadata(metadata(["ab", "<s>"], [], { ...keys, "tokenizer.ggml.pre": "qwen2", "tokenizer.ggml.add_bos_token": true }));
    expect(qwen2WithBos.encode("ab")).toEqual([257, 0x61, 0x62]);
  });

  it("ends a GLM-4 turn at the file's own end-of-turn token when it names one", () => {
    const glm = (keys: Record<string, unknown>) =>
      tokenizerFromGgufMetadata({
        ...metadata(["<|endoftext|>", "<|user|>", "<|observation|>", "<|end|>"], [], { "tokenizer.ggml.pre": "chatglm-bpe", "tokenizer.ggml.eos_token_id": 256, ...keys }),
        "tokenizer.ggml.token_type": [...byteLevelAlphabet.map(() => GgufTokenType.normal), 3, 3, 3, 1],
      });
    expect(glm({}).eosTokenIds).toEqual([256, 257, 258]);
    expect(glm({ "tokenizer.ggml.eot_token_id": 259, "tokenizer.ggml.eom_token_id": 256, "tokenizer.ggml.bos_token_id": 257, "tokenizer.ggml.add_bos_token": true })).toMatchObject({
      eosTokenIds: [256, 259], bosTokenId: undefined, addBosToken: false,
    });
    const withoutMarkers = tokenizerFromGgufMetadata(metadata(["<|endoftext|>"], [], { "tokenizer.ggml.pre": "glm4", "tokenizer.ggml.eos_token_id": 256 }));
    expect(withoutMarkers.eosTokenIds).toEqual([256]);
  });
});
