// The adaptive draft length: the projection it decides by, k growing while drafts are accepted and falling to plain
// decoding when no k pays, what a useless draft costs over a generation (a simulated clock with a draft model's costs:
// catch-up over unseen tokens, draft forwards, verify of k + 1), the probes' back-off, fixed k, and assumed costs (no
// timings: the same acceptances give the same k).

import { describe, expect, it } from "vitest";

import { DraftLengthPolicy, bestDraftLength, expectedTokensPerStep, projectedSpeedup, type StepCosts } from "../src/index.ts";

describe("the projection", () => {
  it("expects 1 + α + … + α^k tokens per step and weighs them against the step's cost", () => {
    expect(expectedTokensPerStep(0, 4)).toBe(1);
    expect(expectedTokensPerStep(1, 4)).toBe(5);
    expect(expectedTokensPerStep(0.5, 2)).toBeCloseTo(1.75, 12);
    const costs: StepCosts = { draftPerToken: 0.5, verify: (tokens) => 1 + 0.1 * (tokens - 1) };
    // k = 2 at α = 0.5: 1.75 tokens for 2 × 0.5 + 1.2 = 2.2 → 0.795× of one token per verify(1).
    expect(projectedSpeedup(0.5, 2, costs)).toBeCloseTo(1.75 / 2.2, 12);
    expect(bestDraftLength(0.1, costs, 8)).toEqual({ draftTokens: 0, speedup: 1 });
    expect(bestDraftLength(0.95, { ...costs, draftPerToken: 0 }, 8).draftTokens).toBe(8);
  });
});

/** Drives a policy with a drafter whose tokens are accepted with a fixed pattern; returns the k of each step. */
function drive(policy: DraftLengthPolicy, steps: number, accept: (proposed: number) => number, timing: (proposed: number) => { draft: number; verify: number }): number[] {
  const chosen: number[] = [];
  for (let step = 0; step < steps; step++) {
    const proposed = policy.next();
    chosen.push(proposed);
    const { draft, verify } = timing(proposed);
    policy.record({ proposed, accepted: accept(proposed), draftMilliseconds: draft, verifyMilliseconds: verify });
  }
  return chosen;
}

describe("DraftLengthPolicy", () => {
  const verifyTime = (proposed: number) => 10 * (1 + 0.05 * proposed);

  it("grows k to its maximum when every draft is accepted and drafting is cheap", () => {
    const chosen = drive(new DraftLengthPolicy(), 30, (k) => k, (k) => ({ draft: 0.5 * k, verify: verifyTime(k) }));
    expect(chosen.slice(-10)).toEqual(new Array(10).fill(8));
  });

  it("falls to plain decoding when nothing is accepted", () => {
    const chosen = drive(new DraftLengthPolicy(), 140, () => 0, (k) => ({ draft: 6 * k, verify: verifyTime(k) }));
    expect(chosen[0]).toBe(1);
    expect(chosen.slice(3)).toEqual(new Array(137).fill(0));
  });

  it("keeps a fixed k, and with assumed costs picks k from the acceptance alone (timings ignored)", () => {
    expect(new Set(drive(new DraftLengthPolicy({ draftTokens: 5 }), 10, () => 0, () => ({ draft: 100, verify: 1 })))).toEqual(new Set([5]));
    const assumedCosts: StepCosts = { draftPerToken: 0.3, verify: (tokens) => 1 + 0.1 * (tokens - 1) };
    const pattern = (k: number) => Math.min(k, 2);
    const noisy = (k: number) => ({ draft: Math.random() * 50 * k, verify: Math.random() * 50 });
    const first = drive(new DraftLengthPolicy({ assumedCosts }), 40, pattern, noisy);
    const second = drive(new DraftLengthPolicy({ assumedCosts }), 40, pattern, noisy);
    expect(first).toEqual(second);
    expect(() => new DraftLengthPolicy({ draftTokens: -1 })).toThrow(/draftTokens must be an integer ≥ 0 or "auto", got -1/);
  });
});

/** A draft model against a target, on a simulated clock (milliseconds): the 1B-for-3B costs the speculative-decoding
 *  benchmark measures, or cheaper drafts. */
interface SimulatedPair {
  /** The target's forward over m tokens. */
  verify(tokens: number): number;
  /** The draft model's forward over n tokens (its catch-up, or one draft token). */
  draftForward(tokens: number): number;
  /** Whether the drafts of step `step` (0-based) are accepted. */
  accepts(step: number): boolean;
}

/**
 * Generates `tokens` tokens speculatively with `policy` on the simulated clock. The simulation keeps its own account
 * of what the draft model has seen (not the policy's): a proposal first runs the draft over the unseen context, then
 * k − 1 more single-token forwards. Returns the time, the forwards the draft ran and the k of each step.
 */
