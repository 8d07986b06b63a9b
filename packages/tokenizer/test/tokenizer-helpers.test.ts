// Tests the small building blocks of the tokenizers without model files: special-token splitting (longest first,
// adjacent and repeated tokens, disabled tokens), the merge loops' priority queue (pop order, ties), end-of-generation
// ids (order, duplicates, invalid ids), the UTF-8 helpers, and the stream decoder's context window and reset on flush.

import { describe, expect, it } from "vitest";
import { byteLevelAlphabet, createStreamDecoder, endOfGenerationTokenTexts, GgufTokenType, tokenizerFromGgufMetadata, type TextTokenizer } from "../src/index.ts";
import { collectEndOfGenerationIds } from "../src/end-of-generation.ts";
import { PriorityQueue } from "../src/priority-queue.ts";
import { SpecialTokenSplitter } from "../src/special-token-splitter.ts";
import { byteFallbackToken, byteFallbackValue, concatenateBytes, utf8Bytes, utf8Text } from "../src/utf8.ts";

describe("SpecialTokenSplitter", () => {
  // Built inside each test (not when the file is collected), so mutation testing knows which tests cover it.
  const splitter = () => new SpecialTokenSplitter([
    { id: 1, text: "<a>" },
    { id: 2, text: "<a><b>" },
    { id: 3, text: "" }, // an empty token text never matches
    { id: 4, text: "<b>" },
    { id: 5, text: "<c>" },
  ]);
  const show = (fragments: ReturnType<SpecialTokenSplitter["split"]>) =>
    fragments.map((fragment) => (fragment.kind === "text" ? fragment.text : `#${fragment.id}`));

  it("splits text around special tokens, trying the longest token first", () => {
    expect(show(splitter().split("x<a><b>y<a>z<b>"))).toEqual(["x", "#2", "y", "#1", "z", "#4"]);
    expect(show(splitter().split("<a><a>"))).toEqual(["#1", "#1"]);
    expect(show(splitter().split("<a>"))).toEqual(["#1"]);
    expect(show(splitter().split("<c>mid<c>"))).toEqual(["#5", "mid", "#5"]);
    expect(show(splitter().split("plain text"))).toEqual(["plain text"]);
    expect(show(splitter().split(""))).toEqual([]);
    expect(show(splitter().split("a<b"))).toEqual(["a<b"]);
    expect(splitter().split("x<a>")).toEqual([{ kind: "text", text: "x" }, { kind: "token", id: 1 }]);
  });

  it("leaves disabled tokens in the text", () => {
    const onlyB = (token: { id: number }) => token.id === 4;
    expect(show(splitter().split("x<a><b>y<c>", onlyB))).toEqual(["x<a>", "#4", "y<c>"]);
    expect(show(splitter().split("<c>", () => false))).toEqual(["<c>"]);
  });

  it("keeps equal-length tokens in the order given", () => {
    const tied = new SpecialTokenSplitter([{ id: 7, text: "ab" }, { id: 8, text: "bc" }]);
    expect(show(tied.split("abc"))).toEqual(["#7", "c"]);
    const reversed = new SpecialTokenSplitter([{ id: 8, text: "bc" }, { id: 7, text: "ab" }]);
    expect(show(reversed.split("abc"))).toEqual(["a", "#8"]);
  });
});

describe("PriorityQueue", () => {
  it("pops items in the order comesFirst ranks them, whatever the push order", () => {
    // A deterministic shuffle of 0..49 with repeats.
    const values = Array.from({ length: 60 }, (_, index) => (index * 37) % 50);
    const queue = new PriorityQueue<number>((a, b) => a < b);
    for (const value of values) queue.push(value);
    expect(queue.size).toBe(60);
    const popped: number[] = [];
    for (let value = queue.pop(); value !== undefined; value = queue.pop()) popped.push(value);
    expect(popped).toEqual([...values].sort((a, b) => a - b));
    expect(queue.size).toBe(0);
    expect(queue.pop()).toBeUndefined();
  });

  it("breaks ties the way the comparison says (the merge loops: leftmost first)", () => {
    const queue = new PriorityQueue<{ rank: number; left: number }>((a, b) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left));
    for (const [rank, left] of [[2, 5], [1, 9], [2, 1], [1, 3], [3, 0], [1, 4]]) queue.push({ rank, left });
    const order: string[] = [];
    for (let item = queue.pop(); item !== undefined; item = queue.pop()) order.push(`${item.rank}@${item.left}`);
    expect(order).toEqual(["1@3", "1@4", "1@9", "2@1", "2@5", "3@0"]);
  });

  it("interleaves pushes and pops", () => {
    const queue = new PriorityQueue<number>((a, b) => a > b);
    queue.push(3);
    queue.push(8);
    expect(queue.pop()).toBe(8);
    queue.push(1);
    queue.push(5);
    expect([queue.pop(), queue.pop(), queue.pop(), queue.pop()]).toEqual([5, 3, 1, undefined]);
  });
});

