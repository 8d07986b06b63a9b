// Order statistics for repeated timings: medians resist the noise of a shared machine better than means.

/** Order statistics of repeated measurements. */
export interface Summary {
  /** The middle value (mean of the two middle ones for an even count). */
  median: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** Values summarized. */
  count: number;
}

/** Median, minimum and maximum of `values` (at least one): quote the median, show the range as the noise. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError("summarize: no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], count: sorted.length };
}

/** The median of `values` (at least one). */
export function median(values: readonly number[]): number {
  return summarize(values).median;
}

/** Milliseconds elapsed while running fn once. */
export function timeMilliseconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
