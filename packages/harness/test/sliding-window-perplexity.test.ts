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

describe("slidingWindowPerplexity refusals and boundaries", () => {
  const tokens = Int32Array.from([1, 2, 3, 4, 0, 1]);

  it("names a bad window or stride with the allowed range, and accepts the smallest ones", async () => {
    const options = (window: number, stride: number) => slidingWindowPerplexity(tokens, vocabSize, { window, stride }, bigramLogitsOf);
    await expect(options(1, 1)).rejects.toThrow(new RangeError("slidingWindowPerplexity: window must be an integer ≥ 2, got 1"));
    await expect(options(2.5, 1)).rejects.toThrow(new RangeError("slidingWindowPerplexity: window must be an integer ≥ 2, got 2.5"));
    await expect(options(8, 0)).rejects.toThrow(new RangeError("slidingWindowPerplexity: stride must be an integer in 1..7 (below the window), got 0"));
    await expect(options(8, 1.5)).rejects.toThrow(new RangeError("slidingWindowPerplexity: stride must be an integer in 1..7 (below the window), got 1.5"));
    await expect(options(8, 9)).rejects.toThrow(new RangeError("slidingWindowPerplexity: stride must be an integer in 1..7 (below the window), got 9"));
    const smallest = await options(2, 1);
    expect(smallest.windows).toBe(5);
    expect(smallest.predicted).toBe(5);
    const whole = perplexity(bigramLogits(tokens), tokens, vocabSize).perplexity;
    expect(smallest.perplexity).toBeCloseTo(whole, 10);
    await expect(slidingWindowPerplexity([1], vocabSize, { window: 2, stride: 1 }, bigramLogitsOf)).rejects.toThrow(
      new RangeError("slidingWindowPerplexity: need at least two tokens"),
    );
    const two = await slidingWindowPerplexity([1, 2], vocabSize, { window: 2, stride: 1 }, bigramLogitsOf);
    expect(two).toMatchObject({ predicted: 1, windows: 1 });
    expect(two.tokenNegativeLogLikelihoods).toHaveLength(1);
  });

  it("refuses logits that are not whole rows, start after the first scored row or end before the last", async () => {
    const run = (answer: (request: WindowRequest) => ReturnType<typeof bigramLogitsOf> | { logits: Float32Array; rowsFrom: number }) =>
      slidingWindowPerplexity(tokens, vocabSize, { window: 4, stride: 2 }, answer);
    // The first window is tokens 0..3: rows 0..2 are scored (row 3 would predict the token after the window).
    const message = (got: string) => `slidingWindowPerplexity: the window at 0 needs logits for rows 0..2 of [4, ${vocabSize}], got ${got}`;
    await expect(run(() => new Float32Array(4 * vocabSize - 1))).rejects.toThrow(new RangeError(message(`${4 * vocabSize - 1} values from row 0`)));
    await expect(run((request) => ({ logits: bigramLogits(request.tokens).subarray(vocabSize), rowsFrom: 1 }))).rejects.toThrow(
      new RangeError(message(`${3 * vocabSize} values from row 1`)),
    );
    await expect(run((request) => bigramLogits(request.tokens).subarray(0, 2 * vocabSize))).rejects.toThrow(new RangeError(message(`${2 * vocabSize} values from row 0`)));
    // Exactly the rows read: rows 0..2 of the first window, then rows from firstScoredRow to length − 2.
    const exact = await run((request) => ({
      logits: bigramLogits(request.tokens).subarray(request.firstScoredRow * vocabSize, (request.tokens.length - 1) * vocabSize),
      rowsFrom: request.firstScoredRow,
    }));
    expect(exact.perplexity).toBeCloseTo(perplexity(bigramLogits(tokens), tokens, vocabSize).perplexity, 10);
  });

  it("reports progress after each window and scores every token exactly once", async () => {
    const progress: Array<[number, number]> = [];
    const requests: Array<[number, number, number]> = [];
    const result = await slidingWindowPerplexity(tokens, vocabSize, { window: 4, stride: 3, onProgress: (scored, total) => progress.push([scored, total]) }, (request) => {
      requests.push([request.start, request.tokens.length, request.firstScoredRow]);
      return bigramLogits(request.tokens);
    });
    expect(requests).toEqual([[0, 4, 0], [3, 3, 0]]);
    expect(progress).toEqual([[3, 5], [5, 5]]);
    const whole = perplexity(bigramLogits(tokens), tokens, vocabSize);
    expect(result.negativeLogLikelihood).toBeCloseTo(Math.log(whole.perplexity), 12);
    const single = (index: number) => -Math.log(Math.exp(Math.sin(tokens[index] * 7 + tokens[index + 1] * 3)) / [0, 1, 2, 3, 4].reduce((sum, next) => sum + Math.exp(Math.sin(tokens[index] * 7 + next * 3)), 0));
    Array.from(result.tokenNegativeLogLikelihoods).forEach((value, index) => expect(value).toBeCloseTo(single(index), 5));
  });
});
