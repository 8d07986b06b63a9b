// The sampler at its exact boundaries, with the uniform it draws scripted (SeededRandom.prototype.next stubbed): a
// target that lands exactly on a cumulative weight moves on to the next token (in sample() and draw()), the last
// positive token when the weights do not use up the total, the last candidate when rounding leaves a target just
// below 1 unspent, candidates in index order without top-k and top-p (not best first), the seed an unseeded sampler
// takes from Math.random, and large logits (weights relative to the best one, so nothing overflows).
import { afterEach, describe, expect, it, vi } from "vitest";

import { Sampler, SeededRandom } from "../src/index.ts";

afterEach(() => vi.restoreAllMocks());

/** Makes every SeededRandom return `values` in turn. */
function scriptUniforms(...values: number[]): void {
  let index = 0;
  vi.spyOn(SeededRandom.prototype, "next").mockImplementation(() => values[index++ % values.length]);
}

describe("draws at their boundaries (scripted uniforms)", () => {
  it("sample(): a target exactly at a cumulative weight goes to the next candidate", () => {
    // Two equal logits: weights 1 and 1, total 2. u = 0.5 gives target 1, which the first weight uses up exactly.
    scriptUniforms(0.5, 0.4999999, 0);
    const sampler = new Sampler({ temperature: 1 });
    const logits = Float32Array.of(0, 0);
    expect([sampler.sample(logits), sampler.sample(logits), sampler.sample(logits)]).toEqual([1, 0, 0]);
  });

  it("draw(): the same rule, the last positive token when the weights fall short of the total, and only then", () => {
    scriptUniforms(0.5);
    const sampler = new Sampler({ temperature: 1 });
    expect(sampler.draw(Float64Array.of(0.5, 0.5))).toBe(1);
    expect(sampler.draw(Float64Array.of(0, 0.5, 0, 0.5))).toBe(3);
    // Weights 0.25 (token 0 only) of a total of 1: the target 0.5 is never spent; token 0 is the last positive one.
    expect(sampler.draw(Float64Array.of(0.25, 0))).toBe(0);
    expect(sampler.draw(Float64Array.of(0.25, 0), 0.5)).toBe(0);
    expect(() => sampler.draw(Float64Array.of(0, 0))).toThrow("draw: the distribution has no positive probability");
  });

  it("sample(): the last candidate when rounding leaves a target just below 1 unspent", () => {
    // exp(0.7 − 1.6) + exp(0.5 − 1.6) + 1 summed, times the largest double below 1, is not used up by subtracting the
    // three weights one by one: the loop ends without a pick and the last candidate (token 2) is taken.
    scriptUniforms(1 - 2 ** -53);
    expect(new Sampler({ temperature: 1 }).sample(Float32Array.of(0.7, 0.5, 1.6))).toBe(2);
  });
});

describe("candidates without top-k and top-p", () => {
  it("are the vocabulary in index order, not best first", () => {
    // Probabilities 0.05, 0.15, 0.5, 0.3 in index order: cumulative 0.05, 0.2, 0.7, 1.
    const logits = Float32Array.from([0.05, 0.15, 0.5, 0.3], Math.log);
    const picks = (u: number) => {
      scriptUniforms(u);
      const token = new Sampler({ temperature: 1 }).sample(logits);
      vi.restoreAllMocks();
      return token;
    };
    expect([0.01, 0.1, 0.3, 0.65, 0.75, 0.99].map(picks)).toEqual([0, 1, 2, 2, 3, 3]);
    // topP 1 and topK 0 mean the same: everything, in index order.
    scriptUniforms(0.1);
    expect(new Sampler({ temperature: 1, topP: 1, topK: 0 }).sample(logits)).toBe(1);
  });
});

describe("top-p just below 1", () => {
  it("ends with every token when rounding keeps the best-first sum below topP of the total", () => {
    // 3000 logits: summed best first, the weights fall short of topP × their index-order sum by rounding, so the
    // window must stop because it holds every candidate, not because it reached topP.
    const logits = Float32Array.from({ length: 3000 }, (_, index) => 8 * Math.abs(Math.sin(index * 5) % 1));
    const top = Math.max(...logits);
    const weights = Array.from(logits, (logit) => Math.exp(logit - top));
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    const bestFirst = [...weights].sort((a, b) => b - a).reduce((sum, weight) => sum + weight, 0);
    const topP = 1 - 2 ** -53;
    expect(bestFirst / total).toBeLessThan(topP);
    const distribution = new Sampler({ temperature: 1, topP }).distribution(logits);
    expect(distribution.filter((probability) => probability > 0).length).toBe(3000);
  });
});

describe("seeding and scale", () => {
  it("an unseeded sampler seeds itself with Math.random() × 2^32, rounded down", () => {
    for (const random of [0.5, 0.25, 0.9999]) {
      vi.spyOn(Math, "random").mockReturnValue(random);
      const unseeded = new Sampler({ temperature: 1 });
      vi.restoreAllMocks();
      const seeded = new Sampler({ temperature: 1, seed: Math.floor(random * 2 ** 32) });
      expect(Array.from({ length: 4 }, () => unseeded.uniform()), `Math.random() = ${random}`).toEqual(Array.from({ length: 4 }, () => seeded.uniform()));
    }
  });

  it("large logits give finite probabilities: weights are taken relative to the best logit", () => {
    // exp(600 / 0.5) would overflow; relative to the best one the weights are 1 and exp(−2).
    const distribution = new Sampler({ temperature: 0.5 }).distribution(Float32Array.of(300, 299));
    expect(distribution[0]).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
    expect(distribution[1]).toBeCloseTo(Math.exp(-2) / (1 + Math.exp(-2)), 12);
    scriptUniforms(0.95);
    expect(new Sampler({ temperature: 0.5 }).sample(Float32Array.of(300, 299))).toBe(1);
  });
});
