// Accuracy gates: each metric with its limit, printed side by side, and a verdict that a command turns into its exit
// code. An optimized path that drifts fails loudly instead of quietly producing worse text.

/**
 * One accuracy gate: a metric of one configuration against its limit. An accuracy check collects them, prints
 * them with {@link describeChecks}, and exits non-zero unless every one {@link passes}.
 *
 * @example
 * ```ts
 * import { describeChecks, passes, type ToleranceCheck } from "@infer-recipes/harness";
 *
 * const checks: ToleranceCheck[] = [
 *   { what: "native Q8_0", metric: "mean KL divergence", value: 8.5e-4, limit: 5e-3, kind: "max" },
 *   { what: "native Q8_0", metric: "top-1 agreement", value: 0.984, limit: 0.95, kind: "min" },
 * ];
 * console.log(describeChecks(checks));
 * process.exitCode = checks.every(passes) ? 0 : 1;
 * ```
 */
export interface ToleranceCheck {
  /** The configuration checked, e.g. "native Q8_0 + KV cache". */
  what: string;
  /** The metric's name, e.g. "mean KL divergence". */
  metric: string;
  /** The measured value. */
  value: number;
  /** The value must be ≤ limit ("max") or ≥ limit ("min"). */
  limit: number;
  /** Whether the limit is an upper ("max") or lower ("min") bound. */
  kind: "max" | "min";
}

/** Whether the check's value is within its limit. */
export function passes(check: ToleranceCheck): boolean {
  return check.kind === "max" ? check.value <= check.limit : check.value >= check.limit;
}

function format(value: number): string {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 0.01 && magnitude < 1e5 ? value.toFixed(4) : value.toExponential(2);
}

/** One line per check: "PASS  q8_0  KL divergence 1.2e-4 ≤ 1.0e-2". */
export function describeChecks(checks: readonly ToleranceCheck[]): string {
  return checks
    .map((check) => `${passes(check) ? "PASS" : "FAIL"}  ${check.what.padEnd(24)} ${check.metric.padEnd(22)} ${format(check.value)} ${check.kind === "max" ? "≤" : "≥"} ${format(check.limit)}`)
    .join("\n");
}
