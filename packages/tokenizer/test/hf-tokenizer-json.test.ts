// Tests the Hugging Face tokenizer.json wrapper on a tiny hand-made byte-level BPE tokenizer (no model files): BOS/EOS
// framing from the post-processor and tokenizer_config's add_bos_token / add_eos_token, end-of-generation ids from the
// config, generation_config and special added tokens, special-token parsing, decode and decodeBytes with unknown ids and
// skipped special tokens, and loading a tokenizer directory. Also the decoder layouts hf-token-bytes.ts understands.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HfTokenizer, hfTokenizerFromJson, loadHfTokenizer } from "../src/index.ts";
import { hfTokenByteDecoder } from "../src/hf-token-bytes.ts";
import { templateProcessing, tinyTokenizerJson } from "./hf-fixture.ts";

// Ids: 0..255 the byte alphabet, 256 "Hi", 257 "Ġa", 258 "ab", then the added tokens from 259.
const added = [
  { content: "<s>", special: true }, // 259
  { content: "</s>", special: true }, // 260
  { content: "<tool>", special: false }, // 261
  { content: "<|im_end|>", special: true }, // 262
  { content: "<|eot_id|>", special: false }, // 263: an end-of-turn text, but not special
];
const [bos, eos, tool, imEnd, eot] = [259, 260, 261, 262, 263];
const framing = templateProcessing([["<s>", bos]], [["</s>", eos]]);
const utf8 = new TextDecoder();

