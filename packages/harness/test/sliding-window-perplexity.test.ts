// Sliding-window perplexity against the plain whole-text perplexity, and the windows it asks for.
import { describe, expect, it } from "vitest";

import { perplexity, slidingWindowPerplexity, type WindowRequest } from "../src/index.ts";

const vocabSize = 5;

/** A model whose next-token logits depend only on the current token (a bigram table), so the context length does
 *  not matter and sliding windows must give exactly the whole-text perplexity. */
function bigramLogits(tokens: Int32Array): Float32Array {
  const logits = new Float32Array(tokens.length * vocabSize); // [tokens, vocab]
  tokens.forEach((token, row) => {
    for (let next = 0; next < vocabSize; next++) logits[row * vocabSize + next] = Math.sin(token * 7 + next * 3);
  });
  return logits;
}

const text = Int32Array.from({ length: 23 }, (_, index) => (index * index + 3 * index) % vocabSize);

describe("slidingWindowPerplexity", () => {
  it("equals the whole-text perplexity for a context-free model, scoring every token once", async () => {
    const whole = perplexity(bigramLogits(text), text, vocabSize);
    const requests: WindowRequest[] = [];
    const result = await slidingWindowPerplexity(text, vocabSize, { window: 8, stride: 5 }, (request) => {
      requests.push(request);
      return bigramLogits(request.tokens);
    });
    expect(result.predicted).toBe(text.length - 1);
    expect(result.perplexity).toBeCloseTo(whole.perplexity, 10);
    expect(result.tokenNegativeLogLikelihoods.every((value) => value > 0)).toBe(true);
    // windows at 0, 5, 10, 15 (the last one reaches the end, 23 tokens); each scores what the previous did not
    expect(requests.map((request) => [request.start, request.tokens.length, request.firstScoredRow])).toEqual([
      [0, 8, 0],
      [5, 8, 2],
      [10, 8, 2],
      [15, 8, 2],
    ]);
    expect(result.windows).toBe(4);
  });

  it("gives later tokens the longer context: a model that sees its window start scores differently", async () => {
    // Logits that favour the right token only when at least 3 tokens of context precede it in the window.
    const contextual = (request: WindowRequest): Float32Array => {
      const logits = new Float32Array(request.tokens.length * vocabSize);
      for (let row = 0; row + 1 < request.tokens.length; row++) if (row >= 2) logits[row * vocabSize + request.tokens[row + 1]] = 10;
      return logits;
    };
    const short = await slidingWindowPerplexity(text, vocabSize, { window: 4, stride: 3 }, contextual);
    const long = await slidingWindowPerplexity(text, vocabSize, { window: 8, stride: 2 }, contextual);
    expect(long.perplexity).toBeLessThan(short.perplexity);
  });

  it("accepts logits for the scored rows only, and checks their count", async () => {
    const result = await slidingWindowPerplexity(text, vocabSize, { window: 8, stride: 4 }, async (request) => {
      const all = bigramLogits(request.tokens);
      return { logits: all.subarray(request.firstScoredRow * vocabSize), rowsFrom: request.firstScoredRow };
    });
    expect(result.perplexity).toBeCloseTo(perplexity(bigramLogits(text), text, vocabSize).perplexity, 10);
    await expect(slidingWindowPerplexity(text, vocabSize, { window: 8, stride: 4 }, () => new Float32Array(3))).rejects.toThrow(/needs logits/);
  });

  it("rejects windows and strides that cannot score every token", async () => {
    await expect(slidingWindowPerplexity(text, vocabSize, { window: 1, stride: 1 }, bigramLogitsOf)).rejects.toThrow(/window/);
    await expect(slidingWindowPerplexity(text, vocabSize, { window: 8, stride: 8 }, bigramLogitsOf)).rejects.toThrow(/stride/);
    await expect(slidingWindowPerplexity([1], vocabSize, { window: 8, stride: 4 }, bigramLogitsOf)).rejects.toThrow(/two tokens/);
  });
});

function bigramLogitsOf(request: WindowRequest): Float32Array {
  return bigramLogits(request.tokens);
}
