// The acceptance rule step by step, with a scripted sampler (the uniform draws are given, distributions are the logits
// rows themselves, draw() reports what it was asked to draw from), so every decision is exact: accept draft x iff
// u · q(x) < p(x) (strictly; never when q(x) = 0), replace the first rejected one by a draw from norm(max(0, p − q)) (q a
// point mass for deterministic drafts; p itself when that residual is empty), a bonus draw from the last row when all
// are accepted, greedy agreement, the histories each row is judged after, and the history left as it was found.
import { describe, expect, it } from "vitest";

import { Sampler, resampleFromTargetOnRejection, speculativeSampling, type AcceptanceRule, type Verification } from "../src/index.ts";

/** A sampler whose distribution() is the logits row itself and whose uniform draws are scripted. */
class ScriptedSampler {
  /** Calls in order, with the history each saw: "distribution 7,1", "sample 7", "uniform", "draw". */
  readonly calls: string[] = [];
  /** What draw() was asked to draw from, in order (copies). */
  readonly draws: number[][] = [];

  constructor(
    readonly greedy: boolean,
    private readonly uniforms: number[] = [],
    /** The tokens draw() returns, in order (default: the most probable one). */
    private readonly drawn: number[] = [],
  ) {}

  distribution(logits: Float32Array | Float64Array, previous: ArrayLike<number>): Float64Array {
    this.calls.push(`distribution ${Array.from(previous).join(",")}`);
    return Float64Array.from(logits);
  }

  sample(logits: Float32Array, previous: ArrayLike<number>): number {
    this.calls.push(`sample ${Array.from(previous).join(",")}`);
    return mostLikely(logits);
  }

  draw(probabilities: Float64Array): number {
    this.calls.push("draw");
    this.draws.push(Array.from(probabilities));
    return this.drawn.shift() ?? mostLikely(probabilities);
  }

  uniform(): number {
    this.calls.push("uniform");
    const value = this.uniforms.shift();
    if (value === undefined) throw new Error("ScriptedSampler: no uniform draw left");
    return value;
  }
}

function mostLikely(values: ArrayLike<number>): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index] > values[best]) best = index;
  return best;
}

/** A verification over `rows` (each a probability row of the target), drafts and their distributions. */
function verification(rows: number[][], tokens: number[], distributions: number[][] | null, sampler: ScriptedSampler, history = [7]): Verification {
  return {
    logits: Float32Array.from(rows.flat()),
    vocabSize: rows[0].length,
    proposal: { tokens, distributions: distributions && distributions.map((row) => Float64Array.from(row)) },
    history,
    sampler,
  };
}

/** Float32 rounding of a probability row, as the target's logits rows hold it. */
const f32 = (values: number[]) => values.map(Math.fround);

function expectRow(actual: number[], expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((value, index) => expect(value, `entry ${index} of [${actual.join(", ")}]`).toBeCloseTo(expected[index], 6));
}

