// The harness package: statistics, accuracy metrics and gates, memory figures, progress, tables and charts shared by
// every recipe's bench.ts and accuracy.ts and by benchmarks/.
export { compareLogits, greedyAgreement, klDivergence, logSoftmax, perplexity, type LogitComparison } from "./accuracy-metrics.ts";
export { barChartSvg, type BarChart, type BarSeries } from "./chart.ts";
export { describeMachine, lastLevelCacheBytes, machineInfo, type MachineInfo } from "./machine.ts";
export { peakResidentBytes, residentBytes } from "./memory.ts";
export { createStepReporter } from "./progress.ts";
export { median, summarize, timeMilliseconds, type Summary } from "./statistics.ts";
export { markdownTable, type Column } from "./table.ts";
export { describeChecks, passes, type ToleranceCheck } from "./tolerance.ts";
