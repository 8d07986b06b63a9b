// The accuracy metrics on cases with known answers.
import { describe, expect, it } from "vitest";

import { compareLogits, describeChecks, greedyAgreement, klDivergence, passes, perplexity } from "../src/index.ts";

describe("accuracy metrics", () => {
  it("KL divergence is 0 for equal and shift-invariant logits, and matches a hand computation", () => {
    expect(klDivergence([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(klDivergence([1, 2, 3], [11, 12, 13])).toBeLessThan(1e-12);
    // p = softmax([0, ln 3]) = [1/4, 3/4]; q = [1/2, 1/2]: KL = 1/4 ln(1/2) + 3/4 ln(3/2)
    expect(klDivergence([0, Math.log(3)], [0, 0])).toBeCloseTo(0.25 * Math.log(0.5) + 0.75 * Math.log(1.5), 12);
  });

  it("compareLogits reports max-abs-diff, agreement and KL per position", () => {
    const reference = Float32Array.of(0, 1, 2, 5, 0, 0);
    const optimized = Float32Array.of(0, 1, 2.5, 0, 5, 0);
    const result = compareLogits(reference, optimized, 3);
    expect(result.maxAbsDiff).toBe(5);
    expect(result.top1Agreement).toBe(0.5);
    expect(result.positions).toBe(2);
    expect(() => compareLogits(reference, optimized.subarray(0, 3), 3)).toThrow(/must both be/);
  });

  it("perplexity of a uniform model is the vocabulary size; of a certain one, 1", () => {
    expect(perplexity(new Float32Array(2 * 4), [0, 1, 2], 4).perplexity).toBeCloseTo(4, 10);
    expect(perplexity(Float32Array.of(0, 100, -100, 0, 0, 0, 100, -100), [0, 1, 2], 4).perplexity).toBeCloseTo(1, 6);
  });

  it("greedy agreement counts equal positions and the common prefix", () => {
    expect(greedyAgreement([1, 2, 3, 4], [1, 2, 9, 4])).toEqual({ agreement: 0.75, commonPrefix: 2, compared: 4 });
  });

  it("tolerance checks pass and fail by kind, and say so", () => {
    const ok = { what: "q8_0", metric: "KL divergence", value: 1e-4, limit: 1e-2, kind: "max" as const };
    const bad = { what: "q4_0", metric: "top-1 agreement", value: 0.5, limit: 0.9, kind: "min" as const };
    expect(passes(ok)).toBe(true);
    expect(passes(bad)).toBe(false);
    expect(describeChecks([ok, bad])).toMatch(/PASS {2}q8_0.*\nFAIL {2}q4_0/);
  });
});