describe("speculativeSampling with sampled drafts (distributions given)", () => {
  // p: the target's rows for positions 0, 1 and the bonus; q: the draft's distributions at positions 0, 1.
  const p = [[0.1, 0.4, 0.3, 0.2], [0.25, 0.25, 0.25, 0.25], [0.1, 0.1, 0.7, 0.1]];
  const q = [[0.1, 0.5, 0.2, 0.2], [0.5, 0, 0.2, 0.3]];

  it("accepts while u · q(x) < p(x), then draws the bonus token from the last row after every draft", () => {
    // Draft 1 at position 0: q = 0.5 > p = 0.4, accepted iff u < 0.8. Draft 2 at position 1: q = 0.2 < p = 0.25, always.
    const sampler = new ScriptedSampler(false, [0.79, 0.999]);
    const history = [7];
    const outcome = speculativeSampling(verification(p, [1, 2], q, sampler, history));
    expect(outcome).toEqual({ accepted: 2, tokens: [1, 2, 2] });
    // Each row is judged after the drafts before it; the bonus row after both; then the history is as it was.
    expect(sampler.calls).toEqual(["distribution 7", "uniform", "distribution 7,1", "uniform", "distribution 7,1,2", "draw"]);
    expectRow(sampler.draws[0], f32(p[2]));
    expect(history).toEqual([7]);
  });

  it("rejects at u · q(x) = p(x) exactly and draws the replacement from norm(max(0, p − q))", () => {
    // u = 0.75 with q = 0.5: 0.375 < 0.4, accepted.
    const accepted = new ScriptedSampler(false, [0.75, 0.5]);
    expect(speculativeSampling(verification(p, [1, 2], q, accepted)).accepted).toBe(2);
    const exact = [[0.25, 0.5, 0.125, 0.125], p[1], p[2]]; // exact in binary: 0.5 · u = 0.25 at u = 0.5
    const atBoundary = new ScriptedSampler(false, [0.5]);
    const history = [7, 3];
    const outcome = speculativeSampling(verification(exact, [0, 2], [[0.5, 0.25, 0.125, 0.125], q[1]], atBoundary, history));
    expect(outcome).toEqual({ accepted: 0, tokens: [1] });
    // p − q = [−0.25, 0.25, 0, 0]: only token 1 keeps mass, normalized to 1.
    expect(atBoundary.draws).toEqual([[0, 1, 0, 0]]);
    expect(atBoundary.calls).toEqual(["distribution 7,3", "uniform", "draw"]);
    expect(history).toEqual([7, 3]);
    // Just below the boundary it is accepted.
    expect(speculativeSampling(verification(exact, [0, 2], [[0.5, 0.25, 0.125, 0.125], q[1]], new ScriptedSampler(false, [0.4999, 0.1]))).accepted).toBe(2);
  });

  it("normalizes the residual over every token where p exceeds q, at the second position", () => {
    // First draft always accepted (q ≤ p); second: q(3) = 0.3 > p(3) = 0.25 and u = 0.9 → 0.27 ≥ 0.25, rejected.
    const sampler = new ScriptedSampler(false, [0.5, 0.9], [0]);
    const outcome = speculativeSampling(verification(p, [2, 3], [[0.1, 0.4, 0.2, 0.3], q[1]], sampler));
    expect(outcome).toEqual({ accepted: 1, tokens: [2, 0] });
    // max(0, p − q) at position 1 = [0, 0.25, 0.05, 0]: normalized over 0.3.
    expectRow(sampler.draws[0], [0, 0.25 / 0.3, 0.05 / 0.3, 0]);
    expect(sampler.calls).toEqual(["distribution 7", "uniform", "distribution 7,2", "uniform", "draw"]);
  });

  it("never accepts a draft token the draft gave no probability, and does not spend a uniform draw on it", () => {
    const sampler = new ScriptedSampler(false, []);
    const outcome = speculativeSampling(verification(p, [1], [[0.5, 0, 0.3, 0.2], q[1]], sampler));
    expect(outcome.accepted).toBe(0);
    expect(sampler.calls).toEqual(["distribution 7", "draw"]);
    // p − q = [−0.4, 0.4, 0, 0]: all on token 1.
    expectRow(sampler.draws[0], [0, 1, 0, 0]);
  });

  it("falls back to p itself when the residual has no mass (p = q)", () => {
    const same = [[0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25]];
    const sampler = new ScriptedSampler(false, [], [1]);
    // Token 2 has q = p = 0: rejected, and max(0, p − q) is zero everywhere.
    const outcome = speculativeSampling(verification(same, [2], [same[0]], sampler));
    expect(outcome).toEqual({ accepted: 0, tokens: [1] });
    expect(sampler.draws).toEqual([[0.5, 0.5, 0, 0]]);
  });
});

describe("speculativeSampling with deterministic drafts (point masses)", () => {
  const p = [[0.1, 0.4, 0.3, 0.2], [0.5, 0.125, 0.125, 0.25]];

  it("accepts draft x iff u < p(x), and replaces it from p without x, normalized", () => {
    expect(speculativeSampling(verification(p, [1], null, new ScriptedSampler(false, [0.39]))).accepted).toBe(1);
    const rejected = new ScriptedSampler(false, [0.41]);
    expect(speculativeSampling(verification(p, [1], null, rejected))).toEqual({ accepted: 0, tokens: [2] });
    // max(0, p − δ₁) = [0.1, 0, 0.3, 0.2], normalized over 0.6.
    expectRow(rejected.draws[0], [0.1 / 0.6, 0, 0.3 / 0.6, 0.2 / 0.6]);
    // At u = p(x) exactly (0.5, exact in binary): rejected.
    const exact = [[0.5, 0.25, 0.25, 0], [0.25, 0.25, 0.25, 0.25]];
    const boundary = new ScriptedSampler(false, [0.5]);
    expect(speculativeSampling(verification(exact, [0], null, boundary))).toEqual({ accepted: 0, tokens: [1] });
    expect(boundary.draws).toEqual([[0, 0.5, 0.5, 0]]);
  });

  it("always rejects a draft token the target gives no probability, and always accepts one it is sure of", () => {
    const certain = [[0, 1, 0, 0], [0.25, 0.25, 0.25, 0.25]];
    // Draft token 2 with p = δ₁: u · 1 < 0 never holds; p − δ₂ = [0, 1, −1, 0], so the replacement is token 1.
    const sampler = new ScriptedSampler(false, [0.3]);
    expect(speculativeSampling(verification(certain, [2], null, sampler))).toEqual({ accepted: 0, tokens: [1] });
    expect(sampler.draws).toEqual([[0, 1, 0, 0]]);
    expect(speculativeSampling(verification(certain, [1], null, new ScriptedSampler(false, [0.999])))).toEqual({ accepted: 1, tokens: [1, 0] });
  });
});