describe("HfTokenizer framing", () => {
  it("learns what the post-processor puts around the text and reads BOS/EOS from tokenizer_config", () => {
    const tokenizer = hfTokenizerFromJson(tinyTokenizerJson({ added, postProcessor: framing }), { bos_token: "<s>", eos_token: { content: "</s>" } });
    expect(tokenizer).toBeInstanceOf(HfTokenizer);
    expect(tokenizer.bosTokenId).toBe(bos);
    expect(tokenizer.addBosToken).toBe(true);
    expect(tokenizer.vocabSize).toBe(264);
    expect(tokenizer.encode("Hi")).toEqual([bos, 256, eos]);
    expect(tokenizer.encode("Hi", { addSpecialTokens: false })).toEqual([256]);
    expect(tokenizer.encode("")).toEqual([bos, eos]);
  });

  it("lets add_bos_token and add_eos_token override the post-processor both ways", () => {
    const json = tinyTokenizerJson({ added, postProcessor: framing });
    const config = { bos_token: "<s>", eos_token: "</s>" };
    const noFraming = hfTokenizerFromJson(json, { ...config, add_bos_token: false, add_eos_token: false });
    expect(noFraming.encode("Hi")).toEqual([256]);
    expect(noFraming.addBosToken).toBe(false);
    const kept = hfTokenizerFromJson(json, { ...config, add_bos_token: true, add_eos_token: true });
    expect(kept.encode("Hi")).toEqual([bos, 256, eos]);
    const bare = tinyTokenizerJson({ added });
    const added2 = hfTokenizerFromJson(bare, { ...config, add_bos_token: true, add_eos_token: true });
    expect(added2.encode("Hi")).toEqual([bos, 256, eos]);
    expect(added2.addBosToken).toBe(true);
    const neither = hfTokenizerFromJson(bare, { ...config, add_bos_token: false, add_eos_token: false });
    expect(neither.encode("Hi")).toEqual([256]);
    expect(hfTokenizerFromJson(bare, config).encode("Hi")).toEqual([256]);
    expect(hfTokenizerFromJson(bare, config).addBosToken).toBe(false);
    // Flags given as strings, or without the token they name, change nothing.
    expect(hfTokenizerFromJson(json, { ...config, add_bos_token: "false", add_eos_token: "false" }).encode("Hi")).toEqual([bos, 256, eos]);
    expect(hfTokenizerFromJson(bare, { add_bos_token: true, add_eos_token: true }).encode("Hi")).toEqual([256]);
    expect(hfTokenizerFromJson(json, { add_bos_token: false, add_eos_token: false }).encode("Hi")).toEqual([bos, 256, eos]);
  });

  it("finds BOS only at the start and EOS only at the end of the framing", () => {
    const swapped = templateProcessing([["</s>", eos]], [["<s>", bos]]);
    const tokenizer = hfTokenizerFromJson(tinyTokenizerJson({ added, postProcessor: swapped }), { bos_token: "<s>", eos_token: "</s>", add_bos_token: true, add_eos_token: true });
    expect(tokenizer.encode("Hi")).toEqual([bos, eos, 256, bos, eos]);
    expect(tokenizer.addBosToken).toBe(true);
    const removing = hfTokenizerFromJson(tinyTokenizerJson({ added, postProcessor: swapped }), { bos_token: "<s>", eos_token: "</s>", add_bos_token: false, add_eos_token: false });
    expect(removing.encode("Hi")).toEqual([eos, 256, bos]);
    expect(removing.addBosToken).toBe(false);
  });

  it("finds the text at the very end of the framing when only BOS is added, and at the start when only EOS is", () => {
    const bosOnly = hfTokenizerFromJson(tinyTokenizerJson({ added, postProcessor: templateProcessing([["<s>", bos]], []) }), { bos_token: "<s>" });
    expect(bosOnly.encode("Hi")).toEqual([bos, 256]);
    expect(bosOnly.addBosToken).toBe(true);
    const eosOnly = hfTokenizerFromJson(tinyTokenizerJson({ added, postProcessor: templateProcessing([], [["</s>", eos]]) }), { bos_token: "<s>", eos_token: "</s>" });
    expect(eosOnly.encode("Hi")).toEqual([256, eos]);
    expect(eosOnly.addBosToken).toBe(false);
  });

  it("has no BOS when tokenizer_config names none or one it does not know", () => {
    const json = tinyTokenizerJson({ added, postProcessor: framing });
    for (const config of [{}, { bos_token: "<missing>" }, { bos_token: 5 }, { bos_token: { content: 5 } }, { bos_token: null }]) {
      const tokenizer = hfTokenizerFromJson(json, config);
      expect(tokenizer.bosTokenId).toBeUndefined();
      expect(tokenizer.addBosToken).toBe(false);
      expect(tokenizer.encode("Hi")).toEqual([bos, 256, eos]);
    }
    expect(hfTokenizerFromJson(json).config).toEqual({});
    expect(hfTokenizerFromJson(json, { model_max_length: 8 }).config).toEqual({ model_max_length: 8 });
  });
});

describe("HfTokenizer flags without their tokens", () => {
  it("adds no BOS or EOS it cannot name: add_bos_token / add_eos_token alone leave the post-processor's framing as it is", () => {
    const framed = tinyTokenizerJson({ added, postProcessor: framing });
    const flagsOnly = hfTokenizerFromJson(framed, { add_bos_token: true, add_eos_token: true });
    expect(flagsOnly.encode("Hi")).toEqual([bos, 256, eos]);
    expect(flagsOnly.bosTokenId).toBeUndefined();
    expect(flagsOnly.addBosToken).toBe(false);
    // No post-processor and no config at all: nothing is added, and there is no BOS to add.
    const bare = hfTokenizerFromJson(tinyTokenizerJson({ added }));
    expect(bare.addBosToken).toBe(false);
    expect(bare.encode("Hi")).toEqual([256]);
  });
});

