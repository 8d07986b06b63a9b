// The chi-square test's exact figures: p-values against SciPy's chi2.sf over small and large statistics and degrees of
// freedom (both the series and the continued fraction, and the reflection used below half a degree), the statistic,
// degrees of freedom and bins of hand-computed samples, the pooling of rare outcomes at its boundaries, and the
// refusals with their messages.
import { describe, expect, it } from "vitest";

import { chiSquareGoodnessOfFit, chiSquareSurvival } from "../src/index.ts";

/** [x, degrees of freedom, scipy.stats.chi2.sf(x, k)] */
const scipy: Array<[number, number, number]> = [
  [0.5, 1, 0.47950012218695337],
  [1, 1, 0.31731050786291115],
  [4, 1, 0.04550026389635857],
  [25, 1, 5.733031437583875e-7],
  [1, 2, 0.6065306597126334],
  [3.9, 2, 0.14227407158651356],
  [4.1, 2, 0.12873490358780423],
  [100, 2, 1.9287498479639183e-22],
  [200, 2, 3.7200759760208177e-44],
  [0.1, 10, 0.9999999975020487],
  [9, 10, 0.5321035763747151],
  [11, 10, 0.3575180024279255],
  [13, 10, 0.22367181681149945],
  [40, 10, 1.694474393006737e-5],
  [150, 100, 0.0009039320423540184],
  [300, 100, 7.4121008573230175e-22],
  [1, 0.5, 0.15351359580832247],
  [6, 0.5, 0.005010895948708311],
  [0.001, 3, 0.9999915920809419],
  [700, 3, 2.0991308534204487e-151],
];

describe("chiSquareSurvival against SciPy", () => {
  for (const [x, k, expected] of scipy) {
    it(`P(X ≥ ${x}) with ${k} degrees of freedom`, () => {
      const p = chiSquareSurvival(x, k);
      expect(Math.abs(p - expected) / expected).toBeLessThan(1e-10);
    });
  }

  it("is 1 for a statistic of zero, a negative one or NaN", () => {
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(-2, 3)).toBe(1);
    expect(chiSquareSurvival(Number.NaN, 3)).toBe(1);
  });
});

describe("chiSquareGoodnessOfFit on hand-computed samples", () => {
  it("sums (observed − expected)² / expected over the bins", () => {
    // 50 samples, expected 25 and 25: (5² + 5²) / 25 = 2 with 1 degree of freedom.
    expect(chiSquareGoodnessOfFit([30, 20], [0.5, 0.5])).toEqual({ statistic: 2, degreesOfFreedom: 1, pValue: chiSquareSurvival(2, 1), bins: 2, samples: 50 });
    const fit = chiSquareGoodnessOfFit([22, 18, 60], [0.2, 0.2, 0.6]);
    expect(fit.statistic).toBeCloseTo(0.2 + 0.2 + 0, 12);
    expect(fit).toMatchObject({ degreesOfFreedom: 2, bins: 3, samples: 100 });
    expect(fit.pValue).toBeCloseTo(Math.exp(-0.2), 12); // 2 degrees of freedom: e^(−x/2)
  });

  it("pools the rarest outcomes until the pool is expected at least the minimum", () => {
    // Expected 4, 6, 10, 30, 50: 4 is pooled, 6 joins the pool (4 < 5), then 10, 30, 50 stand alone.
    const fit = chiSquareGoodnessOfFit([3, 7, 9, 33, 48], [0.04, 0.06, 0.1, 0.3, 0.5]);
    expect(fit.bins).toBe(4);
    expect(fit.degreesOfFreedom).toBe(3);
    expect(fit.statistic).toBeCloseTo(0 + 0.1 + 0.3 + 0.08, 12);
    // The same counts in another order give the same test.
    expect(chiSquareGoodnessOfFit([48, 33, 9, 7, 3], [0.5, 0.3, 0.1, 0.06, 0.04])).toEqual(fit);
  });

  it("stops pooling once the pool reaches the minimum, and leaves an outcome expected exactly the minimum alone", () => {
    // Expected 3, 3, 5, 89: the pool of 6 is complete, so 5 is its own bin.
    expect(chiSquareGoodnessOfFit([3, 3, 5, 89], [0.03, 0.03, 0.05, 0.89]).bins).toBe(3);
    // Expected 2, 3, 10, 85: the pool reaches exactly 5, so 10 is its own bin.
    const fit = chiSquareGoodnessOfFit([1, 4, 12, 83], [0.02, 0.03, 0.1, 0.85]);
    expect(fit.bins).toBe(3);
    expect(fit.statistic).toBeCloseTo(0 + 0.4 + 4 / 85, 12);
    // Expected exactly 5 with nothing pooled before it: its own bin.
    expect(chiSquareGoodnessOfFit([5, 45, 50], [0.05, 0.45, 0.5]).bins).toBe(3);
    // A smaller minimum pools less.
    expect(chiSquareGoodnessOfFit([3, 7, 9, 33, 48], [0.04, 0.06, 0.1, 0.3, 0.5], 4).bins).toBe(5);
  });

  it("keeps at least one degree of freedom when everything lands in one bin", () => {
    expect(chiSquareGoodnessOfFit([10], [1])).toEqual({ statistic: 0, degreesOfFreedom: 1, pValue: 1, bins: 1, samples: 10 });
    expect(chiSquareGoodnessOfFit([1, 2], [0.5, 0.5])).toMatchObject({ bins: 1, degreesOfFreedom: 1, statistic: 0 });
  });

  it("gives p = 0 and an infinite statistic only when an impossible outcome was observed", () => {
    expect(chiSquareGoodnessOfFit([10, 0, 1], [0.9, 0.1, 0])).toMatchObject({ pValue: 0, statistic: Number.POSITIVE_INFINITY });
    const possible = chiSquareGoodnessOfFit([30, 20, 0], [0.5, 0.5, 0]);
    expect(possible).toEqual({ statistic: 2, degreesOfFreedom: 1, pValue: chiSquareSurvival(2, 1), bins: 2, samples: 50 });
  });

  it("refuses counts and probabilities of different lengths, and probabilities that do not sum to 1", () => {
    expect(() => chiSquareGoodnessOfFit([1, 2], [0.2, 0.3, 0.5])).toThrow(new RangeError("chiSquareGoodnessOfFit: 2 counts for 3 probabilities"));
    expect(() => chiSquareGoodnessOfFit([1, 2], [0.5, 0.4])).toThrow(new RangeError("chiSquareGoodnessOfFit: probabilities sum to 0.9, not 1"));
    expect(() => chiSquareGoodnessOfFit([1, 2], [0.5, 0.500002])).toThrow(RangeError);
    expect(chiSquareGoodnessOfFit([10, 10], [0.5, 0.5000005]).samples).toBe(20);
  });
});
