// The tokenizer.ggml.* metadata a Hugging Face tokenizer.json (and tokenizer_config.json) becomes, entry by entry and
// in order: byte-level BPE as llama.cpp's "gpt2" model with the pre-tokenizer named from its regex, SentencePiece-style
// BPE as "llama" with merge-rank scores, token types as llama.cpp's converter assigns them, special token ids, and
// every refusal naming the file and what was expected.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { hfTokenizerGgufMetadata, readHfTokenizerGgufMetadata, type HfTokenizerJsonSubset } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("gguf-hf-tokenizer");

// The Split regexes verbatim from Meta's Llama 3.1 and Qwen3's tokenizer.json (llama.cpp's "llama-bpe" and "qwen2").
const llama3Regex =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const qwen2Regex =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Llama 3's pre-tokenizer: a Sequence of the Split regex and ByteLevel. */
const llama3PreTokenizer = {
  type: "Sequence",
  pretokenizers: [
    { type: "Split", pattern: { Regex: llama3Regex }, behavior: "Isolated", invert: false },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
};

/** A byte-level BPE tokenizer.json with Llama 3's pre-tokenizer. */
function byteLevel(extra: Partial<HfTokenizerJsonSubset> = {}, model: Partial<HfTokenizerJsonSubset["model"]> = {}): HfTokenizerJsonSubset {
  return {
    model: { type: "BPE", vocab: { a: 0, b: 1, ab: 2 }, merges: ["a b"], ...model },
    pre_tokenizer: llama3PreTokenizer,
    ...extra,
  };
}

/** A SentencePiece-style BPE tokenizer.json (byte fallback, no ByteLevel step). */
function sentencePiece(extra: Partial<HfTokenizerJsonSubset> = {}, model: Partial<HfTokenizerJsonSubset["model"]> = {}): HfTokenizerJsonSubset {
  return {
    model: { type: "BPE", vocab: { "<unk>": 0, "<0x0A>": 1, a: 2, b: 3, ab: 4 }, merges: ["a b"], byte_fallback: true, unk_token: "<unk>", ...model },
    ...extra,
  };
}

describe("hfTokenizerGgufMetadata, byte-level BPE", () => {
  it("writes llama.cpp's gpt2 model: pre-tokenizer by name, tokens, types, merges, flags, in that order", () => {
    const metadata = hfTokenizerGgufMetadata(byteLevel());
    expect([...metadata.entries()]).toEqual([
      ["tokenizer.ggml.model", "gpt2"],
      ["tokenizer.ggml.pre", "llama-bpe"],
      ["tokenizer.ggml.tokens", ["a", "b", "ab"]],
      ["tokenizer.ggml.token_type", Int32Array.of(1, 1, 1)],
      ["tokenizer.ggml.merges", { type: "array", elementType: "string", value: ["a b"] }],
      ["tokenizer.ggml.add_bos_token", false],
      ["tokenizer.ggml.add_eos_token", false],
    ]);
    expect(metadata.get("tokenizer.ggml.token_type")).toBeInstanceOf(Int32Array);
  });

  it("recognises Qwen2's regex, a bare Split step, and a known regex after an unknown one", () => {
    const withPre = (pre_tokenizer: unknown) => hfTokenizerGgufMetadata(byteLevel({ pre_tokenizer })).get("tokenizer.ggml.pre");
    const split = (regex: string) => ({ type: "Split", pattern: { Regex: regex } });
    expect(withPre({ type: "Sequence", pretokenizers: [split(qwen2Regex), { type: "ByteLevel" }] })).toBe("qwen2");
    expect(withPre({ type: "Sequence", pretokenizers: [split("\\s+"), split(llama3Regex), { type: "ByteLevel" }] })).toBe("llama-bpe");
    expect(withPre({ type: "Sequence", pretokenizers: [{ type: "Split", pattern: { String: " " } }, split(qwen2Regex), { type: "ByteLevel" }] })).toBe("qwen2");
    // The option names it outright, regex or not.
    const named = hfTokenizerGgufMetadata(byteLevel({ pre_tokenizer: { type: "ByteLevel" } }), {}, { preTokenizer: "gpt-2" });
    expect(named.get("tokenizer.ggml.pre")).toBe("gpt-2");
    expect(hfTokenizerGgufMetadata(byteLevel(), {}, { preTokenizer: "smaug-bpe" }).get("tokenizer.ggml.pre")).toBe("smaug-bpe");
  });

  it("refuses a regex llama.cpp does not know by name, naming the file and the option", () => {
    const unknownRegex = { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: "\\s+" } }, { type: "ByteLevel" }] };
    const notASplit = { type: "Sequence", pretokenizers: [{ type: "Digits", pattern: { Regex: llama3Regex } }, { type: "ByteLevel" }] };
    for (const pre_tokenizer of [{ type: "ByteLevel" }, unknownRegex, notASplit]) {
      const error = errorOf(() => hfTokenizerGgufMetadata(byteLevel({ pre_tokenizer }), {}, { source: "/models/x/tokenizer.json" }));
      expect(error.message).toBe(
        `/models/x/tokenizer.json: field "model": the byte-level pre-tokenizer's regex is not one llama.cpp knows by name (llama-bpe, qwen2); pass preTokenizer`,
      );
    }
  });

  it("splits merges at the first space after the first character, and keeps [left, right] pairs", () => {
    const merges = hfTokenizerGgufMetadata(byteLevel({}, { merges: ["Ġ t", " a b", ["a b", "c"], ["x", "y"]] })).get("tokenizer.ggml.merges");
    expect(merges).toEqual({ type: "array", elementType: "string", value: ["Ġ t", " a b", "a b c", "x y"] });
    expect(hfTokenizerGgufMetadata(byteLevel({}, { merges: undefined })).get("tokenizer.ggml.merges")).toEqual({ type: "array", elementType: "string", value: [] });
  });

  it("keeps <0xNN> tokens normal: only byte-fallback vocabularies have byte tokens", () => {
    const metadata = hfTokenizerGgufMetadata(byteLevel({}, { vocab: { "<0x0A>": 0, a: 1 }, byte_fallback: true }));
    expect(metadata.get("tokenizer.ggml.model")).toBe("gpt2");
    expect(metadata.get("tokenizer.ggml.token_type")).toEqual(Int32Array.of(1, 1));
  });
});

