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
  meanKl: number;
  /** Optimized ÷ reference perplexity at most. */
  perplexityRatio: number;
  /** Top-1 and greedy agreement at least. */
  top1: number;
  greedy: number;
}

export interface OptimizedPathInput {
  /** The path's name in the checks ("native Q8_0 + KV cache"). */
  what: string;
  /** Logits [positions, vocab] of the reference and of the path over the same tokens. */
  referenceLogits: Float32Array;
  logits: Float32Array;
  tokens: readonly number[];
  vocabSize: number;
  /** Greedy continuations of the same prompt. */
  referenceGreedy: readonly number[];
  greedy: readonly number[];
  tolerances: PathTolerances;
  /** Agreement is noise on a random model: report it instead of gating it. */
  agreementReportedOnly?: boolean;
}

/** Every metric of one optimized path, for --json output and results files. */
export interface OptimizedPathRow {
  configuration: string;
  max_abs_diff: number;
  mean_kl_divergence: number;
  top1_agreement: number;
  perplexity: number;
  reference_perplexity: number;
  greedy_agreement: number;
  greedy_common_prefix: number;
}

export interface OptimizedPathChecks {
  checks: ToleranceCheck[];
  /** The ungated agreement figures, when agreementReportedOnly. */
  note?: string;
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
