// The gates one optimized path gets against its reference: which checks exist, that they pass on equal outputs and
// fail when the path moves its logits or its greedy tokens, and that agreement becomes a note on random models.
import { describe, expect, it } from "vitest";

import { optimizedPathChecks, passes, type OptimizedPathInput } from "../src/index.ts";

// Two positions over a vocabulary of 3; the tokens are the targets of the perplexity.
const referenceLogits = Float32Array.of(3, 0, 0, 0, 3, 0);
const input = (overrides: Partial<OptimizedPathInput> = {}): OptimizedPathInput => ({
  what: "native Q8_0",
  referenceLogits,
  logits: referenceLogits.slice(),
  tokens: [0, 0, 1],
  vocabSize: 3,
  referenceGreedy: [5, 6, 7, 8],
  greedy: [5, 6, 7, 8],
  tolerances: { maxAbsDiff: 1e-3, meanKl: 1e-3, perplexityRatio: 1.01, top1: 1, greedy: 1 },
  ...overrides,
});

describe("optimizedPathChecks", () => {
  it("gates max-abs-diff, KL, perplexity ratio, top-1 and greedy agreement, all passing on equal outputs", () => {
    const result = optimizedPathChecks(input());
    expect(result.checks.map((check) => check.metric)).toEqual(["logits max-abs-diff", "mean KL divergence", "perplexity ratio", "top-1 agreement", "greedy agreement /4"]);
    expect(result.checks.every(passes)).toBe(true);
    expect(result.note).toBeUndefined();
    expect(result.row).toMatchObject({ configuration: "native Q8_0", max_abs_diff: 0, mean_kl_divergence: 0, top1_agreement: 1, greedy_agreement: 1, greedy_common_prefix: 4 });
    expect(result.row.perplexity).toBeCloseTo(result.row.reference_perplexity, 12);
  });

  it("fails the logits checks when the path's logits move, and the greedy check when a token differs", () => {
    const logits = Float32Array.of(0, 3, 0, 0, 3, 0);
    const result = optimizedPathChecks(input({ logits, greedy: [5, 6, 9, 8] }));
    const failed = result.checks.filter((check) => !passes(check)).map((check) => check.metric);
    expect(failed).toEqual(["logits max-abs-diff", "mean KL divergence", "perplexity ratio", "top-1 agreement", "greedy agreement /4"]);
    expect(result.row).toMatchObject({ max_abs_diff: 3, top1_agreement: 0.5, greedy_agreement: 0.75, greedy_common_prefix: 2 });
  });

  it("on a random model reports agreement in a note instead of gating it; no max-abs-diff gate unless asked", () => {
    const result = optimizedPathChecks(input({ agreementReportedOnly: true, greedy: [1, 1, 1, 1], tolerances: { meanKl: 1e-3, perplexityRatio: 1.01, top1: 1, greedy: 1 } }));
    expect(result.checks.map((check) => check.metric)).toEqual(["mean KL divergence", "perplexity ratio"]);
    expect(result.note).toMatch(/native Q8_0: top-1 agreement 1\.0000, greedy agreement 0\.0000 \(reported, not gated/);
  });
});

describe("optimizedPathChecks check kinds", () => {
  it("gates the error figures from above and the agreements from below, each against its own tolerance", () => {
    const result = optimizedPathChecks(input({ tolerances: { maxAbsDiff: 0.5, meanKl: 0.25, perplexityRatio: 1.5, top1: 0.75, greedy: 0.875 } }));
    expect(result.checks.map(({ metric, kind, limit }) => `${metric} ${kind} ${limit}`)).toEqual([
      "logits max-abs-diff max 0.5",
      "mean KL divergence max 0.25",
      "perplexity ratio max 1.5",
      "top-1 agreement min 0.75",
      "greedy agreement /4 min 0.875",
    ]);
    expect(result.checks.every((check) => check.what === "native Q8_0")).toBe(true);
  });
});