describe("hfTokenizerGgufMetadata, token list and types", () => {
  it("sizes the list by the largest id, fills gaps with [PAD<id>] unused tokens, and types added tokens", () => {
    const metadata = hfTokenizerGgufMetadata(
      byteLevel({
        added_tokens: [
          { id: 5, content: "<|end|>", special: true },
          { id: 3, content: "<tool>", special: false },
        ],
      }),
    );
    expect(metadata.get("tokenizer.ggml.tokens")).toEqual(["a", "b", "ab", "<tool>", "[PAD4]", "<|end|>"]);
    expect(metadata.get("tokenizer.ggml.token_type")).toEqual(Int32Array.of(1, 1, 1, 4, 5, 3));
    // A vocabulary with a hole and no added tokens.
    const holes = hfTokenizerGgufMetadata(byteLevel({}, { vocab: { a: 0, z: 3 } }));
    expect(holes.get("tokenizer.ggml.tokens")).toEqual(["a", "[PAD1]", "[PAD2]", "z"]);
    expect(holes.get("tokenizer.ggml.token_type")).toEqual(Int32Array.of(1, 5, 5, 1));
  });

  it("lets an added token replace the vocabulary's entry at its id", () => {
    const metadata = hfTokenizerGgufMetadata(byteLevel({ added_tokens: [{ id: 1, content: "<s>", special: true }] }));
    expect(metadata.get("tokenizer.ggml.tokens")).toEqual(["a", "<s>", "ab"]);
    expect(metadata.get("tokenizer.ggml.token_type")).toEqual(Int32Array.of(1, 3, 1));
  });

  it("types the unknown token from the model, else from tokenizer_config.json (text or {content}), else none", () => {
    const types = (model: Partial<HfTokenizerJsonSubset["model"]>, config = {}) =>
      hfTokenizerGgufMetadata(byteLevel({}, { vocab: { "<unk>": 0, "<oov>": 1, a: 2 }, ...model }), config).get("tokenizer.ggml.token_type");
    expect(types({ unk_token: "<unk>" })).toEqual(Int32Array.of(2, 1, 1));
    expect(types({ unk_token: null }, { unk_token: "<oov>" })).toEqual(Int32Array.of(1, 2, 1));
    expect(types({}, { unk_token: { content: "<oov>" } })).toEqual(Int32Array.of(1, 2, 1));
    expect(types({ unk_token: "<unk>" }, { unk_token: "<oov>" })).toEqual(Int32Array.of(2, 1, 1));
    expect(types({ unk_token: "<missing>" })).toEqual(Int32Array.of(1, 1, 1));
    expect(types({}, { unk_token: null })).toEqual(Int32Array.of(1, 1, 1));
  });

  it("gives a token text spelled at two ids the first id for special ids and the unknown type", () => {
    const metadata = hfTokenizerGgufMetadata(
      byteLevel({ added_tokens: [{ id: 4, content: "a", special: true }] }, { vocab: { a: 0, b: 1, ab: 2 }, unk_token: "a" }),
      { bos_token: "a" },
    );
    expect(metadata.get("tokenizer.ggml.tokens")).toEqual(["a", "b", "ab", "[PAD3]", "a"]);
    expect(metadata.get("tokenizer.ggml.token_type")).toEqual(Int32Array.of(2, 1, 1, 5, 3));
    expect(metadata.get("tokenizer.ggml.bos_token_id")).toEqual({ type: "uint32", value: 0 });
    expect(metadata.get("tokenizer.ggml.unknown_token_id")).toEqual({ type: "uint32", value: 0 });
  });
});

