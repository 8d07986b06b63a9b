// Percentiles of repeated measurements, and the inter-token latency summary (p50/p95/p99) a streaming benchmark
// reports: the gaps between consecutive token arrival times, where a median alone hides the stalls users notice.

/**
 * The p-th percentile (0 ≤ p ≤ 100) of `values`, interpolating linearly between the two nearest ranks (the
 * definition NumPy's default and most spreadsheets use): p = 50 is the median, p = 0 the minimum, p = 100 the maximum.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("percentile: no values");
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be within 0..100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}

/** Percentiles of latencies, from {@link summarizeLatencies}, in the unit of the input. */
export interface LatencySummary {
  /** Median. */
  p50: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile: the stalls a user notices. */
  p99: number;
  /** Arithmetic mean. */
  mean: number;
  /** Largest latency. */
  max: number;
  /** Latencies summarized. */
  count: number;
}

/** p50/p95/p99, mean and maximum of latencies (any unit; milliseconds by convention). */
export function summarizeLatencies(latencies: readonly number[]): LatencySummary {
  if (latencies.length === 0) throw new RangeError("summarizeLatencies: no latencies");
  let sum = 0, max = -Infinity;
  for (const latency of latencies) {
    sum += latency;
    if (latency > max) max = latency;
  }
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    mean: sum / latencies.length,
    max,
    count: latencies.length,
  };
}

/** The gaps between consecutive arrival times (e.g. performance.now() at each streamed token): n times, n − 1 gaps. */
export function interTokenLatencies(arrivalTimes: readonly number[]): number[] {
  const gaps: number[] = [];
  for (let index = 1; index < arrivalTimes.length; index++) {
    const gap = arrivalTimes[index] - arrivalTimes[index - 1];
    if (gap < 0) throw new RangeError(`interTokenLatencies: arrival time ${index} (${arrivalTimes[index]}) is before the one before it (${arrivalTimes[index - 1]})`);
    gaps.push(gap);
  }
  return gaps;
}

/** Inter-token latency percentiles from token arrival times; needs at least two tokens. */
export function interTokenLatencySummary(arrivalTimes: readonly number[]): LatencySummary {
  if (arrivalTimes.length < 2) throw new RangeError(`interTokenLatencySummary: needs at least 2 arrival times, got ${arrivalTimes.length}`);
  return summarizeLatencies(interTokenLatencies(arrivalTimes));
}
