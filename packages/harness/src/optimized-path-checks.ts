// The gates an accuracy script applies to one optimized path (native kernels, quantized weights, a cache type…)
// against its reference: logits max-abs-diff (when asked), mean KL divergence and perplexity ratio always, top-1 and
// greedy agreement unless the model is a random one, whose near-uniform logits make them noise (then they are reported
// in a note). Shared by the recipes' accuracy.ts so every recipe gates the same way.

import { compareLogits, greedyAgreement, perplexity } from "./accuracy-metrics.ts";
import type { ToleranceCheck } from "./tolerance.ts";

/** Limits of one optimized path. */
export interface PathTolerances {
  /** Largest |Δlogit| allowed (only for paths that must match to rounding). */
  maxAbsDiff?: number;
  /** Mean KL divergence (reference ‖ path) over the positions, at most. */
  meanKl: number;
  /** Optimized ÷ reference perplexity at most. */
  perplexityRatio: number;
  /** Top-1 and greedy agreement at least. */
  top1: number;
  /** Fraction of greedy tokens equal to the reference's, at least. */
  greedy: number;
}

/** One optimized path's outputs beside its reference's, and the limits it must meet. */
export interface OptimizedPathInput {
  /** The path's name in the checks ("native Q8_0 + KV cache"). */
  what: string;
  /** Logits [positions, vocab] of the reference and of the path over the same tokens. */
  referenceLogits: Float32Array;
  /** The path's logits [positions, vocab], same layout as `referenceLogits`. */
  logits: Float32Array;
  /** The token ids the logits were computed over (position i predicts tokens[i + 1], for perplexity). */
  tokens: readonly number[];
  /** Columns of a logits row. */
  vocabSize: number;
  /** Greedy continuations of the same prompt. */
  referenceGreedy: readonly number[];
  /** The path's greedy continuation. */
  greedy: readonly number[];
  /** The limits the path must meet. */
  tolerances: PathTolerances;
  /** Agreement is noise on a random model: report it instead of gating it. */
  agreementReportedOnly?: boolean;
}

/** Every metric of one optimized path, for --json output and results files. */
export interface OptimizedPathRow {
  /** The path's name (`what`). */
  configuration: string;
  /** Largest |Δlogit| against the reference. */
  max_abs_diff: number;
  /** Mean KL divergence (reference ‖ path) per position. */
  mean_kl_divergence: number;
  /** Fraction of positions whose top-1 token equals the reference's. */
  top1_agreement: number;
  /** The path's perplexity over the tokens. */
  perplexity: number;
  /** The reference's perplexity over the same tokens. */
  reference_perplexity: number;
  /** Fraction of greedy tokens equal to the reference's. */
  greedy_agreement: number;
  /** Greedy tokens equal to the reference's before the first difference. */
  greedy_common_prefix: number;
}

/** What {@link optimizedPathChecks} returns: the gates, a note on ungated figures, and every metric. */
export interface OptimizedPathChecks {
  /** The tolerance checks to print and gate on. */
  checks: ToleranceCheck[];
  /** The ungated agreement figures, when agreementReportedOnly. */
  note?: string;
  /** Every metric, for --json output and results files. */
  row: OptimizedPathRow;
}

/** The checks, note and metrics of one optimized path against its reference. */
export function optimizedPathChecks(input: OptimizedPathInput): OptimizedPathChecks {
  const { what, tolerances } = input;
  const comparison = compareLogits(input.referenceLogits, input.logits, input.vocabSize);
  const referencePerplexity = perplexity(input.referenceLogits, input.tokens, input.vocabSize).perplexity;
  const optimizedPerplexity = perplexity(input.logits, input.tokens, input.vocabSize).perplexity;
  const greedy = greedyAgreement([...input.referenceGreedy], [...input.greedy]);
  const checks: ToleranceCheck[] = [];
  if (tolerances.maxAbsDiff !== undefined) checks.push({ what, metric: "logits max-abs-diff", value: comparison.maxAbsDiff, limit: tolerances.maxAbsDiff, kind: "max" });
  checks.push({ what, metric: "mean KL divergence", value: comparison.meanKlDivergence, limit: tolerances.meanKl, kind: "max" });
  checks.push({ what, metric: "perplexity ratio", value: optimizedPerplexity / referencePerplexity, limit: tolerances.perplexityRatio, kind: "max" });
  let note: string | undefined;
  if (input.agreementReportedOnly) {
    note = `${what}: top-1 agreement ${comparison.top1Agreement.toFixed(4)}, greedy agreement ${greedy.agreement.toFixed(4)} (reported, not gated: a random model's logits are near uniform)`;
  } else {
    checks.push({ what, metric: "top-1 agreement", value: comparison.top1Agreement, limit: tolerances.top1, kind: "min" });
    checks.push({ what, metric: `greedy agreement /${greedy.compared}`, value: greedy.agreement, limit: tolerances.greedy, kind: "min" });
  }
  return {
    checks,
    note,
    row: {
      configuration: what,
      max_abs_diff: comparison.maxAbsDiff,
      mean_kl_divergence: comparison.meanKlDivergence,
      top1_agreement: comparison.top1Agreement,
      perplexity: optimizedPerplexity,
      reference_perplexity: referencePerplexity,
      greedy_agreement: greedy.agreement,
      greedy_common_prefix: greedy.commonPrefix,
    },
  };
}
