// The sampler's smaller rules, each pinned so that a flipped comparison or a dropped step fails (found by mutation
// testing, `pnpm mutate engine`): option ranges at their boundaries, the repetition window, min-p's threshold,
// temperature's reshaping, the exact distribution() that speculative decoding relies on, draw() over a distribution,
// and largestIndices against a full sort.
import { describe, expect, it } from "vitest";

import { Sampler, SamplingError, argmax, largestIndices, validateSamplingOptions, type SamplingOptions } from "../src/index.ts";

describe("sampling options at their boundaries", () => {
  const accepted: SamplingOptions[] = [
    { temperature: 0 }, { topK: 0 }, { topK: 5 }, { topP: 1 }, { topP: 1e-9 }, { minP: 0 }, { minP: 0.999 },
    { repetitionPenalty: 1e-6 }, { repetitionWindow: 0 }, { repetitionWindow: 3 }, { seed: 0 }, { seed: -7 },
  ];
  for (const options of accepted) {
    it(`accepts ${JSON.stringify(options)}`, () => expect(() => validateSamplingOptions(options)).not.toThrow());
  }
  const refused: Array<[SamplingOptions, RegExp]> = [
    [{ temperature: -1e-9 }, /^temperature must be a number ≥ 0, got -1e-9$/],
    [{ temperature: Number.NaN }, /^temperature must be a number ≥ 0, got NaN$/],
    [{ temperature: Infinity }, /^temperature must be a number ≥ 0, got Infinity$/],
    [{ topK: -1 }, /^topK must be an integer ≥ 0, got -1$/],
    [{ topK: 1.5 }, /^topK must be an integer ≥ 0, got 1.5$/],
    [{ topP: 0 }, /^topP must be in \(0, 1\], got 0$/],
    [{ topP: 1.0001 }, /^topP must be in \(0, 1\], got 1.0001$/],
    [{ minP: -0.1 }, /^minP must be in \[0, 1\), got -0.1$/],
    [{ minP: 1 }, /^minP must be in \[0, 1\), got 1$/],
    [{ repetitionPenalty: 0 }, /^repetitionPenalty must be a number > 0, got 0$/],
    [{ repetitionWindow: -1 }, /^repetitionWindow must be an integer ≥ 0, got -1$/],
    [{ repetitionWindow: 2.5 }, /^repetitionWindow must be an integer ≥ 0, got 2.5$/],
    [{ seed: 0.5 }, /^seed must be an integer, got 0.5$/],
  ];
  for (const [options, message] of refused) {
    it(`refuses ${JSON.stringify(options)} by name`, () => {
      expect(() => validateSamplingOptions(options)).toThrow(message);
      expect(() => new Sampler(options)).toThrow(SamplingError);
    });
  }
  it("names the error SamplingError", () => {
    expect(() => new Sampler({ topP: 0 })).toThrow(expect.objectContaining({ name: "SamplingError" }));
  });
});

describe("repetition penalty details", () => {
  it("looks only at the last repetitionWindow tokens (default 64)", () => {
    const logits = Float32Array.of(2, 1.9, -5);
    // Token 0 seen 3 tokens ago (then token 2): inside a window of 3, outside a window of 2.
    expect(new Sampler({ repetitionPenalty: 1.2, repetitionWindow: 3 }).sample(logits, [0, 2, 2])).toBe(1);
    expect(new Sampler({ repetitionPenalty: 1.2, repetitionWindow: 2 }).sample(logits, [0, 2, 2])).toBe(0);
    // Default window: 64 tokens back is inside, 65 is not.
    const history = (back: number) => [0, ...new Array(back - 1).fill(2)];
    expect(new Sampler({ repetitionPenalty: 1.2 }).sample(logits, history(64))).toBe(1);
    expect(new Sampler({ repetitionPenalty: 1.2 }).sample(logits, history(65))).toBe(0);
    // Window 0 penalizes nothing.
    expect(new Sampler({ repetitionPenalty: 1.2, repetitionWindow: 0 }).sample(logits, [0])).toBe(0);
  });

  it("ignores previous tokens outside the vocabulary and leaves a zero logit at zero", () => {
    const logits = Float32Array.of(0, -0.1);
    // −1 and 2 are not tokens of this vocabulary; 0 × penalty and 0 / penalty are both 0, so token 0 stays ahead.
    expect(new Sampler({ repetitionPenalty: 5 }).sample(logits, [-1, 2, 0])).toBe(0);
    const distribution = new Sampler({ temperature: 1, repetitionPenalty: 2 }).distribution(Float32Array.of(1, 1, -1), [1, 2]);
    // Scores 1, 1/2, −2: softmax of those exactly.
    const weights = [1, 0.5, -2].map(Math.exp), total = weights.reduce((a, b) => a + b);
    for (let token = 0; token < 3; token++) expect(distribution[token]).toBeCloseTo(weights[token] / total, 6);
  });
});