describe("HfTokenizer end-of-generation ids", () => {
  it("takes the config's EOS, then generation_config's ids, then special added end-of-turn texts", () => {
    const json = tinyTokenizerJson({ added });
    expect(hfTokenizerFromJson(json, { eos_token: "</s>" }, { eos_token_id: [imEnd, "x", 5, eos] }).eosTokenIds).toEqual([eos, imEnd, 5]);
    expect(hfTokenizerFromJson(json, { eos_token: "</s>" }, { eos_token_id: 7 }).eosTokenIds).toEqual([eos, 7, imEnd]);
    expect(hfTokenizerFromJson(json, {}, { eos_token_id: "7" }).eosTokenIds).toEqual([imEnd]);
    expect(hfTokenizerFromJson(json).eosTokenIds).toEqual([imEnd]);
    // Only numbers count in a list: a numeric string is not an id.
    expect(hfTokenizerFromJson(json, {}, { eos_token_id: ["7", eos, null] }).eosTokenIds).toEqual([eos, imEnd]);
  });

  it("counts tokens listed in additional_special_tokens as special", () => {
    const json = tinyTokenizerJson({ added });
    expect(hfTokenizerFromJson(json, { additional_special_tokens: ["<|eot_id|>"] }).eosTokenIds).toEqual([eot, imEnd]);
    expect(hfTokenizerFromJson(json, { additional_special_tokens: [{ content: "<|eot_id|>" }, 5, { content: 6 }] }).eosTokenIds).toEqual([eot, imEnd]);
  });
});

describe("HfTokenizer encoding and decoding", () => {
  // Built inside each test (not when the file is collected), so mutation testing knows which tests cover the constructor.
  const tokenizerOf = () => hfTokenizerFromJson(tinyTokenizerJson({ added, postProcessor: framing }), { bos_token: "<s>", eos_token: "</s>" });

  it("parses special tokens in text unless told not to; non-special added tokens always", () => {
    expect(tokenizerOf().encode("Hi<s><tool>", { addSpecialTokens: false })).toEqual([256, bos, tool]);
    const plain = tokenizerOf().encode("Hi<s><tool>", { addSpecialTokens: false, parseSpecialTokens: false });
    expect(plain).toEqual([256, 60, 115, 62, tool]);
    expect(tokenizerOf().encode("<s>", { parseSpecialTokens: false })).toEqual([bos, 60, 115, 62, eos]);
    expect(tokenizerOf().decode(plain)).toBe("Hi<s><tool>");
  });

  it("decodes known ids, skipping special tokens on request", () => {
    const ids = [bos, 256, 257, 98, tool, 999, -1, eos];
    expect(tokenizerOf().decode(ids)).toBe("<s>Hi ab<tool></s>");
    expect(tokenizerOf().decode(ids, { skipSpecialTokens: true })).toBe("Hi ab<tool>");
    expect(tokenizerOf().decode([999, -1])).toBe("");
    expect(tokenizerOf().decode([])).toBe("");
    expect(tokenizerOf().decode([256, 32, 32, 33])).toBe("Hi  !"); // ids 32, 33 are the bytes " " and "!": no clean-up of spaces
  });

  it("gives the bytes decode() would decode, added tokens verbatim, invalid UTF-8 kept as bytes", () => {
    expect(tokenizerOf().decodeBytes).toBeDefined();
    const ids = [bos, 256, 257, tool, 0xc3, 999, eos];
    expect(utf8.decode(tokenizerOf().decodeBytes!(ids))).toBe(`<s>Hi a<tool>\uFFFD</s>`);
    expect(Array.from(tokenizerOf().decodeBytes!([0xc3, 0xa9]))).toEqual([0xc3, 0xa9]);
    expect(utf8.decode(tokenizerOf().decodeBytes!(ids, { skipSpecialTokens: true }))).toBe("Hi a<tool>\uFFFD");
    expect(tokenizerOf().decode([0xc3, 0xa9])).toBe("é");
  });

  it("keeps an added token's own UTF-8 in decodeBytes, not its byte-alphabet reading", () => {
    // "é" is U+00E9: as a byte-alphabet character it would stand for the single byte 0xE9.
    const accented = hfTokenizerFromJson(tinyTokenizerJson({ added: [{ content: "<é>", special: false }] }));
    expect(accented.decodeBytes).toBeDefined();
    expect(Array.from(accented.decodeBytes!([259, 256]))).toEqual([0x3c, 0xc3, 0xa9, 0x3e, 0x48, 0x69]);
    expect(accented.decode([259])).toBe("<é>");
    // An ordinary token spelled with the same character is read through the byte alphabet.
    expect(Array.from(accented.decodeBytes!([0xe9]))).toEqual([0xe9]);
  });

  it("has no decodeBytes for a decoder layout it does not understand", () => {
    const wordPiece = hfTokenizerFromJson(tinyTokenizerJson({ added, decoder: { type: "WordPiece", prefix: "##", cleanup: false } }));
    expect(wordPiece.decodeBytes).toBeUndefined();
    expect(hfTokenizerFromJson(tinyTokenizerJson({ added, decoder: null })).decodeBytes).toBeUndefined();
  });

  it("looks tokens and ids up both ways and exposes the underlying tokenizer", () => {
    expect(tokenizerOf().tokenToId("Ġa")).toBe(257);
    expect(tokenizerOf().tokenToId("<tool>")).toBe(tool);
    expect(tokenizerOf().tokenToId("nope")).toBeUndefined();
    expect(tokenizerOf().idToToken(258)).toBe("ab");
    expect(tokenizerOf().idToToken(999)).toBeUndefined();
    expect(tokenizerOf().hfTokenizer.encode("Hi", { add_special_tokens: false }).ids).toEqual([256]);
  });
});

