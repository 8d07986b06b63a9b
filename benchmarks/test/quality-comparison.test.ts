// The quality comparison on fake engines with known logits: identical engines agree exactly; a shifted engine fails
// the perplexity tolerance; greedy agreement alone can pass; llama.cpp's logit maps become dense rows.
import { describe, expect, it } from "vitest";

import { denseLogits } from "../src/llama-cpp-quality-engine.ts";
import { compareEngines, type QualityEngine } from "../src/quality-comparison.ts";

const vocabSize = 8;

/** An engine whose logits for a position favour token (previous + 1) mod vocab by `confidence`. */
function fakeEngine(confidence: number, greedyOffset = 0): QualityEngine {
  return {
    description: "fake",
    async windowLogits(tokens, firstScoredRow) {
      const rows = tokens.length - 1 - firstScoredRow;
      const logits = new Float32Array(rows * vocabSize);
      for (let row = 0; row < rows; row++) logits[row * vocabSize + ((tokens[firstScoredRow + row] + 1) % vocabSize)] = confidence;
      return logits;
    },
    async greedy(prompt, count) {
      return Array.from({ length: count }, (_, index) => (prompt[prompt.length - 1] + 1 + index + greedyOffset) % vocabSize);
    },
    async close() {},
  };
}

const tokens = Array.from({ length: 40 }, (_, index) => index % vocabSize);
const prompts = [{ text: "a", tokens: [1, 2] }];
const settings = { window: 8, stride: 4, greedyTokens: 5, perplexityTolerance: 0.01 };

describe("compareEngines", () => {
  it("reports equal perplexities, zero KL, full agreement and a pass for identical engines", async () => {
    const result = await compareEngines(fakeEngine(3), fakeEngine(3), tokens, vocabSize, prompts, settings);
    expect(result.predicted_tokens).toBe(39);
    expect(result.perplexity_ratio).toBe(1);
    expect(result.ours_perplexity).toBeCloseTo(Math.exp(-(3 - Math.log(Math.exp(3) + 7))), 9);
    expect(result.mean_kl_divergence).toBe(0);
    expect(result.top1_agreement).toBe(1);
    expect(result.max_abs_logit_difference).toBe(0);
    expect(result.greedy).toEqual([{ prompt: "a", agreement: 1, common_prefix: 5, compared: 5 }]);
    expect(result.pass).toBe(true);
  });

  it("fails when perplexities differ by more than the tolerance and greedy tokens differ", async () => {
    const result = await compareEngines(fakeEngine(3), fakeEngine(2, 1), tokens, vocabSize, prompts, settings);
    expect(result.perplexity_ratio).toBeLessThan(0.99);
    expect(result.mean_kl_divergence).toBeGreaterThan(0);
    expect(result.top1_agreement).toBe(1); // same favourite token, different confidence
    expect(result.greedy_agreement).toBe(0);
    expect(result.pass).toBe(false);
  });

  it("passes on 100% greedy agreement even when perplexities differ", async () => {
    const result = await compareEngines(fakeEngine(3), fakeEngine(2), tokens, vocabSize, prompts, settings);
    expect(result.greedy_agreement).toBe(1);
    expect(result.pass).toBe(true);
  });
});

describe("denseLogits", () => {
  it("places each token's logit at its id", () => {
    const dense = denseLogits([new Map([[2, 5], [0, 1], [1, -1]])], 3);
    expect([...dense]).toEqual([1, -1, 5]);
  });

  it("rejects rows that do not cover the vocabulary", () => {
    expect(() => denseLogits([new Map([[0, 1]])], 3)).toThrow(/1 logits for row 0, expected the whole vocabulary \(3\)/);
    expect(() => denseLogits([undefined], 3)).toThrow(/no logits/);
  });
});
