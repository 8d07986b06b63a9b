// Turns serving benchmark rows into the files under benchmarks/results/: a markdown table with the machine, command
// and the two headline ratios (continuous batching ÷ sequential at 8 clients, TTFT without ÷ with the prefix cache),
// the raw JSON, and SVG charts (throughput against concurrency; TTFT with and without the prefix cache).


import { barChartSvg, describeMachine, markdownTable, reportJson, writeReportFiles, type Column, type MachineInfo } from "@infer-recipes/harness";

import type { ServingRow } from "./serving.ts";

/** Targets of the serving issue. */
export const BATCHING_TARGET = 3;
export const PREFIX_CACHE_TARGET = 5;

const columns: Column<ServingRow>[] = [
  { header: "benchmark", value: (row) => row.benchmark, align: "left" },
  { header: "mode", value: (row) => row.mode, align: "left" },
  { header: "clients", value: (row) => row.concurrency },
  { header: "prompt / output tokens", value: (row) => `${row.prompt_tokens} / ${row.output_tokens}` },
  { header: "generated tok/s", value: (row) => row.tokens_per_s.toFixed(1) },
  { header: "total tok/s", value: (row) => row.total_tokens_per_s.toFixed(1) },
  { header: "decode-step tok/s", value: (row) => row.decode_tokens_per_s.toFixed(1) },
  { header: "TTFT p50 ms", value: (row) => row.ttft_p50_ms.toFixed(0) },
  { header: "TTFT p95 ms", value: (row) => row.ttft_p95_ms.toFixed(0) },
  { header: "inter-token p50 ms", value: (row) => row.itl_p50_ms.toFixed(0) },
  { header: "inter-token p95 ms", value: (row) => row.itl_p95_ms.toFixed(0) },
  { header: "mean batch", value: (row) => row.mean_batch.toFixed(1) },
  { header: "wall s", value: (row) => row.wall_s.toFixed(1) },
];

export function servingTable(rows: readonly ServingRow[]): string {
  return markdownTable(rows, columns);
}

/** Continuous batching ÷ sequential at `concurrency` clients, end to end (generated tokens/s of wall time) or over
 *  the decode-only steps (NaN when not measured). */
export function batchingSpeedup(rows: readonly ServingRow[], concurrency: number, measure: "tokens_per_s" | "decode_tokens_per_s" = "tokens_per_s"): number {
  const find = (mode: string) => rows.find((row) => row.benchmark === "throughput" && row.mode === mode && row.concurrency === concurrency);
  const batched = find("continuous-batching");
  const sequential = find("sequential");
  return batched && sequential ? batched[measure] / sequential[measure] : Number.NaN;
}

/** TTFT p50 without ÷ with the prefix cache. */
export function prefixCacheSpeedup(rows: readonly ServingRow[]): number {
  const without = rows.find((row) => row.mode === "no-prefix-cache");
  const withCache = rows.find((row) => row.mode === "prefix-cache");
  return without && withCache ? without.ttft_p50_ms / withCache.ttft_p50_ms : Number.NaN;
}

function verdict(value: number, target: number): string {
  return Number.isNaN(value) ? "not measured" : `${value.toFixed(1)}× (target ≥ ${target}×: ${value >= target ? "met" : "NOT met"})`;
}

/** Writes `<name>.md`, `<name>.json`, `<name>.svg` and `<name>-prefix-cache.svg`; returns the paths. */
export function writeServingReport(directory: string, name: string, rows: readonly ServingRow[], machine: MachineInfo, command: string): string[] {
  const throughput = rows.filter((row) => row.benchmark === "throughput");
  const levels = [...new Set(throughput.map((row) => row.concurrency))];
  const tokensPerSecond = (mode: string) => levels.map((level) => throughput.find((row) => row.mode === mode && row.concurrency === level)?.tokens_per_s ?? Number.NaN);
  const speedupLevel = levels.includes(8) ? 8 : levels[levels.length - 1];
  const prefixRows = rows.filter((row) => row.benchmark === "prefix-cache");
  const markdown = [
    "# Serving benchmark: continuous batching and prefix caching",
    "",
    `Machine: ${describeMachine(machine)}. Date: ${machine.date}.`,
    `Command: \`${command}\`.`,
    "",
    "Model: random weights of the Llama-3.2-1B shape (hidden 2048, 16 layers, 32/8 heads, vocab 128256) at Q8_0, native",
    "kernels, in process. Requests go straight to the scheduler (the HTTP layer is bypassed). Each client sends one",
    "request at the same moment; \"sequential\" serves them one at a time (batch of 1), \"continuous-batching\" together",
    "(batch ≤ 16, ≤ 256 tokens per step, chunked prefill, paged KV cache in blocks of 16). Generated tok/s = generated",
    "tokens ÷ wall time of the run; decode-step tok/s = tokens generated in steps without any prefill ÷ their time;",
    "TTFT includes queueing. The prefix-cache rows send requests one at a time that share",
    "a 1000-token system prompt, each with its own 24-token question, without and with the prefix cache (filled by one",
    "earlier request). The machine is shared; compare ratios rather than absolute figures.",
    "",
    `- continuous batching ÷ sequential at ${speedupLevel} clients, decode throughput (tokens/s of the decode-only steps): ${verdict(batchingSpeedup(rows, speedupLevel, "decode_tokens_per_s"), BATCHING_TARGET)}`,
    `- continuous batching ÷ sequential at ${speedupLevel} clients, end to end (generated tokens/s of wall time, prefill included): ${batchingSpeedup(rows, speedupLevel).toFixed(1)}×`,
    `- TTFT without ÷ with the prefix cache (p50): ${verdict(prefixCacheSpeedup(rows), PREFIX_CACHE_TARGET)}`,
    "",
    servingTable(rows),
    "",
    `![throughput](${name}.svg)`,
    "",
    `![prefix cache](${name}-prefix-cache.svg)`,
    "",
  ].join("\n");
  return writeReportFiles(directory, {
    [`${name}.md`]: markdown,
    [`${name}.json`]: reportJson({ machine, command, rows }),
    [`${name}.svg`]: barChartSvg({
      title: "Generated tokens/s against concurrent clients (Llama-3.2-1B shape, Q8_0)",
      unit: "tok/s",
      labels: levels.map((level) => `${level} client${level === 1 ? "" : "s"}`),
      series: [
        { name: "sequential", color: "#9aa5b1", values: tokensPerSecond("sequential") },
        { name: "continuous batching", color: "#1f5fa8", values: tokensPerSecond("continuous-batching") },
      ],
    }),
    [`${name}-prefix-cache.svg`]: barChartSvg({
      title: "Time to first token with a repeated 1000-token system prompt",
      unit: "ms",
      labels: prefixRows.map((row) => (row.mode === "prefix-cache" ? "with prefix cache" : "without prefix cache")),
      series: [
        { name: "TTFT p50", color: "#1f5fa8", values: prefixRows.map((row) => row.ttft_p50_ms) },
        { name: "TTFT p95", color: "#7aa6d8", values: prefixRows.map((row) => row.ttft_p95_ms) },
      ],
    }),
  });
}
