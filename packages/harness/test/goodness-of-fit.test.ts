// The chi-square test: p-values match published chi-square tables, a fair sample passes at about the stated
// false-alarm rate, and a biased one fails.
import { describe, expect, it } from "vitest";

import { chiSquareGoodnessOfFit, chiSquareSurvival } from "../src/index.ts";

describe("chiSquareSurvival", () => {
  it("matches chi-square table values", () => {
    // Critical values: P(X ≥ x) = 0.05 for k = 1, 2, 10, 100; 0.001 for k = 5; 0.5 at the median of k = 3.
    expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(5.991465, 2)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(18.307038, 10)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(124.342113, 100)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(20.515006, 5)).toBeCloseTo(0.001, 7);
    expect(chiSquareSurvival(2.365974, 3)).toBeCloseTo(0.5, 6);
    expect(chiSquareSurvival(0, 4)).toBe(1);
  });
});

describe("chiSquareGoodnessOfFit", () => {
  let state = 7;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const draw = (probabilities: number[]) => {
    let target = uniform();
    for (let index = 0; index < probabilities.length; index++) if ((target -= probabilities[index]) < 0) return index;
    return probabilities.length - 1;
  };
  const probabilities = [0.4, 0.3, 0.2, 0.05, 0.03, 0.0199, 0.0001];

  it("passes fair samples at about the false-alarm rate and pools rare outcomes", () => {
    let alarms = 0;
    for (let trial = 0; trial < 200; trial++) {
      const counts = new Array(probabilities.length).fill(0);
      for (let sample = 0; sample < 2000; sample++) counts[draw(probabilities)]++;
      const fit = chiSquareGoodnessOfFit(counts, probabilities);
      expect(fit.bins).toBe(6); // 0.0001 × 2000 = 0.2 expected: pooled with the next rarest (39.8)
      if (fit.pValue < 0.05) alarms++;
    }
    expect(alarms).toBeGreaterThan(2);
    expect(alarms).toBeLessThan(25); // 10 expected
  });

  it("fails a biased sample and any observation of an impossible outcome", () => {
    const biased = [0.35, 0.35, 0.2, 0.05, 0.03, 0.0199, 0.0001];
    const counts = new Array(probabilities.length).fill(0);
    for (let sample = 0; sample < 5000; sample++) counts[draw(biased)]++;
    expect(chiSquareGoodnessOfFit(counts, probabilities).pValue).toBeLessThan(1e-6);
    expect(chiSquareGoodnessOfFit([10, 0, 1], [0.9, 0.1, 0]).pValue).toBe(0);
  });
});