describe("loadHfTokenizer", () => {
  const root = mkdtempSync(join(tmpdir(), "hf-tokenizer-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("reads tokenizer.json with tokenizer_config.json and generation_config.json when present", async () => {
    const directory = join(root, "full");
    mkdirSync(directory);
    writeFileSync(join(directory, "tokenizer.json"), JSON.stringify(tinyTokenizerJson({ added, postProcessor: framing })));
    writeFileSync(join(directory, "tokenizer_config.json"), JSON.stringify({ bos_token: "<s>", eos_token: "</s>", add_eos_token: false }));
    writeFileSync(join(directory, "generation_config.json"), JSON.stringify({ eos_token_id: [eot] }));
    const tokenizer = await loadHfTokenizer(directory);
    expect(tokenizer.encode("Hi")).toEqual([bos, 256]);
    expect(tokenizer.eosTokenIds).toEqual([eos, eot, imEnd]);
    const only = join(root, "only");
    mkdirSync(only);
    writeFileSync(join(only, "tokenizer.json"), JSON.stringify(tinyTokenizerJson({ added })));
    const bare = await loadHfTokenizer(only);
    expect(bare.bosTokenId).toBeUndefined();
    expect(bare.eosTokenIds).toEqual([imEnd]);
  });

  it("names the directory without tokenizer.json and passes on other read errors", async () => {
    const empty = join(root, "empty");
    mkdirSync(empty);
    await expect(loadHfTokenizer(empty)).rejects.toThrow(`no tokenizer.json in ${empty} (expected a Hugging Face tokenizer directory)`);
    const broken = join(root, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "tokenizer.json"), "{ not json");
    await expect(loadHfTokenizer(broken)).rejects.toThrow(SyntaxError);
    const directoryAsFile = join(root, "dir-as-file");
    mkdirSync(join(directoryAsFile, "tokenizer.json"), { recursive: true });
    await expect(loadHfTokenizer(directoryAsFile)).rejects.toMatchObject({ code: "EISDIR" });
  });
});

