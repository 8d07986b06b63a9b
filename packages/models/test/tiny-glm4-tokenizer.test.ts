// The tiny GLM-4-style byte-level BPE vocabulary the tiny GLM-4 models speak: its id layout and merges, its
// tokenizer.json as Hugging Face's tokenizers library reads it (GLM-4's regex split, whole words from the merges,
// special tokens, end-of-turn ids from generation_config.json), its tiktoken tokenizer.model lines, and its GGUF
// metadata read back from a written file, which must tokenize the same text to the same ids.

import fs from "node:fs";
import path from "node:path";

import { byteLevelAlphabet, byteLevelEncode, GgufTokenType, glm4SpecialTokens, loadHfTokenizer, readGgufVocabulary, tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";
import { beforeEach, describe, expect, it } from "vitest";

import {
  GLM4_SPLIT_PATTERN,
  TINY_GLM4_CHAT_TEMPLATE,
  tinyGlm4GgufTokenizerMetadata,
  tinyGlm4Vocabulary,
  type TinyGlm4Vocabulary,
  writeTinyGlm4HfTokenizer,
  writeTinyGlm4TiktokenModel,
} from "../src/index.ts";
import type { GgufMetadataInput } from "../src/index.ts";
import { metadataThroughGguf } from "./helpers/gguf-metadata.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("tiny-glm4-tokenizer");
const size = 400;
// Built before each test, not while the file is collected nor once in beforeAll: StrykerJS switches its mutant on
// when the tests start and counts only what runs in a test or its beforeEach as that test's coverage, so a builder
// run earlier is never checked against its mutants.
let vocabulary: TinyGlm4Vocabulary;
let first: number;
beforeEach(() => {
  vocabulary = tinyGlm4Vocabulary(size);
  first = vocabulary.special.get(glm4SpecialTokens[0])!;
});
/** A text's byte-level spelling (what the vocabulary stores for a merged word). */
const spelled = (text: string) => byteLevelEncode(new TextEncoder().encode(text));
const idOf = (text: string) => vocabulary.tokens.indexOf(spelled(text));

const throughGguf = (metadata: Map<string, GgufMetadataInput>) => metadataThroughGguf(temporary(), metadata);

describe("tinyGlm4Vocabulary", () => {
  it("lays out the byte alphabet, one token per merge, GLM-4's special tokens, then [PAD<id>] rows", () => {
    expect(vocabulary.tokens.slice(0, 256)).toEqual(byteLevelAlphabet);
    expect(vocabulary.tokens).toHaveLength(size);
    expect(vocabulary.merges).toHaveLength(first - 256);
    vocabulary.merges.forEach((merge, rank) => expect(vocabulary.tokens[256 + rank], merge).toBe(merge.replace(" ", "")));
    expect(new Set(vocabulary.merges).size).toBe(vocabulary.merges.length);
    // Each merge makes the next token, left to right: " the" is " t", " th", " the".
    expect(vocabulary.merges.slice(0, 3)).toEqual([`${spelled(" ")} t`, `${spelled(" t")} h`, `${spelled(" th")} e`]);
    expect(vocabulary.tokens.slice(256, 259)).toEqual([spelled(" t"), spelled(" th"), spelled(" the")]);
    // Words that share a prefix reuse its tokens: " sea" and " ship" add no second " s".
    expect(vocabulary.tokens.filter((token) => token === spelled(" s"))).toHaveLength(1);
    for (const word of ["Hello", " Hello", "你好", "世界", "，", "    ", "();", "123", " 12"]) expect(idOf(word), word).toBeGreaterThan(255);
    expect(idOf(" 123")).toBe(-1);
    expect(vocabulary.tokens.slice(first, first + glm4SpecialTokens.length)).toEqual(glm4SpecialTokens);
    expect([...vocabulary.special]).toEqual(glm4SpecialTokens.map((text, index) => [text, first + index]));
    const padding = first + glm4SpecialTokens.length;
    expect(vocabulary.tokens.slice(padding, padding + 2)).toEqual([`[PAD${padding}]`, `[PAD${padding + 1}]`]);
    expect(vocabulary.tokens[size - 1]).toBe(`[PAD${size - 1}]`);
    expect(tinyGlm4Vocabulary(padding).tokens).toHaveLength(padding);
  });

  it("refuses a vocabulary too small for its tokens", () => {
    const needed = first + glm4SpecialTokens.length;
    expect(() => tinyGlm4Vocabulary(needed - 1)).toThrow(new RangeError(`tinyGlm4Vocabulary: needs vocabSize ≥ ${needed}, got ${needed - 1}`));
  });
});

describe("writeTinyGlm4HfTokenizer (read by Hugging Face tokenizers)", () => {
  it("splits as GLM-4 does, merges whole words, parses special tokens and ends turns at <|endoftext|>, <|user|>, <|observation|>", async () => {
    const directory = temporary();
    writeTinyGlm4HfTokenizer(directory, vocabulary);
    const tokenizer = await loadHfTokenizer(directory);
    expect(tokenizer.encode("Hello world")).toEqual([idOf("Hello"), idOf(" world")]);
    // Letters run together, digits go in threes, Chinese words come from the merges.
    expect(tokenizer.encode("你好世界")).toEqual([idOf("你好"), idOf("世界")]);
    expect(tokenizer.encode("123456")).toEqual([idOf("123"), ...Array.from("456", (digit) => idOf(digit))]);
    // A space before digits stays alone (the split has no " ?" before \p{N}), so the merged " 12" is never used.
    expect(tokenizer.encode(" 12 the")).toEqual([idOf(" "), idOf("12"), idOf(" the")]);
    expect(tokenizer.encode("[gMASK]<sop><|user|>\nhi")).toEqual([
      vocabulary.special.get("[gMASK]"),
      vocabulary.special.get("<sop>"),
      vocabulary.special.get("<|user|>"),
      idOf("\n"),
      idOf("h"),
      idOf("i"),
    ]);
    expect(tokenizer.eosTokenIds).toEqual(["<|endoftext|>", "<|user|>", "<|observation|>"].map((text) => vocabulary.special.get(text)));
    expect(tokenizer.bosTokenId).toBeUndefined();
    // Padding rows are not in the file's vocabulary.
    expect(tokenizer.tokenToId(`[PAD${size - 1}]`)).toBeUndefined();
    const text = "  def f():\n\n    return 12;。";
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it("writes GLM-4's tokenizer.json, tokenizer_config.json and generation_config.json layout", () => {
    const directory = temporary();
    writeTinyGlm4HfTokenizer(directory, vocabulary);
    const read = (name: string) => JSON.parse(fs.readFileSync(path.join(directory, name), "utf8"));
    const special = (text: string) => vocabulary.special.get(text)!;
    expect(read("tokenizer_config.json")).toEqual({
      chat_template: TINY_GLM4_CHAT_TEMPLATE,
      eos_token: "<|endoftext|>",
      pad_token: "<|endoftext|>",
      clean_up_tokenization_spaces: false,
      tokenizer_class: "PreTrainedTokenizerFast",
    });
    expect(read("generation_config.json")).toEqual({ eos_token_id: [special("<|endoftext|>"), special("<|user|>"), special("<|observation|>")], pad_token_id: special("<|endoftext|>") });
    const json = read("tokenizer.json");
    expect(json.pre_tokenizer).toEqual({
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: GLM4_SPLIT_PATTERN }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    });
    expect(json.post_processor).toBeNull();
    expect(json.normalizer).toBeNull();
    expect(json.decoder).toEqual({ type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true });
    expect(json.added_tokens).toEqual(
      glm4SpecialTokens.map((content) => ({ id: special(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    );
    expect(json.model).toMatchObject({ type: "BPE", unk_token: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, merges: vocabulary.merges });
    // The BPE vocab holds the regular tokens only: neither the special tokens nor the padding rows.
    expect(Object.entries(json.model.vocab).sort((a, b) => (a[1] as number) - (b[1] as number))).toEqual(vocabulary.tokens.slice(0, first).map((token, id) => [token, id]));
  });
});

describe("writeTinyGlm4TiktokenModel", () => {
  it("writes each regular token's bytes in base64 with its rank, one per line", () => {
    const directory = temporary();
    writeTinyGlm4TiktokenModel(directory, vocabulary);
    const text = fs.readFileSync(path.join(directory, "tokenizer.model"), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    expect(lines).toHaveLength(first);
    const byteOf = new Map(byteLevelAlphabet.map((character, byte) => [character, byte]));
    lines.forEach((line, index) => {
      const [base64, id] = line.split(" ");
      expect(Number(id)).toBe(index);
      expect([...Buffer.from(base64, "base64")], line).toEqual(Array.from(vocabulary.tokens[index], (character) => byteOf.get(character)));
    });
    expect(lines[0]).toBe("AA== 0"); // id 0 is byte 0
    expect(lines[0x41]).toBe(`${Buffer.from("A").toString("base64")} 65`);
    expect(lines[idOf("你好")]).toBe(`${Buffer.from("你好").toString("base64")} ${idOf("你好")}`);
    expect(lines[idOf(" the")]).toBe(`${Buffer.from(" the").toString("base64")} ${idOf(" the")}`);
  });
});

describe("tinyGlm4GgufTokenizerMetadata", () => {
  it("is what llama.cpp's converter writes for GLM-4, read back from a file", () => {
    const written = tinyGlm4GgufTokenizerMetadata(vocabulary);
    expect([...written.keys()]).toEqual([
      "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
      "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.chat_template",
    ]);
    expect(written.get("tokenizer.ggml.eot_token_id")).toEqual({ type: "uint32", value: vocabulary.special.get("<|user|>") });
    const metadata = throughGguf(tinyGlm4GgufTokenizerMetadata(vocabulary));
    const read = readGgufVocabulary(metadata);
    expect(read.model).toBe("gpt2");
    expect(read.preTokenizer).toBe("chatglm-bpe");
    expect(read.tokens).toEqual(vocabulary.tokens);
    expect(read.merges).toEqual(vocabulary.merges);
    const types = Array.from(read.tokenTypes);
    expect(types.slice(first - 1, first + 1)).toEqual([GgufTokenType.normal, GgufTokenType.control]);
    expect(types.slice(first + glm4SpecialTokens.length - 1, first + glm4SpecialTokens.length + 1)).toEqual([GgufTokenType.control, GgufTokenType.unused]);
    expect(types[0]).toBe(GgufTokenType.normal);
    expect(read.bosTokenId).toBe(vocabulary.special.get("[gMASK]"));
    expect(read.eosTokenId).toBe(vocabulary.special.get("<|endoftext|>"));
    expect(read.endOfTurnTokenId).toBe(vocabulary.special.get("<|user|>"));
    expect(read.unknownTokenId).toBe(vocabulary.special.get("<|endoftext|>"));
    expect(read.paddingTokenId).toBe(vocabulary.special.get("<|endoftext|>"));
    expect(metadata.get("tokenizer.chat_template")).toBe(TINY_GLM4_CHAT_TEMPLATE);
    expect(throughGguf(tinyGlm4GgufTokenizerMetadata(vocabulary, "{{ x }}")).get("tokenizer.chat_template")).toBe("{{ x }}");
    expect(throughGguf(tinyGlm4GgufTokenizerMetadata(vocabulary, null)).has("tokenizer.chat_template")).toBe(false);
  });

  it("tokenizes as the tokenizer.json does", async () => {
    const directory = temporary();
    writeTinyGlm4HfTokenizer(directory, vocabulary);
    const hf = await loadHfTokenizer(directory);
    const gguf = tokenizerFromGgufMetadata(throughGguf(tinyGlm4GgufTokenizerMetadata(vocabulary)));
    for (const text of ["Hello world, the sea is a ship.", "你好，世界。我们学习中文", "  def f():\n    return x == 123\n\n", "<|user|>\nhi<|assistant|>"]) {
      expect(gguf.encode(text, { addSpecialTokens: false }), text).toEqual(hf.encode(text, { addSpecialTokens: false }));
    }
  });
});
