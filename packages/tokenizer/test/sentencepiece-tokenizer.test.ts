// Tests the SentencePiece tokenizer on GGUF-embedded vocabularies: llama.cpp's reference tokenizations for the
// Llama 2 vocabulary (ggml-vocab-llama-spm.gguf), stories260K's vocabulary, and a tiny hand-made vocabulary
// (always runs) for score order, tie breaking, byte fallback and special tokens.

import { beforeAll, describe, expect, it } from "vitest";
import { GgufTokenType, SentencePieceTokenizer, tokenizerFromGgufMetadata } from "../src/index.ts";
import { readGgufMetadataForTests } from "./gguf-metadata.ts";
import { sharedModelPath, sharedModelsPresent } from "./shared-models.ts";
import { checkTestVectors, readTestVectors, testVectorFiles } from "./test-vectors.ts";

/** A tiny SentencePiece vocabulary: <unk>, <s>, </s>, 256 byte tokens, then scored pieces. */
function tinyVocabulary(pieces: [string, number][], extra: [string, number][] = []): Map<string, unknown> {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types: number[] = [GgufTokenType.unknown, GgufTokenType.control, GgufTokenType.control];
  const scores = [0, 0, 0];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(GgufTokenType.byte);
    scores.push(0);
  }
  for (const [piece, score] of pieces) {
    tokens.push(piece);
    types.push(GgufTokenType.normal);
    scores.push(score);
  }
  for (const [piece, type] of extra) {
    tokens.push(piece);
    types.push(type);
    scores.push(0);
  }
  return new Map<string, unknown>([
    ["tokenizer.ggml.model", "llama"],
    ["tokenizer.ggml.tokens", tokens],
    ["tokenizer.ggml.scores", Float32Array.from(scores)],
    ["tokenizer.ggml.token_type", Int32Array.from(types)],
    ["tokenizer.ggml.bos_token_id", 1],
    ["tokenizer.ggml.eos_token_id", 2],
  ]);
}

describe("SentencePiece tokenizer on a tiny vocabulary", () => {
  const pieces: [string, number][] = [
    ["▁", -1], ["h", -2], ["e", -2], ["l", -2], ["o", -2], ["a", -2],
    ["ll", -3], ["he", -4], ["▁h", -5], ["llo", -6], ["▁he", -7], ["▁hello", -8], ["▁hell", -9],
  ];
  const tokenizer = tokenizerFromGgufMetadata(tinyVocabulary(pieces, [["<tool>", GgufTokenType.userDefined]]));
  const id = (token: string) => tokenizer.tokenToId(token)!;

  it("is chosen for tokenizer.ggml.model = llama with llama.cpp's defaults", () => {
    expect(tokenizer).toBeInstanceOf(SentencePieceTokenizer);
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenIds).toEqual([2]);
    expect(tokenizer.vocabSize).toBe(3 + 256 + pieces.length + 1);
  });

  it("reads metadata typed as the GGUF writer takes it ({ type, value }) like plain values", () => {
    const typed = tinyVocabulary(pieces);
    typed.set("tokenizer.ggml.bos_token_id", { type: "uint32", value: 1 });
    typed.set("tokenizer.ggml.eos_token_id", { type: "uint32", value: 2 });
    typed.set("tokenizer.ggml.add_bos_token", { type: "bool", value: false });
    const fromTyped = tokenizerFromGgufMetadata(typed);
    expect(fromTyped.bosTokenId).toBe(1);
    expect(fromTyped.eosTokenIds).toEqual([2]);
    expect(fromTyped.encode("hello")).toEqual([id("▁hello")]);
  });

  it("merges the highest-scoring pair first and reaches whole words", () => {
    // ▁ h e l l o → "ll" (-3) → "he" (-4) → ("▁h" is stale) → "llo" (-6) → "▁he" (-7) → "▁hello" (-8).
    expect(tokenizer.encode("hello", { addSpecialTokens: false })).toEqual([id("▁hello")]);
    expect(tokenizer.encode("hello")).toEqual([1, id("▁hello")]);
  });

  it("breaks score ties leftmost", () => {
    // ▁ l l l: "ll" can merge at positions 1 and 2 with the same score; the leftmost one wins.
    expect(tokenizer.encode("lll", { addSpecialTokens: false })).toEqual([id("▁"), id("ll"), id("l")]);
  });

  it("spells unknown characters with byte-fallback tokens and decodes them back", () => {
    const ids = tokenizer.encode("hé", { addSpecialTokens: false });
    expect(ids).toEqual([id("▁h"), id("<0xC3>"), id("<0xA9>")]);
    expect(tokenizer.decode(ids)).toBe("hé");
  });

  it("matches special tokens in text only when parsing them, user-defined tokens always", () => {
    expect(tokenizer.encode("<s>hello", { addSpecialTokens: false })).toEqual([1, id("▁hello")]);
    const literal = tokenizer.encode("<s>hello", { addSpecialTokens: false, parseSpecialTokens: false });
    expect(literal).not.toContain(1);
    expect(tokenizer.decode(literal)).toBe("<s>hello");
    expect(tokenizer.encode("a<tool>", { addSpecialTokens: false, parseSpecialTokens: false })).toEqual([
      id("▁"), id("a"), id("<tool>"),
    ]);
  });

  it("removes the dummy prefix space when decoding and can skip control tokens", () => {
    const ids = tokenizer.encode("hello hello");
    expect(tokenizer.decode(ids)).toBe("<s> hello hello");
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe("hello hello");
  });

  it("honours add_bos_token, add_eos_token and add_space_prefix from the metadata", () => {
    const metadata = tinyVocabulary(pieces);
    metadata.set("tokenizer.ggml.add_bos_token", false);
    metadata.set("tokenizer.ggml.add_eos_token", true);
    metadata.set("tokenizer.ggml.add_space_prefix", false);
    const other = tokenizerFromGgufMetadata(metadata);
    expect(other.encode("he")).toEqual([id("he"), 2]);
    expect(other.decode([id("▁hello")])).toBe(" hello");
  });

  it("rejects metadata without a tokenizer", () => {
    expect(() => tokenizerFromGgufMetadata(new Map())).toThrow(/tokenizer.ggml.model/);
    expect(() => tokenizerFromGgufMetadata({ "tokenizer.ggml.model": "bert", "tokenizer.ggml.tokens": ["a"] })).toThrow(
      /unsupported GGUF tokenizer model "bert"/,
    );
  });
});

