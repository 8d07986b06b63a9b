// "Warm up, then measure N times": the loop every benchmark row runs. Warm-up runs page weights in, fill caches and
// let the JIT settle; they are reported separately and never enter the median.

import { summarize, type Summary } from "./statistics.ts";

/** How many runs {@link measureRepeatedly} makes, and a callback per run. */
export interface RepeatedMeasurementOptions {
  /** Runs made first and left out of the summary (default 1). */
  warmupRuns?: number;
  /** Measured runs (at least 1). */
  runs: number;
  /** Called after each run with its value; `warmup` tells whether it counts. */
  onRun?: (value: number, run: MeasuredRun) => void;
}

/** Which run of {@link measureRepeatedly} is being made. */
export interface MeasuredRun {
  /** 0-based, warm-up runs first. */
  index: number;
  /** True for a warm-up run, whose value is left out of the summary. */
  warmup: boolean;
}

/** The summary (median, min, max) of the measured runs, with every value. */
export interface RepeatedMeasurement extends Summary {
  /** The measured values in run order. */
  values: number[];
  /** The warm-up values in run order. */
  warmupValues: number[];
}

function checkOptions(options: RepeatedMeasurementOptions): number {
  const warmupRuns = options.warmupRuns ?? 1;
  if (!Number.isInteger(warmupRuns) || warmupRuns < 0) throw new RangeError(`measureRepeatedly: warmupRuns must be an integer ≥ 0, got ${warmupRuns}`);
  if (!Number.isInteger(options.runs) || options.runs < 1) throw new RangeError(`measureRepeatedly: runs must be an integer ≥ 1, got ${options.runs}`);
  return warmupRuns;
}

/**
 * Calls `measureOnce` warmupRuns + runs times (one after the other, awaiting each) and summarizes the values of the
 * measured runs: median, min, max. `measureOnce` returns the figure itself (tokens/s, ms, bytes, ...).
 *
 * @example
 * ```ts
 * import { measureRepeatedly } from "@infer-recipes/harness";
 *
 * const tokens = 32;
 * const result = await measureRepeatedly(async () => {
 *   const started = performance.now();
 *   // ... decode `tokens` tokens ...
 *   return (tokens / (performance.now() - started)) * 1000;
 * }, { warmupRuns: 1, runs: 5 });
 * console.log(`decode ${result.median.toFixed(1)} tok/s (${result.min.toFixed(1)}–${result.max.toFixed(1)})`);
 * ```
 */
export async function measureRepeatedly(
  measureOnce: (run: MeasuredRun) => number | Promise<number>,
  options: RepeatedMeasurementOptions,
): Promise<RepeatedMeasurement> {
  const warmupRuns = checkOptions(options);
  const values: number[] = [];
  const warmupValues: number[] = [];
  for (let index = 0; index < warmupRuns + options.runs; index++) {
    const run = { index, warmup: index < warmupRuns };
    const value = await measureOnce(run);
    if (typeof value !== "number" || Number.isNaN(value)) throw new TypeError(`measureRepeatedly: run ${index} returned ${String(value)}, not a number`);
    (run.warmup ? warmupValues : values).push(value);
    options.onRun?.(value, run);
  }
  return { ...summarize(values), values, warmupValues };
}

/** Times `work` (milliseconds of wall-clock time per call) with warm-up runs, as measureRepeatedly does. */
export async function timeRepeatedly(work: (run: MeasuredRun) => unknown, options: RepeatedMeasurementOptions): Promise<RepeatedMeasurement> {
  return measureRepeatedly(async (run) => {
    const start = performance.now();
    await work(run);
    return performance.now() - start;
  }, options);
}
