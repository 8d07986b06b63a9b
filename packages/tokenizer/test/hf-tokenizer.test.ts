// Tests the Hugging Face tokenizer.json wrapper: llama.cpp's reference tokenizations for Llama 3 and Qwen2,
// round trips, decodeBytes agreeing with decode, BOS/EOS handling, special-token parsing and TinyStories' BOS.

import { beforeAll, describe, expect, it } from "vitest";
import { loadHfTokenizer, type HfTokenizer } from "../src/index.ts";
import { sharedModelPath, sharedModelsPresent } from "./shared-models.ts";
import { checkTestVectors, readTestVectors, testVectorFiles } from "./test-vectors.ts";

const utf8 = new TextDecoder();

const referenceSuites = [
  { vocabulary: "llama-bpe", directory: "llama3.1-tokenizer" },
  { vocabulary: "qwen2", directory: "qwen3-tokenizer" },
];

for (const { vocabulary, directory } of referenceSuites) {
  const present = sharedModelsPresent(
    `HF ${directory} vs ggml-vocab-${vocabulary}`,
    `${directory}/tokenizer.json`,
    ...testVectorFiles(vocabulary),
  );
  describe.skipIf(!present)(`HF tokenizer ${directory} (llama.cpp ggml-vocab-${vocabulary} vectors)`, () => {
    let tokenizer: HfTokenizer;
    beforeAll(async () => {
      tokenizer = await loadHfTokenizer(sharedModelPath(directory));
    });

    it("reproduces all reference tokenizations", () => {
      const vectors = readTestVectors(vocabulary);
      const result = checkTestVectors(vectors, (text) => tokenizer.encode(text, { addSpecialTokens: false }));
      console.log(`ggml-vocab-${vocabulary} with ${directory}/tokenizer.json: ${result.matched}/${result.total} match`);
      expect(result.mismatches).toEqual([]);
      expect(result.total).toBe(46);
    });

    it("round-trips decode(encode(text)) and decodeBytes agrees with decode", () => {
      expect(tokenizer.decodeBytes).toBeDefined();
      for (const { text } of readTestVectors(vocabulary)) {
        const ids = tokenizer.encode(text, { addSpecialTokens: false });
        expect(tokenizer.decode(ids)).toBe(text);
        expect(utf8.decode(tokenizer.decodeBytes!(ids))).toBe(tokenizer.decode(ids));
      }
    });
  });
}

describe.skipIf(!sharedModelsPresent("HF Llama 3.1 special tokens", "llama3.1-tokenizer/tokenizer.json"))(
  "HF Llama 3.1 tokenizer special tokens",
  () => {
    let tokenizer: HfTokenizer;
    beforeAll(async () => {
      tokenizer = await loadHfTokenizer(sharedModelPath("llama3.1-tokenizer"));
    });

    it("adds <|begin_of_text|> and knows the end-of-turn tokens", () => {
      expect(tokenizer.bosTokenId).toBe(128000);
      expect(tokenizer.encode("Hello")).toEqual([128000, 9906]);
      expect(tokenizer.encode("Hello", { addSpecialTokens: false })).toEqual([9906]);
      expect(tokenizer.encode("")).toEqual([128000]);
      expect(tokenizer.eosTokenIds[0]).toBe(128009); // tokenizer_config eos_token <|eot_id|>
      // This copy names 128008 <|reserved_special_token_4|> (no <|eom_id|>), so <|end_of_text|> is the other end token.
      expect(tokenizer.eosTokenIds).toEqual([128009, 128001]);
      expect(tokenizer.vocabSize).toBe(128256);
      expect(tokenizer.tokenToId("<|eot_id|>")).toBe(128009);
      expect(tokenizer.idToToken(9906)).toBe("Hello");
    });

    it("parses special tokens in text unless told not to", () => {
      const text = "Hi<|eot_id|>";
      expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual([13347, 128009]);
      const plain = tokenizer.encode(text, { addSpecialTokens: false, parseSpecialTokens: false });
      expect(plain).not.toContain(128009);
      expect(tokenizer.decode(plain)).toBe(text);
      expect(tokenizer.encode(text, { parseSpecialTokens: false })[0]).toBe(128000);
    });

    it("skips special tokens when decoding on request", () => {
      const ids = tokenizer.encode("Hi<|eot_id|>");
      expect(tokenizer.decode(ids)).toBe("<|begin_of_text|>Hi<|eot_id|>");
      expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe("Hi");
      expect(utf8.decode(tokenizer.decodeBytes!(ids, { skipSpecialTokens: true }))).toBe("Hi");
      expect(tokenizer.decode([])).toBe("");
    });
  },
);

describe.skipIf(!sharedModelsPresent("HF Qwen3 special tokens", "qwen3-tokenizer/tokenizer.json"))(
  "HF Qwen3 tokenizer special tokens",
  () => {
    it("has no BOS and ends turns on <|im_end|>", async () => {
      const tokenizer = await loadHfTokenizer(sharedModelPath("qwen3-tokenizer"));
      expect(tokenizer.bosTokenId).toBeUndefined();
      expect(tokenizer.encode("Hello")).toEqual([9707]);
      expect(tokenizer.eosTokenIds[0]).toBe(151645);
      expect(tokenizer.eosTokenIds).toContain(151643);
      expect(tokenizer.encode("<|im_start|>user", { addSpecialTokens: false })[0]).toBe(151644);
    });
  },
);

describe.skipIf(!sharedModelsPresent("HF TinyStories-656K tokenizer", "tinystories-656k-hf/tokenizer.json"))(
  "HF TinyStories-656K tokenizer (SentencePiece-style BPE with byte fallback)",
  () => {
    let tokenizer: HfTokenizer;
    beforeAll(async () => {
      tokenizer = await loadHfTokenizer(sharedModelPath("tinystories-656k-hf"));
    });

    it("starts with BOS <|start_story|> = 1 as tokenizer_config add_bos_token says", () => {
      expect(tokenizer.bosTokenId).toBe(1);
      expect(tokenizer.eosTokenIds).toEqual([2]);
      expect(tokenizer.vocabSize).toBe(2048);
      const ids = tokenizer.encode("Once upon a time");
      expect(ids[0]).toBe(1);
      expect(ids.filter((id) => id === 1)).toHaveLength(1);
      expect(tokenizer.encode("Once upon a time", { addSpecialTokens: false })).toEqual(ids.slice(1));
      expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe("Once upon a time");
    });

    it("decodes the model's reference greedy tokens", () => {
      const greedy = [
        1, 147, 201, 282, 215, 286, 598, 1662, 356, 499, 826, 1363, 1145, 1652, 615, 242, 1482, 951, 628, 499, 826, 872,
        921, 318, 385, 628, 499, 826, 617, 242, 198, 1047, 425,
      ];
      const text = tokenizer.decode(greedy, { skipSpecialTokens: true });
      expect(text.startsWith("Once upon a time, there was a little girl named Lily. She had a toy car")).toBe(true);
      expect(utf8.decode(tokenizer.decodeBytes!(greedy, { skipSpecialTokens: true }))).toBe(text);
    });

    it("round-trips text and agrees between decode and decodeBytes", () => {
      for (const text of ["Once upon a time, there was a dog.", " Two  spaces", "Lily said, \"Hi!\"\nThe end."]) {
        const ids = tokenizer.encode(text, { addSpecialTokens: false });
        expect(tokenizer.decode(ids)).toBe(text);
        expect(utf8.decode(tokenizer.decodeBytes!(ids))).toBe(tokenizer.decode(ids));
      }
    });
  },
);