describe("distribution()", () => {
  const logits = Float32Array.of(1, 3, 2, 0);

  it("is one-hot at the best token when greedy (temperature 0 or unset)", () => {
    expect(Array.from(new Sampler().distribution(logits))).toEqual([0, 1, 0, 0]);
    expect(Array.from(new Sampler({ temperature: 0 }).distribution(logits))).toEqual([0, 1, 0, 0]);
    expect(new Sampler().greedy).toBe(true);
    expect(new Sampler({ temperature: 0.5 }).greedy).toBe(false);
  });

  it("is the softmax at temperature T of the kept tokens, zero elsewhere", () => {
    const softmax = (values: number[], temperature: number) => {
      const weights = values.map((value) => Math.exp(value / temperature));
      const total = weights.reduce((a, b) => a + b);
      return weights.map((weight) => weight / total);
    };
    const full = new Sampler({ temperature: 0.5 }).distribution(logits);
    softmax([1, 3, 2, 0], 0.5).forEach((p, token) => expect(full[token]).toBeCloseTo(p, 9));
    // top-k 2 keeps tokens 1 and 2, renormalized at temperature 2.
    const topK = new Sampler({ temperature: 2, topK: 2 }).distribution(logits);
    const kept = softmax([3, 2], 2);
    expect(topK[0]).toBe(0);
    expect(topK[3]).toBe(0);
    expect(topK[1]).toBeCloseTo(kept[0], 9);
    expect(topK[2]).toBeCloseTo(kept[1], 9);
  });

  it("min-p keeps tokens whose probability is at least minP × the best one (at temperature 1, before temperature)", () => {
    // Relative probabilities e^(x − 3): 0.135, 1, 0.368, 0.0498.
    const kept = (minP: number, temperature = 1) => Array.from(new Sampler({ temperature, minP }).distribution(logits)).map((p, token) => (p > 0 ? token : -1)).filter((token) => token >= 0);
    expect(kept(0.3)).toEqual([1, 2]);
    expect(kept(0.1)).toEqual([0, 1, 2]);
    expect(kept(Math.exp(-1))).toEqual([1, 2]); // exactly at the threshold: kept (≥)
    expect(kept(0.3, 4)).toEqual([1, 2]); // the threshold does not move with temperature
  });

  it("top-p selects by probability at temperature 1, then temperature reshapes the survivors", () => {
    // Probabilities ≈ 0.090, 0.665, 0.245, 0.033: top-p 0.8 keeps tokens 1 and 2, at any temperature.
    for (const temperature of [0.3, 1, 5]) {
      const distribution = new Sampler({ temperature, topP: 0.8 }).distribution(logits);
      expect(Array.from(distribution).map((p) => p > 0)).toEqual([false, true, true, false]);
      expect(distribution[1] + distribution[2]).toBeCloseTo(1, 12);
    }
    // A vocabulary larger than the first top-p window (64 candidates) widens it until the nucleus is complete.
    const flat = new Float32Array(1000);
    const wide = new Sampler({ temperature: 1, topP: 0.5 }).distribution(flat);
    expect(wide.filter((p) => p > 0).length).toBe(500);
    expect(Array.from(wide.subarray(0, 500)).every((p) => Math.abs(p - 1 / 500) < 1e-12)).toBe(true);
  });
});

