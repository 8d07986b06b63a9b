/**
 * The benchmark and accuracy harness shared by every recipe's `bench.ts` and `accuracy.ts` and by
 * `benchmarks/`: medians over repeated runs, machine description, peak memory, progress lines; accuracy metrics
 * (logits max-abs-diff, KL divergence, perplexity, top-1 and greedy agreement) with tolerance gates that fail a run;
 * markdown tables, SVG bar charts, and the {@link ResultsRecord} shape of a recipe's `results/*.json`.
 *
 * @module @infer-recipes/harness
 */
export { compareLogits, greedyAgreement, klDivergence, logSoftmax, perplexity, type LogitComparison } from "./accuracy-metrics.ts";
export { positiveIntegerOption } from "./command-line-options.ts";
export { barChartSvg, type BarChart, type BarSeries } from "./chart.ts";
export type { AxisScale } from "./chart-axis.ts";
export { runCommand, startServerProcess, type CommandOptions, type CommandResult, type ServerProcess, type ServerProcessOptions } from "./child-process.ts";
export { lineChartSvg, type LineChart, type LineSeries, type MarkedPoint } from "./line-chart.ts";
export {
  busyFraction,
  cpuTimes,
  othersBusyFraction,
  waitForQuietCpu,
  type CpuTimes,
  type QuietCpuOptions,
  type QuietCpuResult,
} from "./cpu-activity.ts";
export { chiSquareGoodnessOfFit, chiSquareSurvival, type GoodnessOfFit } from "./goodness-of-fit.ts";
export { describeMachine, lastLevelCacheBytes, machineInfo, type MachineInfo } from "./machine.ts";
export { availableMemoryBytes, peakResidentBytes, residentBytes } from "./memory.ts";
export { optimizedPathChecks, type OptimizedPathChecks, type OptimizedPathInput, type OptimizedPathRow, type PathTolerances } from "./optimized-path-checks.ts";
export { interTokenLatencies, interTokenLatencySummary, percentile, summarizeLatencies, type LatencySummary } from "./percentiles.ts";
export { createStepReporter } from "./progress.ts";
export { reportJson, writeReportFiles } from "./report-files.ts";
export { resultsRecordProblems, type HeadlineFigure, type ResultsRecord } from "./results-record.ts";
export { exactSequenceProbabilities, sequenceIndex } from "./sequence-distribution.ts";
export { measureRepeatedly, timeRepeatedly, type MeasuredRun, type RepeatedMeasurement, type RepeatedMeasurementOptions } from "./repeated-measurement.ts";
export {
  slidingWindowPerplexity,
  type SlidingWindowOptions,
  type SlidingWindowPerplexity,
  type WindowLogits,
  type WindowRequest,
} from "./sliding-window-perplexity.ts";
export { median, summarize, timeMilliseconds, type Summary } from "./statistics.ts";
export { markdownTable, type Column } from "./table.ts";
export { estimateTextWidth } from "./text-width.ts";
export { describeChecks, passes, type ToleranceCheck } from "./tolerance.ts";
