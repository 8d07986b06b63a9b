// The harness package: statistics, accuracy metrics and gates, memory figures, progress, tables and charts shared by
// every recipe's bench.ts and accuracy.ts and by benchmarks/.
export { compareLogits, greedyAgreement, klDivergence, logSoftmax, perplexity, type LogitComparison } from "./accuracy-metrics.ts";
export { barChartSvg, type BarChart, type BarSeries } from "./chart.ts";
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
export { interTokenLatencies, interTokenLatencySummary, percentile, summarizeLatencies, type LatencySummary } from "./percentiles.ts";
export { createStepReporter } from "./progress.ts";
export { reportJson, writeReportFiles } from "./report-files.ts";
export { measureRepeatedly, timeRepeatedly, type RepeatedMeasurement, type RepeatedMeasurementOptions } from "./repeated-measurement.ts";
export {
  slidingWindowPerplexity,
  type SlidingWindowOptions,
  type SlidingWindowPerplexity,
  type WindowLogits,
  type WindowRequest,
} from "./sliding-window-perplexity.ts";
export { median, summarize, timeMilliseconds, type Summary } from "./statistics.ts";
export { markdownTable, type Column } from "./table.ts";
export { describeChecks, passes, type ToleranceCheck } from "./tolerance.ts";