describe("hfTokenizerGgufMetadata, special tokens and flags", () => {
  it("writes the ids of bos, eos, unknown and padding as uint32, in that order, when the vocabulary has them", () => {
    const metadata = hfTokenizerGgufMetadata(
      byteLevel({ added_tokens: [{ id: 3, content: "<s>", special: true }, { id: 4, content: "</s>", special: true }, { id: 5, content: "<pad>", special: true }] }, { unk_token: "b" }),
      { bos_token: "<s>", eos_token: { content: "</s>" }, pad_token: "<pad>", add_bos_token: true, add_eos_token: true, chat_template: "{{ messages }}" },
    );
    expect([...metadata.entries()].slice(5)).toEqual([
      ["tokenizer.ggml.bos_token_id", { type: "uint32", value: 3 }],
      ["tokenizer.ggml.eos_token_id", { type: "uint32", value: 4 }],
      ["tokenizer.ggml.unknown_token_id", { type: "uint32", value: 1 }],
      ["tokenizer.ggml.padding_token_id", { type: "uint32", value: 5 }],
      ["tokenizer.ggml.add_bos_token", true],
      ["tokenizer.ggml.add_eos_token", true],
      ["tokenizer.chat_template", "{{ messages }}"],
    ]);
  });

  it("leaves out ids of tokens that are null or not in the vocabulary, and chat templates that are not a string", () => {
    const metadata = hfTokenizerGgufMetadata(byteLevel(), {
      bos_token: null,
      eos_token: "</s>",
      pad_token: { content: "<pad>" },
      add_bos_token: false,
      chat_template: [{ name: "default", template: "{{ x }}" }],
    });
    expect([...metadata.keys()].filter((key) => key.endsWith("_token_id") || key === "tokenizer.chat_template")).toEqual([]);
    expect(metadata.get("tokenizer.ggml.add_bos_token")).toBe(false);
  });

  it("adds BOS when the post-processor's single template starts with a special token, and the config does not say", () => {
    const template = (single: unknown[]) => ({ type: "TemplateProcessing", single, pair: [] });
    const special = { SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } };
    const sequence = { Sequence: { id: "A", type_id: 0 } };
    const addsBos = (post_processor: unknown, config = {}) => hfTokenizerGgufMetadata(byteLevel({ post_processor }), config).get("tokenizer.ggml.add_bos_token");
    // Llama 3.1's post-processor: ByteLevel, then the template, in a Sequence.
    const llama31 = { type: "Sequence", processors: [{ type: "ByteLevel", add_prefix_space: true }, template([special, sequence])] };
    expect(addsBos(llama31)).toBe(true);
    expect(addsBos(template([special, sequence]))).toBe(true);
    expect(addsBos(template([sequence, special]))).toBe(false);
    expect(addsBos(llama31, { add_bos_token: false })).toBe(false);
    expect(addsBos(template([sequence]), { add_bos_token: true })).toBe(true);
    // An empty template says nothing: a later one decides.
    expect(addsBos({ type: "Sequence", processors: [template([]), template([special, sequence])] })).toBe(true);
    // Only TemplateProcessing steps count.
    expect(addsBos({ type: "RobertaProcessing", single: [special, sequence] })).toBe(false);
    expect(addsBos({ type: "ByteLevel" })).toBe(false);
  });
});