function simulate(policy: DraftLengthPolicy, pair: SimulatedPair, tokens: number) {
  let milliseconds = 0, generated = 0, unseen = 2, draftForwards = 0, step = 0;
  const chosen: number[] = [];
  while (generated < tokens) {
    const k = policy.next();
    chosen.push(k);
    let draft = 0;
    if (k > 0) {
      draft = pair.draftForward(unseen) + (k - 1) * pair.draftForward(1);
      draftForwards += k;
    }
    let accepted = 0;
    while (accepted < k && pair.accepts(step)) accepted++;
    const verify = pair.verify(k + 1);
    milliseconds += draft + verify;
    policy.record({ proposed: k, accepted, draftMilliseconds: draft, verifyMilliseconds: verify });
    unseen = k === 0 ? unseen + 1 : accepted === k ? 2 : 1;
    generated += accepted + 1;
    step++;
  }
  return { milliseconds, plainMilliseconds: generated * pair.verify(1), draftForwards, chosen };
}

// The benchmark's 3B Q4_0 target and 1B Q4_0 draft (2 threads): 55 ms a decode token, verify of m tokens +20 % per
// token; 18 ms a draft token, a catch-up forward over n tokens 18 + 6 (n − 1) ms.
const target3b = (tokens: number) => 55 * (1 + 0.2 * (tokens - 1));
const draft1b = (tokens: number) => 18 + 6 * (tokens - 1);

describe("DraftLengthPolicy: what a useless draft costs", () => {
  it("a 1B draft that is never accepted costs under 2 % over 64 tokens and 0.2 % over 1000: the first draft, one more chance, then no probes its catch-up would not pay for", () => {
    for (const tokens of [64, 1000]) {
      const run = simulate(new DraftLengthPolicy(), { verify: target3b, draftForward: draft1b, accepts: () => false }, tokens);
      const extra = run.milliseconds / run.plainMilliseconds - 1;
      expect(extra).toBeLessThan(tokens === 64 ? 0.02 : 0.002);
      // Two drafting steps of one token each, whatever the length.
      expect(run.draftForwards).toBe(2);
      expect(run.chosen.slice(0, 2)).toEqual([1, 1]);
    }
  });

  // A drafter with next to no cost, as prompt lookup: 0.05 ms a proposal, whatever it reads.
  it("a cheap drafter that is never accepted is probed with exponentially growing gaps, within its budget", () => {
    const run = simulate(new DraftLengthPolicy(), { verify: target3b, draftForward: () => 0.05, accepts: () => false }, 2000);
    const probes = run.chosen.flatMap((k, step) => (k > 0 ? [step] : []));
    const gaps = probes.slice(1).map((step, index) => step - probes[index]);
    // A few probes at once while the starting budget lasts, then gaps that grow as the budget's earnings halve: the
    // last ones over 60 steps, so about 30 probes in 2000 tokens.
    expect(gaps.slice(0, 3).every((gap) => gap <= 2)).toBe(true);
    expect(gaps.slice(-5).every((gap) => gap >= 60)).toBe(true);
    expect(probes.length).toBeLessThan(50);
    // Probing spends at most the starting budget and 5 % of the plain steps; by then much less.
    expect(run.milliseconds / run.plainMilliseconds - 1).toBeLessThan(0.01);
  });
});

describe("DraftLengthPolicy: a good draft", () => {
  it("an accurate 1B draft ramps up from one token to several within a few steps", () => {
    const run = simulate(new DraftLengthPolicy(), { verify: target3b, draftForward: draft1b, accepts: () => true }, 200);
    expect(run.chosen[0]).toBe(1);
    expect(Math.max(...run.chosen.slice(0, 10))).toBeGreaterThanOrEqual(3);
    expect(run.chosen.slice(-10).every((k) => k >= 3)).toBe(true);
    expect(run.milliseconds).toBeLessThan(run.plainMilliseconds / 1.5);
  });

  it("after an unlucky first draft, the second chance finds an accurate draft and drafting resumes", () => {
    const run = simulate(new DraftLengthPolicy(), { verify: target3b, draftForward: draft1b, accepts: (step) => step > 0 }, 200);
    expect(run.chosen.slice(0, 2)).toEqual([1, 1]);
    expect(run.chosen.slice(-10).every((k) => k >= 3)).toBe(true);
  });

  it("a cheap drafter that turns good after a long useless stretch is picked up again by a probe", () => {
    const run = simulate(new DraftLengthPolicy(), { verify: target3b, draftForward: () => 0.05, accepts: (step) => step >= 400 }, 1200);
    const turned = 400 + run.chosen.slice(400).findIndex((k) => k >= 2);
    expect(turned).toBeGreaterThan(400);
    expect(turned).toBeLessThan(400 + 100);
    expect(run.chosen.slice(-10).every((k) => k >= 3)).toBe(true);
  });
});
