// The sampler's rules where a wrong implementation would still pass a loose test: the repetition penalty on negative
// logits (multiply, so the token becomes less likely) and the exact top-p nucleus at its boundary (the smallest set
// whose probability reaches top-p: not one token fewer, not one more), checked on the support of many draws.
import { describe, expect, it } from "vitest";

import { Sampler } from "../src/index.ts";

/** Logits whose softmax is `probabilities`. */
function logitsFor(probabilities: number[]): Float32Array {
  return Float32Array.from(probabilities, Math.log);
}

/** The set of tokens drawn in `draws` samples, sorted. */
function support(sampler: Sampler, logits: Float32Array, draws: number): number[] {
  const seen = new Set<number>();
  for (let draw = 0; draw < draws; draw++) seen.add(sampler.sample(logits));
  return [...seen].sort((a, b) => a - b);
}

describe("repetition penalty", () => {
  it("makes a seen token with a negative logit less likely (multiplies it), not more (divides it)", () => {
    // Token 0 leads by 0.1; penalized by 1.2 it falls to −1.2, below token 1. Divided, it would rise to −0.83.
    const negative = Float32Array.of(-1, -1.1, -3);
    expect(new Sampler({ repetitionPenalty: 1.2 }).sample(negative, [0])).toBe(1);
    expect(new Sampler({ repetitionPenalty: 1.2 }).sample(negative, [2])).toBe(0);
    // A penalty below 1 favours seen tokens: the trailing token 2 at −3 × 0.3 = −0.9 overtakes token 0.
    expect(new Sampler({ repetitionPenalty: 0.3 }).sample(negative, [2])).toBe(2);
    // The size of the step: −2 × 1.1 = −2.2 stays above −2.3; −2 × 1.2 = −2.4 falls below it.
    const close = Float32Array.of(-2, -2.3);
    expect(new Sampler({ repetitionPenalty: 1.1 }).sample(close, [0])).toBe(0);
    expect(new Sampler({ repetitionPenalty: 1.2 }).sample(close, [0])).toBe(1);
  });

  it("divides positive logits and leaves the caller's logits untouched", () => {
    const mixed = Float32Array.of(2, 1.9, -0.5);
    expect(new Sampler({ repetitionPenalty: 1.2 }).sample(mixed, [0])).toBe(1);
    expect(Array.from(mixed)).toEqual([2, 1.9, -0.5].map(Math.fround));
  });
});

describe("top-p", () => {
  // Cumulative probabilities 0.5, 0.8, 0.95, 1: top-p between two of them keeps exactly the tokens up to the next one.
  const logits = logitsFor([0.5, 0.3, 0.15, 0.05]);
  const cases: Array<[number, number[]]> = [
    [0.45, [0]],
    [0.6, [0, 1]],
    [0.85, [0, 1, 2]], // token 2 (15 %) is the boundary token: the nucleus must include it
    [0.97, [0, 1, 2, 3]],
  ];
  for (const [topP, expected] of cases) {
    it(`top-p ${topP} draws exactly tokens ${expected.join(", ")} over 3000 draws`, () => {
      // Each kept token has renormalized probability ≥ 5 %: absent from 3000 draws with probability < 1e-60.
      expect(support(new Sampler({ temperature: 1, topP, seed: 21 }), logits, 3000)).toEqual(expected);
    });
  }

  it("stops at the first token whose cumulative probability reaches top-p exactly (≥, as llama.cpp)", () => {
    // Four equal logits: cumulative 0.25, 0.5, 0.75, 1, exact in binary. Ties go to the lower index.
    const uniform = new Float32Array(4);
    expect(support(new Sampler({ temperature: 1, topP: 0.5, seed: 8 }), uniform, 2000)).toEqual([0, 1]);
    expect(support(new Sampler({ temperature: 1, topP: 0.75, seed: 8 }), uniform, 2000)).toEqual([0, 1, 2]);
  });

  it("keeps the boundary token whatever order the vocabulary lists the tokens in", () => {
    // The same distribution shuffled: [0.15, 0.05, 0.5, 0.3] → the nucleus for 0.85 is tokens 2, 3 and 0.
    const shuffled = logitsFor([0.15, 0.05, 0.5, 0.3]);
    expect(support(new Sampler({ temperature: 1, topP: 0.85, seed: 4 }), shuffled, 3000)).toEqual([0, 2, 3]);
    // And after top-k has already cut the list to three, top-p 0.97 cannot bring the fourth back.
    expect(support(new Sampler({ temperature: 1, topK: 3, topP: 0.97, seed: 4 }), shuffled, 3000)).toEqual([0, 2, 3]);
  });
});
