// The accuracy metrics' exact figures: log-softmax at the edges (the maximum in the last place, all equal, -Infinity),
// ties in the top-1 choice (the first maximum wins), compareLogits' max, mean and maximum over several positions (NaN
// counts as an infinite difference), the vocabulary-size check, perplexity over fewer logit rows than tokens, and
// greedy agreement of sequences of different lengths.
import { describe, expect, it } from "vitest";

import { compareLogits, greedyAgreement, klDivergence, perplexity } from "../src/index.ts";
import { logSoftmax } from "../src/accuracy-metrics.ts";

describe("logSoftmax", () => {
  it("normalizes whatever position holds the maximum, in float64", () => {
    const last = logSoftmax([0, 0, Math.log(2)]); // probabilities 1/4, 1/4, 1/2
    expect(Array.from(last, Math.exp)).toEqual([0.25, 0.25, 0.5].map((value) => expect.closeTo(value, 14)));
    const first = logSoftmax(Float32Array.of(Math.log(2), 0, 0));
    expect(first).toBeInstanceOf(Float64Array);
    expect(Math.exp(first[0])).toBeCloseTo(0.5, 8); // ln 2 rounded to float32
    expect(Array.from(logSoftmax([1000, 1000]))).toEqual([-Math.log(2), -Math.log(2)].map((value) => expect.closeTo(value, 12)));
    expect(Array.from(logSoftmax([5, Number.NEGATIVE_INFINITY]))).toEqual([0, Number.NEGATIVE_INFINITY]);
  });
});

describe("compareLogits over several positions", () => {
  it("takes the largest difference, the mean and maximum KL, and top-1 agreement with the first maximum winning ties", () => {
    // Three positions of vocabulary 2: equal; KL of [0, ln 3] against [0, 0]; a tie [1, 1] against [1, 0] (both pick 0).
    const reference = Float32Array.of(0, 0, 0, Math.log(3), 1, 1);
    const optimized = Float32Array.of(0, 0, 0, 0, 1, 0);
    const kl2 = 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5);
    const kl3 = klDivergence([1, 1], [1, 0]);
    const result = compareLogits(reference, optimized, 2);
    expect(result.positions).toBe(3);
    expect(result.maxAbsDiff).toBeCloseTo(Math.log(3), 6);
    expect(result.meanKlDivergence).toBeCloseTo((0 + kl2 + kl3) / 3, 7);
    expect(result.maxKlDivergence).toBeCloseTo(Math.max(kl2, kl3), 7);
    expect(result.top1Agreement).toBeCloseTo(2 / 3, 15); // the second position: 1 against the tie [0, 0], which picks 0
    // A later, larger maximum: [0, 2] picks 1, [2, 0] picks 0.
    expect(compareLogits(Float32Array.of(0, 2, 0, 3), Float32Array.of(2, 0, 0, 3), 2).top1Agreement).toBe(0.5);
    expect(compareLogits(Float32Array.of(0, 1, 2), Float32Array.of(0, 1, 3), 3).top1Agreement).toBe(1);
    expect(compareLogits(Float32Array.of(0, 3, 2), Float32Array.of(0, 2, 3), 3).top1Agreement).toBe(0);
  });

  it("keeps the first maximum of a tie in the optimized row too", () => {
    expect(compareLogits(Float32Array.of(5, 1, 1), Float32Array.of(5, 5, 1), 3).top1Agreement).toBe(1);
    expect(compareLogits(Float32Array.of(1, 5, 1), Float32Array.of(5, 5, 1), 3).top1Agreement).toBe(0);
  });

  it("counts a NaN as an infinite difference, and the maximum KL across positions", () => {
    expect(compareLogits(Float32Array.of(0, Number.NaN), Float32Array.of(0, 1), 2).maxAbsDiff).toBe(Infinity);
    const rows = compareLogits(Float32Array.of(0, 5, 0, 1), Float32Array.of(0, 0, 0, 0), 2);
    expect(rows.maxKlDivergence).toBeCloseTo(klDivergence([0, 5], [0, 0]), 12);
    expect(rows.maxKlDivergence).toBeGreaterThan(rows.meanKlDivergence);
  });

  it("refuses rows that are not whole vocabularies, naming both lengths", () => {
    expect(() => compareLogits(new Float32Array(5), new Float32Array(5), 2)).toThrow(
      new RangeError("compareLogits: reference (5) and optimized (5) must both be [positions, 2]"),
    );
    expect(() => compareLogits(new Float32Array(4), new Float32Array(6), 2)).toThrow("compareLogits: reference (4) and optimized (6) must both be [positions, 2]");
  });
});

describe("perplexity", () => {
  it("scores only the rows given when there are fewer than tokens − 1, and refuses fewer than one", () => {
    // Vocabulary 2, one row [0, ln 3]: p(token 1) = 3/4.
    const one = perplexity(Float32Array.of(0, Math.log(3)), [0, 1, 0, 1], 2);
    expect(one.predicted).toBe(1);
    expect(one.negativeLogLikelihood).toBeCloseTo(-Math.log(0.75), 7);
    expect(one.perplexity).toBeCloseTo(4 / 3, 7);
    // Two rows: p = 3/4, then 1/4 (row [0, ln 3] again, token 0).
    const two = perplexity(Float32Array.of(0, Math.log(3), 0, Math.log(3)), [0, 1, 0], 2);
    expect(two.predicted).toBe(2);
    expect(two.negativeLogLikelihood).toBeCloseTo(-(Math.log(0.75) + Math.log(0.25)) / 2, 7);
    expect(() => perplexity(Float32Array.of(0, 0), [1], 2)).toThrow(new RangeError("perplexity: need at least two tokens"));
    expect(() => perplexity(new Float32Array(0), [0, 1], 2)).toThrow(RangeError);
  });
});

describe("greedyAgreement", () => {
  it("compares the shorter length, and counts the prefix only up to the first difference", () => {
    expect(greedyAgreement([1, 2, 3], [1, 2, 3, 4, 5])).toEqual({ agreement: 1, commonPrefix: 3, compared: 3 });
    expect(greedyAgreement([1, 2, 3, 4, 5], [9, 2, 3])).toEqual({ agreement: 2 / 3, commonPrefix: 0, compared: 3 });
    expect(greedyAgreement([], [1])).toEqual({ agreement: 1, commonPrefix: 0, compared: 0 });
    expect(greedyAgreement([1, 2, 3, 4], [1, 9, 3, 4])).toEqual({ agreement: 0.75, commonPrefix: 1, compared: 4 });
  });
});