describe("draw() and uniform()", () => {
  it("draws only tokens with positive probability, in proportion", () => {
    const sampler = new Sampler({ temperature: 1, seed: 3 });
    const probabilities = Float64Array.of(0, 0.25, 0, 0.75, 0);
    const counts = [0, 0, 0, 0, 0];
    for (let draw = 0; draw < 4000; draw++) counts[sampler.draw(probabilities)]++;
    expect(counts[0] + counts[2] + counts[4]).toBe(0);
    expect(counts[1] / 4000).toBeGreaterThan(0.2);
    expect(counts[1] / 4000).toBeLessThan(0.3);
  });

  it("scales by total, falls back to the last positive token, and refuses an all-zero distribution", () => {
    const sampler = new Sampler({ temperature: 1, seed: 9 });
    // Weights summing to 4 with total 4: token 2 (weight 3) about three quarters of the time.
    let twos = 0;
    for (let draw = 0; draw < 2000; draw++) twos += sampler.draw(Float64Array.of(1, 0, 3), 4) === 2 ? 1 : 0;
    expect(twos / 2000).toBeGreaterThan(0.7);
    expect(twos / 2000).toBeLessThan(0.8);
    // A total larger than the weights' sum (rounding) still returns the last positive token, never one past it.
    for (let draw = 0; draw < 50; draw++) expect(sampler.draw(Float64Array.of(0.1, 0.1, 0), 10)).toBeLessThanOrEqual(1);
    expect(sampler.draw(Float64Array.of(0, 1e-300, 0), 1)).toBe(1);
    expect(() => sampler.draw(Float64Array.of(0, 0, 0))).toThrow(/draw: the distribution has no positive probability/);
  });

  it("uniform() is in [0, 1), seeded, and advances the same stream as sampling", () => {
    const a = new Sampler({ temperature: 1, seed: 5 }), b = new Sampler({ temperature: 1, seed: 5 });
    const values = Array.from({ length: 100 }, () => a.uniform());
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(Array.from({ length: 100 }, () => b.uniform())).toEqual(values);
    expect(new Set(values).size).toBeGreaterThan(95);
  });

  it("sample() at temperature > 0 falls back to the last candidate when rounding leaves the target unspent", () => {
    // One candidate: the draw always lands on it.
    const sampler = new Sampler({ temperature: 1, topK: 1, seed: 2 });
    for (let draw = 0; draw < 20; draw++) expect(sampler.sample(Float32Array.of(0, 5, 1))).toBe(1);
  });
});

describe("argmax and largestIndices", () => {
  it("argmax takes the first of equal maxima", () => {
    expect(argmax(Float32Array.of(1, 3, 3, 2))).toBe(1);
    expect(argmax(Float32Array.of(-5))).toBe(0);
    expect(argmax(Float32Array.of(-2, -1, -3))).toBe(1);
  });

  it("largestIndices equals a full sort (score descending, lower index first on ties) for every count", () => {
    let state = 17;
    const next = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (const size of [1, 2, 7, 33, 200]) {
      // Few distinct values, so ties are common.
      const scores = Float32Array.from({ length: size }, () => Math.floor(next() * 6) - 3);
      const sorted = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
      for (const count of [0, 1, 2, 3, Math.floor(size / 2), size - 1, size, size + 5]) {
        expect(Array.from(largestIndices(scores, count)), `size ${size} count ${count}`).toEqual(sorted.slice(0, Math.max(0, Math.min(count, size))));
      }
    }
    expect(Array.from(largestIndices(Float32Array.of(1, 2), -3))).toEqual([]);
  });
});