describe("resampleFromTargetOnRejection (the wrong rule)", () => {
  it("accepts as speculativeSampling does but draws the replacement from p, not from the residual", () => {
    const p = [[0.1, 0.4, 0.3, 0.2], [0.25, 0.25, 0.25, 0.25]];
    const wrong = new ScriptedSampler(false, [0.41], [1]);
    expect(resampleFromTargetOnRejection(verification(p, [1], null, wrong))).toEqual({ accepted: 0, tokens: [1] });
    expectRow(wrong.draws[0], f32(p[0]));
    const right = new ScriptedSampler(false, [0.39, 0.1]);
    expect(resampleFromTargetOnRejection(verification(p, [1], null, right))).toEqual({ accepted: 1, tokens: [1, 0] });
  });
});

describe("speculativeSampling, greedy", () => {
  // Rows whose best tokens are 1, 2, 3, 0.
  const rows = [[0, 5, 1, 1], [0, 1, 5, 1], [1, 0, 1, 5], [5, 1, 0, 1]];

  it("accepts drafts while they equal the target's choice; the first that does not is replaced by that choice", () => {
    const cases: Array<[number[], { accepted: number; tokens: number[] }]> = [
      [[1, 2, 3], { accepted: 3, tokens: [1, 2, 3, 0] }], // all agree: the bonus is row 3's best
      [[1, 2, 0], { accepted: 2, tokens: [1, 2, 3] }],
      [[1, 0, 3], { accepted: 1, tokens: [1, 2] }],
      [[3, 2, 3], { accepted: 0, tokens: [1] }],
      [[], { accepted: 0, tokens: [1] }], // nothing drafted: the target's own token
    ];
    for (const [drafts, expected] of cases) {
      const sampler = new ScriptedSampler(true);
      const history = [4, 4];
      expect(speculativeSampling(verification(rows.slice(0, drafts.length + 1), drafts, null, sampler, history)), `drafts ${drafts}`).toEqual(expected);
      expect(history).toEqual([4, 4]);
      // Greedy never draws: each row is judged by sample() after the drafts accepted before it.
      const judged = expected.tokens.map((_, index) => `sample ${[4, 4, ...drafts.slice(0, index)].join(",")}`);
      expect(sampler.calls).toEqual(judged);
    }
  });

  it("the same rule holds with the real greedy sampler's repetition penalty seeing the accepted drafts", () => {
    // Row 1 prefers token 2 (logit 2) over token 3 (1.9); with a penalty of 1.2 on tokens seen, token 2 (the accepted
    // first draft) falls to 1.67, so the target's choice at row 1 is token 3.
    const logits = [[0, 0, 3, 0], [0, 0, 2, 1.9], [0, 4, 0, 0]];
    const sampler = new Sampler({ repetitionPenalty: 1.2 });
    const history = [0];
    const outcome = speculativeSampling({ logits: Float32Array.from(logits.flat()), vocabSize: 4, proposal: { tokens: [2, 3], distributions: null }, history, sampler });
    expect(outcome).toEqual({ accepted: 2, tokens: [2, 3, 1] });
    expect(speculativeSampling({ logits: Float32Array.from(logits.flat()), vocabSize: 4, proposal: { tokens: [2, 2], distributions: null }, history, sampler })).toEqual({ accepted: 1, tokens: [2, 3] });
    expect(history).toEqual([0]);
  });
});

describe("the lossless rule, exactly", () => {
  it("emits each token with the target's probability: P(accept x) · q(x) + P(reject) · residual = p", () => {
    // For one sampled draft: integrate over u exactly. The rule accepts x iff u < p(x)/q(x), so P(accept | x) =
    // min(1, p(x)/q(x)); the replacement distribution is read from draw() after a rejection.
    // Values exact in binary, so the thresholds are exact: tokens 0 and 1 are accepted half the time, and the residual
    // max(0, p − q) = [0, 0, 0.25, 0.125] puts 2/3 and 1/3 on tokens 2 and 3.
    const p = [0.125, 0.25, 0.375, 0.25];
    const q = [0.25, 0.5, 0.125, 0.125];
    const rows = [p, [0.25, 0.25, 0.25, 0.25]];
    const emitted = [0, 0, 0, 0];
    for (let x = 0; x < 4; x++) {
      const acceptance = Math.min(1, p[x] / q[x]);
      // A uniform just below and at the acceptance threshold: accepted, then (when < 1) rejected.
      const below = new ScriptedSampler(false, [acceptance * (1 - 1e-9), 0.5]);
      expect(speculativeSampling(verification(rows, [x], [q], below)).accepted, `draft ${x} below the threshold`).toBe(1);
      emitted[x] += q[x] * acceptance;
      if (acceptance < 1) {
        const at = new ScriptedSampler(false, [acceptance]);
        expect(speculativeSampling(verification(rows, [x], [q], at)).accepted, `draft ${x} at the threshold`).toBe(0);
        at.draws[0].forEach((r, token) => (emitted[token] += q[x] * (1 - acceptance) * r));
      }
    }
    expectRow(emitted, p);
  });

  it("both rules are AcceptanceRules over the same verification", () => {
    const rules: AcceptanceRule[] = [speculativeSampling, resampleFromTargetOnRejection];
    for (const rule of rules) expect(rule(verification([[0, 1], [1, 0]], [1], null, new ScriptedSampler(true)))).toEqual({ accepted: 1, tokens: [1, 0] });
  });
});
