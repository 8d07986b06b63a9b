// Tests streaming detokenization: multi-byte characters (emoji, CJK) split across byte-fallback tokens and across
// byte-level tokens are released only when complete, the pieces add up to decode(), and SentencePiece's leading
// space is dropped at the start of text but kept after context. Covers the byte path and the text-only fallback.

import { describe, expect, it } from "vitest";
import { createStreamDecoder, GgufTokenType, loadHfTokenizer, tokenizerFromGgufMetadata, type TextTokenizer } from "../src/index.ts";
import { readGgufMetadataForTests } from "./gguf-metadata.ts";
import { sharedModelPath, sharedModelsPresent } from "./shared-models.ts";

function streamAll(tokenizer: TextTokenizer, ids: readonly number[], options = {}): string[] {
  const decoder = createStreamDecoder(tokenizer, options);
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  return pieces;
}

/** The same tokenizer seen without decodeBytes, to exercise the text-only streaming path. */
function withoutDecodeBytes(tokenizer: TextTokenizer): TextTokenizer {
  return {
    encode: (text, options) => tokenizer.encode(text, options),
    decode: (ids, options) => tokenizer.decode(ids, options),
    bosTokenId: tokenizer.bosTokenId,
    eosTokenIds: tokenizer.eosTokenIds,
    vocabSize: tokenizer.vocabSize,
    tokenToId: (token) => tokenizer.tokenToId(token),
    idToToken: (id) => tokenizer.idToToken(id),
  };
}

function expectCleanStream(tokenizer: TextTokenizer, text: string, options: { skipSpecialTokens?: boolean } = {}): string[] {
  const ids = tokenizer.encode(text);
  const pieces = streamAll(tokenizer, ids, options);
  expect(pieces.join("")).toBe(tokenizer.decode(ids, options));
  for (const piece of pieces) expect(piece).not.toContain("\uFFFD");
  return pieces;
}

describe("stream decoder on a tiny byte-fallback vocabulary", () => {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types: number[] = [GgufTokenType.unknown, GgufTokenType.control, GgufTokenType.control];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(GgufTokenType.byte);
  }
  tokens.push("▁", "▁a", "a");
  types.push(1, 1, 1);
  const tokenizer = tokenizerFromGgufMetadata({
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.scores": tokens.map(() => 0),
    "tokenizer.ggml.token_type": types,
  });

  for (const [name, subject] of [["byte path", tokenizer], ["text path", withoutDecodeBytes(tokenizer)]] as const) {
    it(`holds back each byte of "€" until the character is complete (${name})`, () => {
      const ids = tokenizer.encode("a€a"); // <s> ▁a <0xE2> <0x82> <0xAC> a
      expect(ids.map((id) => tokenizer.idToToken(id))).toEqual(["<s>", "▁a", "<0xE2>", "<0x82>", "<0xAC>", "a"]);
      expect(streamAll(subject, ids, { skipSpecialTokens: true })).toEqual(["", "a", "", "", "€", "a", ""]);
      expect(streamAll(subject, ids)).toEqual(["<s>", " a", "", "", "€", "a", ""]);
    });
  }

  it("drops the leading space at the start of text but keeps it after context", () => {
    const id = (token: string) => tokenizer.tokenToId(token)!;
    expect(streamAll(tokenizer, [id("▁a"), id("▁a")])).toEqual(["a", " a", ""]);
    expect(streamAll(tokenizer, [id("▁a")], { contextIds: [1, id("▁a")] })).toEqual([" a", ""]);
    expect(streamAll(withoutDecodeBytes(tokenizer), [id("▁a")], { contextIds: [1, id("▁a")] })).toEqual([" a", ""]);
  });

  it("flushes an incomplete character as U+FFFD", () => {
    const decoder = createStreamDecoder(tokenizer);
    expect(decoder.push(tokenizer.tokenToId("<0xE2>")!)).toBe("");
    expect(decoder.flush()).toBe("\uFFFD");
  });
});

const mixedText = "Hello 🦙 and 🚀 (normal) 😶‍🌫️ 我想在apple工作 ✅ Ünïcödé — done";

describe.skipIf(!sharedModelsPresent("stream decoding with Llama 2 SentencePiece", "llama2-tokenizer/ggml-vocab-llama-spm.gguf"))(
  "stream decoder with the Llama 2 SentencePiece vocabulary",
  () => {
    it("streams emoji and CJK spelled with byte-fallback tokens without splitting characters", () => {
      const tokenizer = tokenizerFromGgufMetadata(readGgufMetadataForTests(sharedModelPath("llama2-tokenizer/ggml-vocab-llama-spm.gguf")));
      const ids = tokenizer.encode(mixedText);
      expect(ids.some((id) => /^<0x[0-9A-F]{2}>$/.test(tokenizer.idToToken(id)!))).toBe(true);
      for (const subject of [tokenizer, withoutDecodeBytes(tokenizer)]) {
        const pieces = expectCleanStream(subject, mixedText, { skipSpecialTokens: true });
        expect(pieces.join("")).toBe(mixedText);
        expect(pieces).toContain("🦙");
      }
    });
  },
);

describe.skipIf(!sharedModelsPresent("stream decoding with Llama 3 byte-level BPE", "llama3.1-tokenizer/tokenizer.json"))(
  "stream decoder with the Llama 3.1 byte-level tokenizer",
  () => {
    it("streams characters split across byte-level tokens", async () => {
      const tokenizer = await loadHfTokenizer(sharedModelPath("llama3.1-tokenizer"));
      for (const subject of [tokenizer, withoutDecodeBytes(tokenizer)]) {
        const pieces = expectCleanStream(subject, mixedText);
        expect(pieces.join("")).toBe(`<|begin_of_text|>${mixedText}`);
        // " 🚀" is three tokens in Llama 3 ("Ġð", "Ł", "ļ"): the emoji comes out with the third one (the byte path
        // releases the space at once, the text path with the emoji).
        const rocket = tokenizer.encode(" 🚀", { addSpecialTokens: false });
        expect(rocket).toHaveLength(3);
        const rocketPieces = streamAll(subject, rocket);
        expect(rocketPieces.join("")).toBe(" 🚀");
        expect(rocketPieces.slice(0, 2).join("").trim()).toBe("");
        expect(rocketPieces[2]).toContain("🚀");
      }
    });
  },
);

describe.skipIf(!sharedModelsPresent("stream decoding with TinyStories", "tinystories-656k-hf/tokenizer.json"))(
  "stream decoder with the TinyStories-656K tokenizer",
  () => {
    it("streams a story after BOS, and continues after any prompt split with the right spaces", async () => {
      const tokenizer = await loadHfTokenizer(sharedModelPath("tinystories-656k-hf"));
      const story = "Once upon a time, there was a little girl named Lily.";
      const pieces = expectCleanStream(tokenizer, story, { skipSpecialTokens: true });
      expect(pieces.join("")).toBe(story);
      const ids = tokenizer.encode(story);
      for (let split = 1; split < ids.length; split++) {
        const prompt = ids.slice(0, split);
        const promptText = tokenizer.decode(prompt, { skipSpecialTokens: true });
        const streamed = streamAll(tokenizer, ids.slice(split), { contextIds: prompt, skipSpecialTokens: true }).join("");
        expect(promptText + streamed).toBe(story);
      }
    });
  },
);
