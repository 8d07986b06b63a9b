// The GLM architecture and ChatGLM3's tokenizer against llama.cpp (node-llama-cpp) on a tiny random chatglm GGUF with
// ChatGLM3's real vocabulary, written by this project's writer (skipped with a message when ../shared/models or the
// llama.cpp binary is missing): every string of a 200+ string Chinese/English/code/emoji corpus tokenizes the same
// (special tokens parsed and not) and round-trips, and the logits over the corpus text agree (KL, top-1, greedy). The
// same corpus on a GLM-4-style byte-level vocabulary ("chatglm-bpe"): our GGUF tokenizer and @huggingface/tokenizers on
// its tokenizer.json against llama.cpp.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { loadHfTokenizer, tokenizerFromGgufMetadata, type TextTokenizer } from "@infer-recipes/tokenizer";
import { afterAll, describe, expect, it } from "vitest";

import { chatGlm3Tokenizer, chatGlm3TokenizerModel, compareTokenizations, ensureChatGlmOracleModel } from "../src/chatglm-quality.ts";
import { tokenizerCorpus } from "../src/chatglm-tokenizer-corpus.ts";
import { ensureGlm4OracleFiles, qwen3TokenizerJson } from "../src/glm4-tokenizer-oracle.ts";
import { createLlamaCppQualityEngine } from "../src/llama-cpp-quality-engine.ts";
import { loadLlamaCpp } from "../src/llama-cpp-peer.ts";
import { createOurQualityEngine } from "../src/our-quality-engine.ts";
import { compareEngines, type QualityEngine } from "../src/quality-comparison.ts";

const hasVocabulary = fs.existsSync(chatGlm3TokenizerModel);
if (!hasVocabulary) console.warn(`[chatglm-quality] skipped: missing ${chatGlm3TokenizerModel}`);
const llamaCpp = await loadLlamaCpp();
if (llamaCpp.llama === undefined) console.warn(`[chatglm-quality] skipped: ${llamaCpp.reason}`);
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "chatglm-quality-"));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

/** Every tokenizer encodes every corpus string as llama.cpp does (special tokens parsed and not), and round-trips it. */
async function expectSameTokenizations(tokenizers: readonly TextTokenizer[], peer: QualityEngine, corpus: readonly string[]): Promise<void> {
  for (const tokenizer of tokenizers) {
    const comparison = await compareTokenizations(tokenizer, (text, special) => peer.tokenize!(text, special), corpus);
    expect(comparison.mismatches.slice(0, 3)).toEqual([]);
    expect(comparison.agreeing).toBe(2 * corpus.length);
    expect(comparison.roundTripFailures).toEqual([]);
  }
}

describe.skipIf(!hasVocabulary || llamaCpp.llama === undefined)("ChatGLM3 on llama.cpp's chatglm architecture", () => {
  it("tokenizes a 200+ string mixed corpus exactly as llama.cpp does, and round-trips it", async () => {
    const file = ensureChatGlmOracleModel("f32", directory);
    const ours = createOurQualityEngine(file, 256);
    const peer = await createLlamaCppQualityEngine({ modelPath: file, contextSize: 256, vocabSize: ours.weights.config.vocabSize, threads: 2 });
    try {
      const corpus = tokenizerCorpus();
      expect(corpus.length).toBeGreaterThanOrEqual(200);
      // The vocabulary read back from the GGUF and the one built from tokenizer.model are the same tokenizer.
      await expectSameTokenizations([tokenizerFromGgufMetadata(ours.weights.metadata), chatGlm3Tokenizer()], peer, corpus);
    } finally {
      await peer.close();
    }
  }, 300_000);

  it("computes the same logits and greedy tokens as llama.cpp (head size 128, RoPE on 64 dimensions, base 10000)", async () => {
    const file = ensureChatGlmOracleModel("f32", directory);
    const ours = createOurQualityEngine(file, 256);
    const peer = await createLlamaCppQualityEngine({ modelPath: file, contextSize: 256, vocabSize: ours.weights.config.vocabSize, threads: 2 });
    try {
      const tokenizer = tokenizerFromGgufMetadata(ours.weights.metadata);
      const tokens = tokenizer.encode(tokenizerCorpus().join("\n"), { addSpecialTokens: false }).slice(0, 192);
      const prompts = ["[gMASK]sop<|user|>\n 你好<|assistant|>", "[gMASK]sop<|user|>\n Write a poem about the sea.<|assistant|>"].map((text) => ({ text, tokens: tokenizer.encode(text) }));
      const result = await compareEngines(ours, peer, tokens, ours.weights.config.vocabSize, prompts, { window: 128, stride: 64, greedyTokens: 16, perplexityTolerance: 0.01 });
      // Random weights make the logits nearly uniform: the limit is tight (1.6e-7 measured; a RoPE layout error: ~5e-6).
      expect(result.mean_kl_divergence).toBeLessThan(1e-6);
      expect(result.top1_agreement).toBeGreaterThan(0.98);
      expect(Math.abs(result.perplexity_ratio - 1)).toBeLessThan(0.01);
      expect(result.greedy_agreement).toBe(1);
    } finally {
      await peer.close();
    }
  }, 300_000);
});

const hasQwenVocabulary = fs.existsSync(qwen3TokenizerJson);
if (!hasQwenVocabulary) console.warn(`[chatglm-quality] GLM-4 tokenizer check skipped: missing ${qwen3TokenizerJson}`);

describe.skipIf(!hasQwenVocabulary || llamaCpp.llama === undefined)("GLM-4's byte-level tokenizer (chatglm-bpe) on llama.cpp", () => {
  it("tokenizes the mixed corpus exactly as llama.cpp does, from the GGUF and from tokenizer.json, and round-trips it", async () => {
    const files = ensureGlm4OracleFiles(directory);
    const ours = createOurQualityEngine(files.gguf, 256);
    const peer = await createLlamaCppQualityEngine({ modelPath: files.gguf, contextSize: 256, vocabSize: ours.weights.config.vocabSize, threads: 2 });
    try {
      const corpus = [...tokenizerCorpus(), "[gMASK]<sop><|user|>\n你好<|assistant|>", "<|observation|>{\"tool\": 1}<|endoftext|>"];
      const gguf = tokenizerFromGgufMetadata(ours.weights.metadata);
      // llama.cpp drops the BOS of this pre-tokenizer; a turn ends at <|user|> and <|observation|> as well as at EOS.
      expect(gguf.bosTokenId).toBeUndefined();
      expect([...gguf.eosTokenIds].sort()).toEqual(["<|endoftext|>", "<|user|>", "<|observation|>"].map((text) => files.special.get(text)!).sort());
      await expectSameTokenizations([gguf, await loadHfTokenizer(files.directory)], peer, corpus);
    } finally {
      await peer.close();
    }
  }, 300_000);
});