describe("hfTokenizerGgufMetadata, SentencePiece-style BPE", () => {
  it("writes llama.cpp's llama model: tokens, scores from merge ranks, byte and unknown types, space prefix", () => {
    const metadata = hfTokenizerGgufMetadata(
      sentencePiece({ normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" }, { type: "Replace" }] } }),
      { bos_token: "<unk>" },
    );
    expect([...metadata.entries()]).toEqual([
      ["tokenizer.ggml.model", "llama"],
      ["tokenizer.ggml.tokens", ["<unk>", "<0x0A>", "a", "b", "ab"]],
      ["tokenizer.ggml.scores", Float32Array.of(0, 0, -2, -2, -0)],
      ["tokenizer.ggml.token_type", Int32Array.of(2, 6, 1, 1, 1)],
      ["tokenizer.ggml.add_space_prefix", true],
      ["tokenizer.ggml.bos_token_id", { type: "uint32", value: 0 }],
      ["tokenizer.ggml.unknown_token_id", { type: "uint32", value: 0 }],
      ["tokenizer.ggml.add_bos_token", false],
      ["tokenizer.ggml.add_eos_token", false],
    ]);
    expect(metadata.get("tokenizer.ggml.scores")).toBeInstanceOf(Float32Array);
  });

  it("scores a token by the first merge that builds it; tokens no merge builds score below every merge", () => {
    const vocab = { a: 0, b: 1, c: 2, ab: 3, bc: 4, abc: 5, d: 6 };
    const merges = ["a b", "b c", "ab c", "a bc", "x y"];
    const metadata = hfTokenizerGgufMetadata(sentencePiece({}, { vocab, merges, unk_token: null }));
    expect(metadata.get("tokenizer.ggml.scores")).toEqual(Float32Array.of(-6, -6, -6, -0, -1, -2, -6));
    // A merge whose left part starts with a space splits at the next space: " a b" builds " a" + "b".
    const spaced = hfTokenizerGgufMetadata(sentencePiece({}, { vocab: { " a": 0, b: 1, " ab": 2, "a b": 3 }, merges: [" a b", ["a", " b"]], unk_token: null }));
    expect(spaced.get("tokenizer.ggml.scores")).toEqual(Float32Array.of(-3, -3, -0, -1));
    // No merges: every normal token scores −1.
    expect(hfTokenizerGgufMetadata(sentencePiece({}, { vocab: { a: 0, b: 1 }, merges: undefined, unk_token: null })).get("tokenizer.ggml.scores")).toEqual(
      Float32Array.of(-1, -1),
    );
  });

  it("scores control, user-defined, byte, unknown and unused tokens 0", () => {
    const metadata = hfTokenizerGgufMetadata(
      sentencePiece(
        { added_tokens: [{ id: 6, content: "<s>", special: true }, { id: 7, content: "<user>", special: false }] },
        { vocab: { "<unk>": 0, "<0xFF>": 1, "<0xab>": 2, "<0x0G>": 3, a: 4 }, merges: [] },
      ),
    );
    expect(metadata.get("tokenizer.ggml.tokens")).toEqual(["<unk>", "<0xFF>", "<0xab>", "<0x0G>", "a", "[PAD5]", "<s>", "<user>"]);
    expect(metadata.get("tokenizer.ggml.token_type")).toEqual(Int32Array.of(2, 6, 6, 1, 1, 5, 3, 4));
    expect(metadata.get("tokenizer.ggml.scores")).toEqual(Float32Array.of(0, 0, 0, -1, -1, 0, 0, 0));
  });

  it("types only whole <0xNN> spellings as bytes", () => {
    const metadata = hfTokenizerGgufMetadata(sentencePiece({}, { vocab: { "<0x0A>x": 0, "x<0x0A>": 1, "<0x0AB>": 2, "<0xA>": 3, "<0x1f>": 4 }, merges: [], unk_token: null }));
    expect(metadata.get("tokenizer.ggml.token_type")).toEqual(Int32Array.of(1, 1, 1, 1, 6));
  });

  it("adds no space prefix without a Prepend of ▁", () => {
    const prefix = (normalizer: unknown) => hfTokenizerGgufMetadata(sentencePiece({ normalizer })).get("tokenizer.ggml.add_space_prefix");
    expect(prefix(undefined)).toBe(false);
    expect(prefix({ type: "Prepend", prepend: " " })).toBe(false);
    expect(prefix({ type: "Replace", prepend: "\u2581" })).toBe(false);
    expect(prefix({ type: "Prepend", prepend: "\u2581" })).toBe(true);
  });
});

describe("hfTokenizerGgufMetadata refusals", () => {
  it("refuses tokenizers other than BPE, and BPE with neither ByteLevel nor byte fallback, naming the file", () => {
    const problem = (json: unknown, source?: string) => errorOf(() => hfTokenizerGgufMetadata(json as HfTokenizerJsonSubset, {}, source ? { source } : {}));
    const unigram = problem({ model: { type: "Unigram", vocab: {} } }, "/m/tokenizer.json");
    expect(unigram.message).toBe(`/m/tokenizer.json: field "model": only BPE tokenizers can be embedded in GGUF here, got model type "Unigram"`);
    expect(unigram.file).toBe("/m/tokenizer.json");
    expect(unigram.field).toBe("model");
    expect(problem({}).message).toBe(`tokenizer.json: field "model": only BPE tokenizers can be embedded in GGUF here, got model type "undefined"`);
    const neither = `tokenizer.json: field "model": a BPE tokenizer without a ByteLevel pre-tokenizer must use byte_fallback (SentencePiece style)`;
    expect(problem({ model: { type: "BPE", vocab: { a: 0 } } }).message).toBe(neither);
    expect(problem({ model: { type: "BPE", vocab: { a: 0 }, byte_fallback: false }, pre_tokenizer: { type: "Whitespace" } }).message).toBe(neither);
  });
});

describe("readHfTokenizerGgufMetadata", () => {
  it("reads tokenizer.json with tokenizer_config.json, or alone, and nothing without tokenizer.json", () => {
    const directory = temporary();
    expect(readHfTokenizerGgufMetadata(directory)).toBeUndefined();
    fs.writeFileSync(path.join(directory, "tokenizer.json"), JSON.stringify(byteLevel()));
    const alone = readHfTokenizerGgufMetadata(directory)!;
    expect(alone.get("tokenizer.ggml.pre")).toBe("llama-bpe");
    expect(alone.has("tokenizer.ggml.bos_token_id")).toBe(false);
    fs.writeFileSync(path.join(directory, "tokenizer_config.json"), JSON.stringify({ bos_token: "ab", add_eos_token: true }));
    const withConfig = readHfTokenizerGgufMetadata(directory)!;
    expect(withConfig.get("tokenizer.ggml.bos_token_id")).toEqual({ type: "uint32", value: 2 });
    expect(withConfig.get("tokenizer.ggml.add_eos_token")).toBe(true);
    expect(readHfTokenizerGgufMetadata(directory, { preTokenizer: "custom" })!.get("tokenizer.ggml.pre")).toBe("custom");
  });

  it("names tokenizer.json in its errors, and the file that is not valid JSON", () => {
    const directory = temporary();
    const jsonPath = path.join(directory, "tokenizer.json");
    fs.writeFileSync(jsonPath, JSON.stringify({ model: { type: "WordPiece", vocab: {} } }));
    expect(errorOf(() => readHfTokenizerGgufMetadata(directory)).message).toBe(
      `${jsonPath}: field "model": only BPE tokenizers can be embedded in GGUF here, got model type "WordPiece"`,
    );
    fs.writeFileSync(jsonPath, JSON.stringify(byteLevel()));
    const configPath = path.join(directory, "tokenizer_config.json");
    fs.writeFileSync(configPath, "{ not json");
    const bad = errorOf(() => readHfTokenizerGgufMetadata(directory));
    expect(bad.file).toBe(configPath);
    expect(bad.message).toMatch(new RegExp(`^${configPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: is not valid JSON: .+`));
    fs.writeFileSync(jsonPath, "");
    expect(errorOf(() => readHfTokenizerGgufMetadata(directory)).file).toBe(jsonPath);
  });
});

describe("hfTokenizerGgufMetadata, odd but valid sections", () => {
  it("skips a Split step without a pattern", () => {
    const pre_tokenizer = { type: "Sequence", pretokenizers: [{ type: "Split" }, { type: "Split", pattern: { Regex: llama3Regex } }, { type: "ByteLevel" }] };
    expect(hfTokenizerGgufMetadata(byteLevel({ pre_tokenizer })).get("tokenizer.ggml.pre")).toBe("llama-bpe");
  });

  it("returns token types and scores that hold one entry per token and nothing else", () => {
    // No unknown token in the vocabulary, and a merge whose joined text is no token.
    const metadata = hfTokenizerGgufMetadata(sentencePiece({}, { unk_token: "<absent>", merges: ["a b", "x y"] }));
    const types = metadata.get("tokenizer.ggml.token_type") as Int32Array;
    const scores = metadata.get("tokenizer.ggml.scores") as Float32Array;
    expect(Object.keys(types)).toEqual(["0", "1", "2", "3", "4"]);
    expect(Object.keys(scores)).toEqual(["0", "1", "2", "3", "4"]);
    expect(scores).toEqual(Float32Array.of(-3, 0, -3, -3, -0));
    const plain = hfTokenizerGgufMetadata(byteLevel()).get("tokenizer.ggml.token_type") as Int32Array;
    expect(Object.keys(plain)).toEqual(["0", "1", "2"]);
  });
});
