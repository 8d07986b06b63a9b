// The tiny SentencePiece-style vocabulary every tiny Llama / GLM test model speaks: its exact id layout, its
// tokenizer.json read by Hugging Face's tokenizers library (through the tokenizer package) — normalizer, byte
// fallback, BOS framing, decoder, chat template — and its GGUF form read back from a written file, which must
// tokenize the same text to the same ids.

import fs from "node:fs";
import path from "node:path";

import { chatGlm3ChatTemplate, chatGlm3SpecialTokens, GgufTokenType, hfTokenizerFromJson, loadHfTokenizer, readGgufVocabulary, tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";
import { describe, expect, it } from "vitest";

import { tinyChatGlmGgufTokenizerMetadata, tinyGgufTokenizerMetadata, tinyVocabulary, TINY_CHAT_TEMPLATE, writeTinyHfTokenizer } from "../src/index.ts";
import type { GgufMetadataInput } from "../src/index.ts";
import { metadataThroughGguf } from "./helpers/gguf-metadata.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("tiny-tokenizer");

/** <unk> <s> </s>, 256 byte tokens, then "▁", a–z, A–Z, 0–9 and five punctuation marks. */
const baseSize = 3 + 256 + 1 + 26 + 26 + 10 + 5;
const byteId = (byte: number) => 3 + byte;
const pieceId = (piece: string) => tinyVocabulary(baseSize).indexOf(piece);

const throughGguf = (metadata: Map<string, GgufMetadataInput>) => metadataThroughGguf(temporary(), metadata);

describe("tinyVocabulary", () => {
  it("lays out specials, the 256 byte tokens, single characters, then fillers named by id", () => {
    const tokens = tinyVocabulary(baseSize + 2);
    expect(tokens.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
    expect(tokens.slice(3, 6)).toEqual(["<0x00>", "<0x01>", "<0x02>"]);
    expect(tokens[byteId(0x0a)]).toBe("<0x0A>");
    expect(tokens[byteId(0xff)]).toBe("<0xFF>");
    expect(tokens.slice(259, 263)).toEqual(["\u2581", "a", "b", "c"]);
    expect(tokens.slice(285, 287)).toEqual(["z", "A"]);
    expect(tokens.slice(baseSize - 15)).toEqual([..."0123456789", ".", ",", "!", "?", "'", `<unused${baseSize}>`, `<unused${baseSize + 1}>`]);
    expect(tokens).toHaveLength(baseSize + 2);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(tinyVocabulary(baseSize)).toHaveLength(baseSize);
  });

  it("refuses a vocabulary too small for its own tokens", () => {
    expect(() => tinyVocabulary(baseSize - 1)).toThrow(new RangeError(`tinyVocabulary: needs vocabSize ≥ ${baseSize}, got ${baseSize - 1}`));
  });
});

describe("writeTinyHfTokenizer (read by Hugging Face tokenizers)", () => {
  it("normalizes spaces to ▁, falls back to bytes, adds <s> and decodes back to the text", async () => {
    const directory = temporary();
    writeTinyHfTokenizer(directory, 400);
    const tokenizer = await loadHfTokenizer(directory);
    expect(tokenizer.vocabSize).toBe(400);
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenIds).toEqual([2]);
    const text = "Hi ya!é";
    const ids = [1, pieceId("\u2581"), pieceId("H"), pieceId("i"), pieceId("\u2581"), pieceId("y"), pieceId("a"), pieceId("!"), byteId(0xc3), byteId(0xa9)];
    expect(tokenizer.encode(text)).toEqual(ids);
    expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual(ids.slice(1));
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe(text);
    // <s> and </s> are special: written in the text they are one token each; skipped when decoding.
    expect(tokenizer.encode("</s>", { addSpecialTokens: false })).toEqual([2]);
    expect(tokenizer.decode([1, pieceId("\u2581"), pieceId("a"), 2], { skipSpecialTokens: true })).toBe("a");
    expect(tokenizer.tokenToId("<unused399>")).toBe(399);
    expect(tokenizer.idToToken(byteId(0x41))).toBe("<0x41>");
  });

  it("writes tokenizer_config.json with the special tokens and the Llama 2 style chat template", () => {
    const directory = temporary();
    writeTinyHfTokenizer(directory, 400);
    const config = JSON.parse(fs.readFileSync(path.join(directory, "tokenizer_config.json"), "utf8"));
    expect(config).toEqual({ add_bos_token: true, add_eos_token: false, bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", chat_template: TINY_CHAT_TEMPLATE });
    const json = JSON.parse(fs.readFileSync(path.join(directory, "tokenizer.json"), "utf8"));
    expect(json.added_tokens).toEqual(
      ["<unk>", "<s>", "</s>"].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    );
    expect(json.model).toMatchObject({ type: "BPE", unk_token: "<unk>", byte_fallback: true, fuse_unk: true, merges: [] });
    // Each token at its id (compared as entries: JavaScript lists the keys "0"–"9" first).
    // tokenizer.json alone (as the tokenizers library reads it, without tokenizer_config.json) frames with <s> too.
    const alone = hfTokenizerFromJson(json);
    expect(alone.encode("a")).toEqual([1, pieceId("\u2581"), pieceId("a")]);
    expect(alone.encode("a", { addSpecialTokens: false })).toEqual([pieceId("\u2581"), pieceId("a")]);
    expect(Object.entries(json.model.vocab).sort((a, b) => (a[1] as number) - (b[1] as number))).toEqual(tinyVocabulary(400).map((token, id) => [token, id]));
  });
});

describe("tinyGgufTokenizerMetadata", () => {
  it("types and scores every id as llama.cpp's SentencePiece vocabularies do", () => {
    const vocabulary = readGgufVocabulary(throughGguf(tinyGgufTokenizerMetadata(baseSize + 3)));
    expect(vocabulary.model).toBe("llama");
    expect(vocabulary.tokens).toEqual(tinyVocabulary(baseSize + 3));
    const types = Array.from(vocabulary.tokenTypes);
    expect(types.slice(0, 4)).toEqual([GgufTokenType.unknown, GgufTokenType.control, GgufTokenType.control, GgufTokenType.byte]);
    expect(types.slice(258, 261)).toEqual([GgufTokenType.byte, GgufTokenType.normal, GgufTokenType.normal]);
    expect(types.slice(baseSize - 1)).toEqual([GgufTokenType.normal, GgufTokenType.unused, GgufTokenType.unused, GgufTokenType.unused]);
    const scores = Array.from(vocabulary.scores!);
    expect(scores.slice(0, 259).every((score) => score === 0)).toBe(true);
    expect(scores.slice(259, 262)).toEqual([-259, -260, -261]);
    expect(vocabulary.bosTokenId).toBe(1);
    expect(vocabulary.eosTokenId).toBe(2);
    expect(vocabulary.unknownTokenId).toBe(0);
    expect(vocabulary.addBosToken).toBe(true);
  });

  it("tokenizes as the tokenizer.json does", async () => {
    const directory = temporary();
    writeTinyHfTokenizer(directory, 400);
    const hf = await loadHfTokenizer(directory);
    const metadata = throughGguf(tinyGgufTokenizerMetadata(400));
    expect(metadata.get("tokenizer.chat_template")).toBe(TINY_CHAT_TEMPLATE);
    const gguf = tokenizerFromGgufMetadata(metadata);
    for (const text of ["Hello world.", "  two  spaces", "naïve 42?", "it's\nnew"]) {
      expect(gguf.encode(text), text).toEqual(hf.encode(text));
      expect(gguf.decode(gguf.encode(text), { skipSpecialTokens: true }), text).toBe(text);
    }
  });
});

describe("tinyChatGlmGgufTokenizerMetadata", () => {
  it("puts ChatGLM3's special tokens last, as control tokens, with its template, no BOS and <|user|> ending a turn", () => {
    const size = 400;
    const metadata = throughGguf(tinyChatGlmGgufTokenizerMetadata(size));
    const vocabulary = readGgufVocabulary(metadata);
    const first = size - chatGlm3SpecialTokens.length;
    expect(vocabulary.tokens).toEqual([...tinyVocabulary(first), ...chatGlm3SpecialTokens]);
    expect(metadata.get("tokenizer.ggml.pre")).toBe("chatglm-spm");
    expect(metadata.get("tokenizer.chat_template")).toBe(chatGlm3ChatTemplate);
    expect(metadata.get("tokenizer.ggml.add_bos_token")).toBe(false);
    expect(metadata.get("tokenizer.ggml.eot_token_id")).toBe(vocabulary.tokens.indexOf("<|user|>"));
    expect(metadata.get("tokenizer.ggml.eom_token_id")).toBe(vocabulary.tokens.indexOf("<|observation|>"));
    expect(metadata.get("tokenizer.ggml.eos_token_id")).toBe(2);
    expect(metadata.get("tokenizer.ggml.unknown_token_id")).toBe(0);
    expect(metadata.has("tokenizer.ggml.bos_token_id")).toBe(false);
    const types = Array.from(vocabulary.tokenTypes);
    expect(types.slice(0, 4)).toEqual([GgufTokenType.unknown, GgufTokenType.control, GgufTokenType.control, GgufTokenType.byte]);
    expect(types.slice(first - 1)).toEqual([GgufTokenType.unused, ...chatGlm3SpecialTokens.map(() => GgufTokenType.control)]);
    expect(types[259]).toBe(GgufTokenType.normal);
    const scores = Array.from(vocabulary.scores!);
    expect(scores.slice(first - 1)).toEqual([-(first - 1), ...chatGlm3SpecialTokens.map(() => 0)]);
    expect(scores[259]).toBe(-259);
    expect(scores.slice(0, 259).every((score) => score === 0)).toBe(true);
    const tokenizer = tokenizerFromGgufMetadata(metadata);
    expect(tokenizer.encode("[gMASK]sop<|user|>", { addSpecialTokens: false })).toEqual(["[gMASK]", "sop", "<|user|>"].map((token) => vocabulary.tokens.indexOf(token)));
  });
});