describe("hfTokenByteDecoder layouts", () => {
  const bytes = (decoder: ReturnType<typeof hfTokenByteDecoder>, tokens: string[], addedTokens: string[] = []) =>
    utf8.decode(decoder!(tokens, (token) => addedTokens.includes(token)));
  const replace = (marker = "▁") => ({ type: "Replace", pattern: { String: marker }, content: " " });

  it("reads ByteLevel tokens through the byte alphabet and added tokens verbatim", () => {
    const decoder = hfTokenByteDecoder({ type: "ByteLevel" });
    expect(bytes(decoder, ["Hi", "Ġthere", "ĠÃ©"])).toBe("Hi there é");
    expect(bytes(decoder, ["<|x|>", "Ġa", "Ġ"], ["<|x|>", "Ġ"])).toBe("<|x|> aĠ");
  });

  it("reads Metaspace tokens, dropping the first token's leading space only", () => {
    expect(bytes(hfTokenByteDecoder({ type: "Metaspace" }), ["▁Hi", "▁there", "<0x41>"])).toBe("Hi there<0x41>");
    expect(bytes(hfTokenByteDecoder({ type: "Metaspace", replacement: "_" }), ["__a", "_b"])).toBe(" a b");
    expect(bytes(hfTokenByteDecoder({ type: "Metaspace" }), [])).toBe("");
    expect(bytes(hfTokenByteDecoder({ type: "Metaspace" }), ["x▁"])).toBe("x ");
  });

  it("reads SentencePiece-style sequences: Replace, ByteFallback, Fuse, Strip", () => {
    const full = hfTokenByteDecoder({ type: "Sequence", decoders: [replace(), { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] });
    expect(bytes(full, ["▁Hi", "▁", "<0xC3>", "<0xA9>"])).toBe("Hi é");
    expect(bytes(full, ["▁▁x"])).toBe(" x");
    expect(bytes(full, ["x"])).toBe("x");
    const twoSpaces = hfTokenByteDecoder({ type: "Sequence", decoders: [replace(), { type: "Fuse" }, { type: "Strip", content: " ", start: 2, stop: 0 }] });
    expect(bytes(twoSpaces, ["▁▁▁x"])).toBe(" x");
    expect(bytes(twoSpaces, ["▁x▁"])).toBe("x ");
    const noFallback = hfTokenByteDecoder({ type: "Sequence", decoders: [replace()] });
    expect(bytes(noFallback, ["▁<0x41>"])).toBe(" <0x41>");
    expect(bytes(noFallback, ["<0x41>", "▁x"])).toBe("<0x41> x"); // without ByteFallback a byte token is its text
    const noStart = hfTokenByteDecoder({ type: "Sequence", decoders: [replace(), { type: "Fuse" }, { type: "Strip", content: " " }] });
    expect(bytes(noStart, ["▁x"])).toBe(" x");
    const custom = hfTokenByteDecoder({ type: "Sequence", decoders: [replace("#"), { type: "ByteFallback" }] });
    expect(bytes(custom, ["#a", "<0x41>", "▁"])).toBe(" aA▁");
  });

  it("refuses layouts it cannot reproduce byte for byte", () => {
    const layouts: unknown[] = [
      null,
      "ByteLevel",
      { type: "WordPiece" },
      { type: "Sequence" },
      { type: "Sequence", decoders: [] },
      { type: "Sequence", decoders: [{ type: "ByteFallback" }] }, // no Replace: no marker
      { type: "Sequence", decoders: [replace(), replace("_")] }, // a second Replace
      { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "▁" }, content: "_" }] },
      { type: "Sequence", decoders: [{ type: "Replace", pattern: { Regex: "▁" }, content: " " }] },
      { type: "Sequence", decoders: [{ type: "Replace", content: " " }] }, // no pattern at all
      { type: "Sequence", decoders: [replace(), { type: "Strip", content: " ", start: 1, stop: 0 }] }, // Strip before Fuse
      { type: "Sequence", decoders: [replace(), { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 1 }] },
      { type: "Sequence", decoders: [replace(), { type: "Fuse" }, { type: "Strip", content: "x", start: 1, stop: 0 }] },
      { type: "Sequence", decoders: [replace(), { type: "CTC" }] },
    ];
    for (const layout of layouts) expect(hfTokenByteDecoder(layout), JSON.stringify(layout)).toBeUndefined();
  });
});