describe("collectEndOfGenerationIds", () => {
  it("lists the configured ids first, in order and once, then every known end-of-turn token the vocabulary has", () => {
    const special = new Map([["<|im_end|>", 12], ["<|endoftext|>", 3], ["<|eot_id|>", 7]]);
    expect(collectEndOfGenerationIds([7, undefined, 5, 7], (text) => special.get(text))).toEqual([7, 5, 12, 3]);
  });

  it("skips undefined and negative ids; id 0 is a valid id", () => {
    expect(collectEndOfGenerationIds([-1, undefined, 0], () => undefined)).toEqual([0]);
    expect(collectEndOfGenerationIds([], (text) => (text === "<|end|>" ? -1 : undefined))).toEqual([]);
  });

  it("asks for each of llama.cpp's end-of-generation texts, in its order", () => {
    const asked: string[] = [];
    collectEndOfGenerationIds([], (text) => {
      asked.push(text);
      return undefined;
    });
    expect(asked).toEqual(["<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>", "<end_of_utterance>"]);
    expect(endOfGenerationTokenTexts).toEqual(asked);
  });
});

describe("UTF-8 helpers", () => {
  it("parses byte-fallback tokens and nothing else", () => {
    expect(["<0x00>", "<0x0A>", "<0xe2>", "<0xFF>"].map(byteFallbackValue)).toEqual([0, 10, 0xe2, 255]);
    for (const token of ["<0x0>", "<0x100>", "<0xG0>", " <0x41>", "<0x41> ", "0x41", "<0X41>", "<0x41"]) {
      expect(byteFallbackValue(token)).toBeUndefined();
    }
  });

  it("spells bytes as byte-fallback tokens with two upper-case hex digits", () => {
    expect([0, 10, 0xab, 255].map(byteFallbackToken)).toEqual(["<0x00>", "<0x0A>", "<0xAB>", "<0xFF>"]);
  });

  it("joins byte pieces and decodes invalid UTF-8 as U+FFFD", () => {
    expect(Array.from(concatenateBytes([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)]))).toEqual([1, 2, 3]);
    expect(concatenateBytes([])).toHaveLength(0);
    expect(Array.from(utf8Bytes("é€"))).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac]);
    expect(utf8Text(Uint8Array.of(0x61, 0xe2, 0x82))).toBe("a\uFFFD");
  });
});