const llamaSpmPresent = sharedModelsPresent(
  "SentencePiece ggml-vocab-llama-spm",
  "llama2-tokenizer/ggml-vocab-llama-spm.gguf",
  ...testVectorFiles("llama-spm"),
);

describe.skipIf(!llamaSpmPresent)("SentencePiece tokenizer from ggml-vocab-llama-spm.gguf (Llama 2 vocabulary)", () => {
  let tokenizer: ReturnType<typeof tokenizerFromGgufMetadata>;
  beforeAll(() => {
    tokenizer = tokenizerFromGgufMetadata(readGgufMetadataForTests(sharedModelPath("llama2-tokenizer/ggml-vocab-llama-spm.gguf")));
  });

  it("reproduces all of llama.cpp's reference tokenizations (which have no BOS)", () => {
    const vectors = readTestVectors("llama-spm");
    // The .out files hold no BOS: "Hello world" is "15043 3186", not "1 15043 3186".
    expect(vectors.find((vector) => vector.text === "Hello world")?.ids).toEqual([15043, 3186]);
    const result = checkTestVectors(vectors, (text) => tokenizer.encode(text, { addSpecialTokens: false }));
    console.log(`ggml-vocab-llama-spm with the GGUF-embedded vocabulary (SentencePiece): ${result.matched}/${result.total} match`);
    expect(result.mismatches).toEqual([]);
    expect(result.total).toBe(46);
  });

  it("round-trips decode(encode(text)) on the reference inputs", () => {
    for (const { text } of readTestVectors("llama-spm")) {
      expect(tokenizer.decode(tokenizer.encode(text, { addSpecialTokens: false }))).toBe(text);
    }
  });

  it("adds BOS by default and knows the special tokens", () => {
    expect(tokenizer.encode("Hello world")).toEqual([1, 15043, 3186]);
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenIds).toEqual([2]);
    expect(tokenizer.vocabSize).toBe(32000);
    expect(tokenizer.decode([1, 15043, 3186, 2], { skipSpecialTokens: true })).toBe("Hello world");
  });
});

describe.skipIf(!sharedModelsPresent("SentencePiece stories260K", "stories260K-gguf/stories260K.gguf"))(
  "SentencePiece tokenizer from stories260K.gguf (512-token vocabulary)",
  () => {
    it("decodes the model's reference greedy tokens and round-trips text", () => {
      const tokenizer = tokenizerFromGgufMetadata(readGgufMetadataForTests(sharedModelPath("stories260K-gguf/stories260K.gguf")));
      const greedy = [
        1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408,
        419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
      ];
      const text = tokenizer.decode(greedy, { skipSpecialTokens: true });
      expect(text.startsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.")).toBe(true);
      const story = "Once upon a time, there was a little girl named Lily. 😀 Ünïcödé!";
      const ids = tokenizer.encode(story);
      expect(ids[0]).toBe(1);
      expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe(story);
    });
  },
);
