// Tests the byte-level BPE tokenizer on GGUF-style metadata: a tiny hand-made vocabulary (always runs), and
// metadata built from the Llama 3.1 and Qwen3 tokenizer.json files checked against llama.cpp's reference
// tokenizations and against the Hugging Face tokenizer.

import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { ByteLevelBpeTokenizer, GgufTokenType, loadHfTokenizer, tokenizerFromGgufMetadata, type HfTokenizer } from "../src/index.ts";
import { ggufMetadataFromTokenizerJson } from "./gguf-metadata-from-tokenizer-json.ts";
import { sharedModelPath, sharedModelsPresent } from "./shared-models.ts";
import { checkTestVectors, readTestVectors, testVectorFiles } from "./test-vectors.ts";

/** The GPT-2 byte alphabet in byte order (ids 0..255 of the tiny vocabulary). */
function byteAlphabet(): string[] {
  const printable = new Set<number>();
  for (let b = 0x21; b <= 0x7e; b++) printable.add(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.add(b);
  for (let b = 0xae; b <= 0xff; b++) printable.add(b);
  let shifted = 0;
  return Array.from({ length: 256 }, (_, byte) => String.fromCharCode(printable.has(byte) ? byte : 256 + shifted++));
}

describe("byte-level BPE tokenizer on a tiny vocabulary", () => {
  const words = ["Ġt", "th", "Ġth", "the", "Ġthe"];
  const tokens = [...byteAlphabet(), ...words, "<|end|>", "<tool>"];
  const types: number[] = tokens.map(() => GgufTokenType.normal);
  types[tokens.length - 2] = GgufTokenType.control;
  types[tokens.length - 1] = GgufTokenType.userDefined;
  const metadata = new Map<string, unknown>([
    ["tokenizer.ggml.model", "gpt2"],
    ["tokenizer.ggml.pre", "default"],
    ["tokenizer.ggml.tokens", tokens],
    ["tokenizer.ggml.token_type", types],
    ["tokenizer.ggml.merges", ["Ġ t", "t h", "Ġt h", "th e", "Ġth e"]],
    ["tokenizer.ggml.eos_token_id", tokens.indexOf("<|end|>")],
  ]);
  const tokenizer = tokenizerFromGgufMetadata(metadata);
  const id = (token: string) => tokenizer.tokenToId(token)!;

  it("is chosen for tokenizer.ggml.model = gpt2", () => {
    expect(tokenizer).toBeInstanceOf(ByteLevelBpeTokenizer);
    expect(tokenizer.bosTokenId).toBeUndefined();
    expect(tokenizer.eosTokenIds).toEqual([id("<|end|>")]);
  });

  it("merges by rank inside pre-tokenizer words", () => {
    expect(tokenizer.encode("the the")).toEqual([id("the"), id("Ġthe")]);
    expect(tokenizer.encode("tthe")).toEqual([id("t"), id("the")]);
  });

  it("spells any byte and decodes it back", () => {
    const ids = tokenizer.encode("é\u0000\n");
    expect(ids).toEqual([0xc3, 0xa9, 0x00, 0x0a]); // ids 0..255 are the byte alphabet in byte order
    expect(tokenizer.decode(ids)).toBe("é\u0000\n");
  });

  it("splits special tokens out first, and control ones only when parsing special tokens", () => {
    expect(tokenizer.encode("the<|end|>")).toEqual([id("the"), id("<|end|>")]);
    expect(tokenizer.encode("the<|end|>", { parseSpecialTokens: false })).not.toContain(id("<|end|>"));
    expect(tokenizer.encode("<tool>the", { parseSpecialTokens: false })).toEqual([id("<tool>"), id("the")]);
    expect(tokenizer.decode([id("the"), id("<|end|>")], { skipSpecialTokens: true })).toBe("the");
  });

  it("rejects an unknown pre-tokenizer with the supported names", () => {
    const other = new Map(metadata);
    other.set("tokenizer.ggml.pre", "mystery");
    expect(() => tokenizerFromGgufMetadata(other)).toThrow(/unsupported byte-level BPE pre-tokenizer "mystery".*llama-bpe/);
  });
});

const suites = [
  { vocabulary: "llama-bpe", directory: "llama3.1-tokenizer", pre: "llama-bpe", bosTokenId: 128000, eosTokenId: 128009 },
  { vocabulary: "qwen2", directory: "qwen3-tokenizer", pre: "qwen2", bosTokenId: undefined, eosTokenId: 151645 },
];

for (const suite of suites) {
  const present = sharedModelsPresent(
    `byte-level BPE GGUF metadata from ${suite.directory}`,
    `${suite.directory}/tokenizer.json`,
    ...testVectorFiles(suite.vocabulary),
  );
  describe.skipIf(!present)(`byte-level BPE from GGUF-style metadata of ${suite.directory}`, () => {
    let tokenizer: ReturnType<typeof tokenizerFromGgufMetadata>;
    let reference: HfTokenizer;
    beforeAll(async () => {
      tokenizer = tokenizerFromGgufMetadata(
        ggufMetadataFromTokenizerJson(sharedModelPath(suite.directory, "tokenizer.json"), suite),
      );
      reference = await loadHfTokenizer(sharedModelPath(suite.directory));
    });

    it(`reproduces llama.cpp's ggml-vocab-${suite.vocabulary} tokenizations and the Hugging Face tokenizer`, () => {
      const vectors = readTestVectors(suite.vocabulary);
      const result = checkTestVectors(vectors, (text) => tokenizer.encode(text, { addSpecialTokens: false }));
      console.log(`ggml-vocab-${suite.vocabulary} with GGUF-style byte-level BPE metadata: ${result.matched}/${result.total} match`);
      expect(result.mismatches).toEqual([]);
      for (const { text } of vectors) {
        expect(tokenizer.encode(text)).toEqual(reference.encode(text));
        expect(tokenizer.decode(tokenizer.encode(text, { addSpecialTokens: false }))).toBe(text);
      }
    });

    it("agrees with the Hugging Face tokenizer on longer English text, special tokens included", () => {
      const texts = ["eval-text/gettysburg_address.txt", "eval-text/tinystories_sample.txt"]
        .filter((path) => sharedModelsPresent("byte-level BPE on eval text", path))
        .map((path) => readFileSync(sharedModelPath(path), "utf8"));
      texts.push("<|im_start|>user\nHi there<|im_end|>\n<|begin_of_text|><|eot_id|> done");
      for (const text of texts) {
        const ids = tokenizer.encode(text);
        expect(ids).toEqual(reference.encode(text));
        expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe(reference.decode(ids, { skipSpecialTokens: true }));
      }
    });
  });
}

describe("the smollm pre-tokenizer (SmolLM2 / SmolVLM GGUF files)", () => {
  const tokens = [...byteAlphabet(), "ĠĠ", "ĊĊ"];
  const metadata = (pre: string) =>
    new Map<string, unknown>([
      ["tokenizer.ggml.model", "gpt2"],
      ["tokenizer.ggml.pre", pre],
      ["tokenizer.ggml.tokens", tokens],
      ["tokenizer.ggml.token_type", tokens.map(() => GgufTokenType.normal)],
      ["tokenizer.ggml.merges", ["Ġ Ġ", "Ċ Ċ"]],
    ]);
  const smollm = tokenizerFromGgufMetadata(metadata("smollm"));
  const gpt2 = tokenizerFromGgufMetadata(metadata("gpt2"));
  const spell = (tokenizer: typeof smollm, text: string) => tokenizer.encode(text).map((id) => tokenizer.idToToken(id)).join("|");

  it("splits every digit off first, then runs the GPT-2 pattern between them", () => {
    expect(spell(smollm, "a 12")).toBe("a|Ġ|1|2");
    expect(spell(gpt2, "a 12")).toBe("a|Ġ|1|2");
    // Two spaces before a digit stay one word (llama.cpp's two-stage split); GPT-2 alone splits them.
    expect(spell(smollm, "x  1")).toBe("x|ĠĠ|1");
    expect(spell(gpt2, "x  1")).toBe("x|Ġ|Ġ1".replace("Ġ1", "Ġ|1"));
    expect(spell(smollm, "\n\n")).toBe("ĊĊ");
  });
});

describe("the chatglm-bpe pre-tokenizer (GLM-4 GGUF files)", () => {
  // "ab" is a token no merge builds: Llama 3 takes a word that is a token whole (ignore_merges), GLM-4 does not.
  const tokens = [...byteAlphabet(), "12", "123", "ab", "[gMASK]", "<sop>", "<|endoftext|>", "<|user|>", "<|observation|>"];
  const metadata = (pre: string) =>
    new Map<string, unknown>([
      ["tokenizer.ggml.model", "gpt2"],
      ["tokenizer.ggml.pre", pre],
      ["tokenizer.ggml.tokens", tokens],
      ["tokenizer.ggml.token_type", tokens.map((token) => (/^[[<]/.test(token) && token.length > 1 ? GgufTokenType.control : GgufTokenType.normal))],
      ["tokenizer.ggml.merges", ["1 2", "12 3"]],
      ["tokenizer.ggml.bos_token_id", tokens.indexOf("[gMASK]")],
      ["tokenizer.ggml.eos_token_id", tokens.indexOf("<|endoftext|>")],
      ["tokenizer.ggml.add_bos_token", true],
    ]);
  const glm4 = tokenizerFromGgufMetadata(metadata("chatglm-bpe"));
  const llama3 = tokenizerFromGgufMetadata(metadata("llama-bpe"));
  const spell = (tokenizer: typeof glm4, text: string) => tokenizer.encode(text).map((id) => tokenizer.idToToken(id)).join("|");

  it("is known by both names llama.cpp accepts, with Llama 3's expression (digits in threes)", () => {
    expect(tokenizerFromGgufMetadata(metadata("glm4")).encode("12345")).toEqual(glm4.encode("12345"));
    expect(spell(glm4, "12345")).toBe("123|4|5");
  });

  it("never adds a BOS token, whatever the metadata says, and applies merges even to words that are tokens", () => {
    expect(glm4.bosTokenId).toBeUndefined();
    expect(spell(glm4, "ab")).toBe("a|b");
    expect(spell(llama3, "ab")).toBe("[gMASK]|ab"); // Llama 3 adds its BOS and takes the word whole
  });

  it("ends a turn at <|user|> and <|observation|> as well as at EOS", () => {
    expect([...glm4.eosTokenIds].sort()).toEqual(["<|endoftext|>", "<|user|>", "<|observation|>"].map((token) => tokens.indexOf(token)).sort());
  });
});