describe("stream decoder state", () => {
  // <unk> <s> </s>, the 256 byte tokens, then ▁, ▁a, a, b.
  const tokens = ["<unk>", "<s>", "</s>"];
  const types: number[] = [GgufTokenType.unknown, GgufTokenType.control, GgufTokenType.control];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(byteFallbackToken(byte));
    types.push(GgufTokenType.byte);
  }
  tokens.push("▁", "▁a", "a", "b");
  types.push(1, 1, 1, 1);
  const tokenizer = tokenizerFromGgufMetadata({
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": tokens,
    "tokenizer.ggml.token_type": types,
  });
  const id = (token: string) => tokenizer.tokenToId(token)!;
  const textOnly: TextTokenizer = {
    encode: (text, options) => tokenizer.encode(text, options),
    decode: (ids, options) => tokenizer.decode(ids, options),
    eosTokenIds: tokenizer.eosTokenIds,
    vocabSize: tokenizer.vocabSize,
    tokenToId: (token) => tokenizer.tokenToId(token),
    idToToken: (tokenId) => tokenizer.idToToken(tokenId),
  };

  for (const [name, subject] of [["byte path", tokenizer], ["text path", textOnly]] as const) {
    it(`starts again from the context after flush (${name})`, () => {
      const decoder = createStreamDecoder(subject);
      expect([decoder.push(id("▁a")), decoder.push(id("▁a")), decoder.flush()]).toEqual(["a", " a", ""]);
      expect([decoder.push(id("▁a")), decoder.flush()]).toEqual(["a", ""]);
      const withContext = createStreamDecoder(subject, { contextIds: [id("b")] });
      expect([withContext.push(id("▁a")), withContext.flush(), withContext.push(id("▁a")), withContext.flush()]).toEqual([" a", "", " a", ""]);
    });

    it(`flushes a held-back incomplete character as U+FFFD and then starts clean (${name})`, () => {
      const decoder = createStreamDecoder(subject);
      expect(decoder.push(id("<0xE2>"))).toBe("");
      expect(decoder.push(id("<0x82>"))).toBe("");
      expect(decoder.flush()).toBe("\uFFFD");
      expect([decoder.push(id("a")), decoder.push(id("<0xC3>")), decoder.push(id("<0xA9>")), decoder.push(id("b")), decoder.flush()]).toEqual(["a", "", "é", "b", ""]);
    });

    it(`keeps the pieces equal to decode() after a long context, special tokens kept or skipped (${name})`, () => {
      const context = [id("<s>"), id("a"), id("b"), id("a"), id("b"), id("▁")];
      const generated = [id("▁a"), id("<0xE2>"), id("<0x82>"), id("<0xAC>"), id("b"), id("<s>"), id("▁a"), id("▁"), id("a")];
      for (const skipSpecialTokens of [false, true]) {
        const decoder = createStreamDecoder(subject, { contextIds: context, skipSpecialTokens });
        const pieces = [...generated.map((tokenId) => decoder.push(tokenId)), decoder.flush()];
        const whole = tokenizer.decode([...context, ...generated], { skipSpecialTokens });
        const before = tokenizer.decode(context, { skipSpecialTokens });
        expect(before + pieces.join("")).toBe(whole);
        expect(pieces.slice(1, 4)).toEqual(["", "", "€"]);
      }
      // After the context "▁" (a space), the first token's own space is kept.
      expect(createStreamDecoder(subject, { contextIds: context }).push(id("▁a"))).toBe(" a");
    });

    it(`keeps a token's leading space after a skipped special token, and drops it at the start of text (${name})`, () => {
      const stream = (contextIds: number[], ids: number[]) => {
        const decoder = createStreamDecoder(subject, { contextIds, skipSpecialTokens: true });
        return [...ids.map((tokenId) => decoder.push(tokenId)), decoder.flush()];
      };
      expect(stream([], [id("b"), id("</s>"), id("<s>"), id("▁a")])).toEqual(["b", "", "", " a", ""]);
      expect(stream([id("b"), id("</s>"), id("<s>")], [id("▁a")])).toEqual([" a", ""]);
      expect(stream([id("<s>"), id("</s>")], [id("▁a"), id("</s>"), id("▁a")])).toEqual(["a", "", " a", ""]);
      expect(stream([], [id("<s>"), id("▁"), id("▁a")])).toEqual(["", "", " a", ""]);
    });
  }

  it("skips special tokens only when asked", () => {
    const ids = [id("<s>"), id("▁a"), id("</s>"), id("b")];
    const stream = (skipSpecialTokens: boolean) => {
      const decoder = createStreamDecoder(textOnly, { skipSpecialTokens });
      return [...ids.map((tokenId) => decoder.push(tokenId)), decoder.flush()];
    };
    expect(stream(false)).toEqual(["<s>", " a", "</s>", "b", ""]);
    expect(stream(true)).toEqual(["", "a", "", "b", ""]);
  });
});

describe("stream decoder paths", () => {
  it("releases a space at once on the byte path but holds it with the incomplete character on the text path", () => {
    // A byte-level token spelling a space and the first byte of "€" (E2 82 AC), as Llama 3's "Ġð" does for emoji.
    const spaceAndLead = byteLevelAlphabet[0x20] + byteLevelAlphabet[0xe2];
    const tokens = [...byteLevelAlphabet, spaceAndLead];
    const tokenizer = tokenizerFromGgufMetadata({
      "tokenizer.ggml.model": "gpt2",
      "tokenizer.ggml.tokens": tokens,
      "tokenizer.ggml.token_type": tokens.map(() => GgufTokenType.normal),
      "tokenizer.ggml.merges": [`${byteLevelAlphabet[0x20]} ${byteLevelAlphabet[0xe2]}`],
    });
    const ids = [0x61, 256, 0x82, 0xac];
    expect(tokenizer.decode(ids)).toBe("a €");
    const stream = (subject: TextTokenizer) => {
      const decoder = createStreamDecoder(subject);
      return [...ids.map((id) => decoder.push(id)), decoder.flush()];
    };
    expect(stream(tokenizer)).toEqual(["a", " ", "", "€", ""]);
    const textOnly: TextTokenizer = {
      encode: (text) => tokenizer.encode(text),
      decode: (tokenIds, options) => tokenizer.decode(tokenIds, options),
      eosTokenIds: [],
      vocabSize: tokenizer.vocabSize,
      tokenToId: (token) => tokenizer.tokenToId(token),
      idToToken: (id) => tokenizer.idToToken(id),
    };
    expect(stream(textOnly)).toEqual(["a", "", "", " €", ""]);
  });
});
