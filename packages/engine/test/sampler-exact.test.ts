// The sampler's candidate set and weights computed exactly through distribution(): top-p measured within the top-k
// set (not the whole vocabulary), top-k at or above the vocabulary size, top-p windows that must widen (a nucleus
// larger than the first 64 candidates), min-p after top-k, and sample() drawing exactly by cumulative weight.
import { describe, expect, it } from "vitest";

import { Sampler } from "../src/index.ts";

const logitsFor = (probabilities: number[]) => Float32Array.from(probabilities, Math.log);
const support = (distribution: Float64Array) => Array.from(distribution.keys()).filter((token) => distribution[token] > 0);

describe("candidates, exactly", () => {
  const logits = logitsFor([0.5, 0.3, 0.15, 0.05]);

  it("top-p after top-k measures probability within the top-k set", () => {
    // Within the top 2 (0.8 in all), token 0 alone holds 0.625 ≥ 0.6: the nucleus is token 0 only. Measured over the
    // whole vocabulary it would hold 0.5 < 0.6 and take token 1 as well.
    expect(support(new Sampler({ temperature: 1, topK: 2, topP: 0.6 }).distribution(logits))).toEqual([0]);
    expect(support(new Sampler({ temperature: 1, topK: 2, topP: 0.65 }).distribution(logits))).toEqual([0, 1]);
    const p = new Sampler({ temperature: 1, topK: 3, topP: 0.9 }).distribution(logits);
    expect(support(p)).toEqual([0, 1, 2]);
    [0.5, 0.3, 0.15].forEach((value, token) => expect(p[token]).toBeCloseTo(value / 0.95, 6));
  });

  it("top-k of the vocabulary size or more keeps everything, with or without top-p", () => {
    for (const topK of [4, 5, 100]) {
      const all = new Sampler({ temperature: 1, topK }).distribution(logits);
      [0.5, 0.3, 0.15, 0.05].forEach((value, token) => expect(all[token], `top-k ${topK}`).toBeCloseTo(value, 6));
      expect(support(new Sampler({ temperature: 1, topK, topP: 0.85 }).distribution(logits))).toEqual([0, 1, 2]);
    }
    expect(support(new Sampler({ temperature: 1, topK: 3 }).distribution(logits))).toEqual([0, 1, 2]);
  });

  it("a nucleus larger than the first window of 64 candidates, and larger than the second of 512", () => {
    // Geometric probabilities: the nucleus for top-p is the smallest prefix reaching it; checked against a direct count.
    for (const [vocabulary, topP] of [[200, 0.999], [100, 0.5], [3000, 0.9999], [70, 0.99999]] as const) {
      const ratio = 0.99;
      const weights = Array.from({ length: vocabulary }, (_, token) => ratio ** token);
      const total = weights.reduce((a, b) => a + b);
      let cumulative = 0, expected = 0;
      while (cumulative / total < topP) cumulative += weights[expected++];
      const kept = support(new Sampler({ temperature: 1, topP }).distribution(Float32Array.from(weights, Math.log)));
      expect(kept.length, `vocabulary ${vocabulary}, top-p ${topP}`).toBe(expected);
      expect(kept).toEqual(Array.from({ length: expected }, (_, token) => token));
    }
  });

  it("min-p applies to what top-k and top-p kept, relative to the best token", () => {
    // Relative probabilities 1, 0.6, 0.3, 0.1: min-p 0.35 keeps 0 and 1, whether or not top-k 3 ran first.
    expect(support(new Sampler({ temperature: 1, minP: 0.35 }).distribution(logits))).toEqual([0, 1]);
    expect(support(new Sampler({ temperature: 1, topK: 3, minP: 0.35 }).distribution(logits))).toEqual([0, 1]);
    expect(support(new Sampler({ temperature: 1, topP: 0.99, minP: 0.25 }).distribution(logits))).toEqual([0, 1, 2]);
  });
});

describe("sample() draws by cumulative weight", () => {
  it("a draw u picks the first candidate whose cumulative weight exceeds u · total", () => {
    // Probabilities 0.5, 0.3, 0.15, 0.05 in index order (no sorting without top-k/top-p): the draw's uniform u picks
    // token 0 for u < 0.5, 1 for u < 0.8, 2 for u < 0.95, else 3. uniform() and sample() share one stream, so a twin
    // sampler with the same seed tells which u each sample() used.
    const logits = logitsFor([0.5, 0.3, 0.15, 0.05]);
    const sampler = new Sampler({ temperature: 1, seed: 123 });
    const twin = new Sampler({ temperature: 1, seed: 123 });
    const edges = [0.5, 0.8, 0.95];
    for (let draw = 0; draw < 400; draw++) {
      const u = twin.uniform();
      const expected = edges.filter((edge) => u >= edge + 1e-6).length;
      if (edges.some((edge) => Math.abs(u - edge) < 1e-6)) {
        sampler.sample(logits);
        continue;
      }
      expect(sampler.sample(logits), `u = ${u}`).toBe(expected);
    }
  });

  it("with top-k the candidates are best first: u below the best one's share picks the best token", () => {
    const logits = logitsFor([0.05, 0.15, 0.5, 0.3]);
    const sampler = new Sampler({ temperature: 1, topK: 3, seed: 7 });
    const twin = new Sampler({ temperature: 1, seed: 7 });
    // Best first: 2 (0.5), 3 (0.3), 1 (0.15), out of 0.95. (Top-k of the whole vocabulary keeps index order.)
    const order = [2, 3, 1];
    const edges = [0.5 / 0.95, 0.8 / 0.95];
    for (let draw = 0; draw < 400; draw++) {
      const u = twin.uniform();
      const index = edges.filter((edge) => u >= edge + 1e-6).length;
      if (edges.some((edge) => Math.abs(u - edge) < 1e-6)) {
        sampler.sample(logits);
        continue;
      }
      expect(sampler.sample(logits), `u = ${u}`).toBe(order[index]);
    }
  });
});
