// Accuracy gates: each metric with its limit, printed side by side, and a verdict that a command turns into its exit
// code. An optimized path that drifts fails loudly instead of quietly producing worse text.

export interface ToleranceCheck {
  what: string;
  metric: string;
  value: number;
  /** The value must be ≤ limit ("max") or ≥ limit ("min"). */
  limit: number;
  kind: "max" | "min";
}

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
