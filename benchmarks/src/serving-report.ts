// Turns serving benchmark rows into the files under benchmarks/results/: a markdown table with the machine, command
// and the headline ratios (continuous batching ÷ sequential at 8 clients, TTFT without ÷ with the prefix cache,
// sequences held and decode tok/s of each cache type ÷ f32 at the same cache budget), the raw JSON, and SVG charts
// (throughput against concurrency; TTFT with and without the prefix cache; tok/s per cache type at the budget).


import { barChartSvg, describeMachine, markdownTable, reportJson, writeReportFiles, type Column, type MachineInfo } from "@infer-recipes/harness";

import type { ServingRow } from "./serving.ts";

/** Targets of the serving issue. */
export const BATCHING_TARGET = 3;
export const PREFIX_CACHE_TARGET = 5;
/** Targets of the hardening issue: /health p99 with 8 streaming clients, and the worker's decode within 5 %. */
export const HEALTH_P99_TARGET_MS = 50;
export const WORKER_DECODE_TOLERANCE = 0.05;

/** A figure for the table; blank where the row's benchmark does not measure it. */
function figure(value: number | undefined, digits: number): string {
  return value === undefined || Number.isNaN(value) ? "" : value.toFixed(digits);
}

/** Columns both serving tables show, defined once. */
const column = {
  clients: { header: "clients", value: (row) => row.concurrency },
  promptOutput: { header: "prompt / output tokens", value: (row) => `${row.prompt_tokens} / ${row.output_tokens}` },
  generated: { header: "generated tok/s", value: (row) => figure(row.tokens_per_s, 1) },
  total: { header: "total tok/s", value: (row) => figure(row.total_tokens_per_s, 1) },
  decodeStep: { header: "decode-step tok/s", value: (row) => figure(row.decode_tokens_per_s, 1) },
  ttftP50: { header: "TTFT p50 ms", value: (row) => figure(row.ttft_p50_ms, 0) },
  meanBatch: { header: "mean batch", value: (row) => figure(row.mean_batch, 1) },
  wall: { header: "wall s", value: (row) => figure(row.wall_s, 1) },
} satisfies Record<string, Column<ServingRow>>;

const columns: Column<ServingRow>[] = [
  { header: "benchmark", value: (row) => row.benchmark, align: "left" },
  { header: "mode", value: (row) => row.mode, align: "left" },
  column.clients,
  column.promptOutput,
  column.generated,
  column.total,
  column.decodeStep,
  column.ttftP50,
  { header: "TTFT p95 ms", value: (row) => figure(row.ttft_p95_ms, 0) },
  { header: "inter-token p50 ms", value: (row) => figure(row.itl_p50_ms, 0) },
  { header: "inter-token p95 ms", value: (row) => figure(row.itl_p95_ms, 0) },
  column.meanBatch,
  { header: "/health p50 / p99 / max ms", value: (row) => (row.health_p99_ms === undefined ? "" : `${figure(row.health_p50_ms, 1)} / ${figure(row.health_p99_ms, 1)} / ${figure(row.health_max_ms, 0)}`) },
  {
    header: "server event-loop delay p99 / max ms (own CPU max)",
    value: (row) => (row.event_loop_delay_max_ms === undefined ? "" : `${figure(row.event_loop_delay_p99_ms, 1)} / ${figure(row.event_loop_delay_max_ms, 0)} (${figure(row.event_loop_own_cpu_max_ms, 0)})`),
  },
  { header: "others' CPU %", value: (row) => (row.others_busy_fraction === undefined ? "" : figure(row.others_busy_fraction * 100, 0)) },
  column.wall,
];

const MIB = 1024 ** 2;

/** The cache-budget rows' own columns: the cache, what it held, and the serving figures that follow from it. */
const cacheBudgetColumns: Column<ServingRow>[] = [
  { header: "cache", value: (row) => row.cache_dtype ?? "", align: "left" },
  { header: "budget MiB", value: (row) => figure((row.cache_budget_bytes ?? Number.NaN) / MIB, 1) },
  { header: "cache MiB", value: (row) => figure((row.cache_bytes ?? Number.NaN) / MIB, 1) },
  { header: "bytes / token", value: (row) => row.bytes_per_token ?? "" },
  { header: "positions", value: (row) => row.cache_tokens ?? "" },
  column.clients,
  column.promptOutput,
  { header: "whole requests fit", value: (row) => row.sequences_fit ?? "" },
  { header: "most sequences at once", value: (row) => row.max_concurrent_sequences ?? "" },
  { header: "preemptions", value: (row) => row.preemptions },
  column.decodeStep,
  column.generated,
  column.total,
  column.ttftP50,
  column.meanBatch,
  column.wall,
];

/** The rows of the cache-budget section. */
function cacheBudgetRows(rows: readonly ServingRow[]): ServingRow[] {
  return rows.filter((row) => row.benchmark === "cache-budget");
}

/** The rows as markdown: one table for the cache-budget rows (their own columns), one for the others. */
export function servingTable(rows: readonly ServingRow[]): string {
  const budget = cacheBudgetRows(rows);
  const others = rows.filter((row) => row.benchmark !== "cache-budget");
  return [...(others.length > 0 ? [markdownTable(others, columns)] : []), ...(budget.length > 0 ? [markdownTable(budget, cacheBudgetColumns)] : [])].join("\n\n");
}

/** Each cache-budget row's figures against the first row's (the baseline type, f32 by default): sequences held at
 *  once and decode-step tok/s as ratios. */
export function cacheBudgetRatios(rows: readonly ServingRow[]): Array<{ dtype: string; baseline: string; sequences: number; decode: number; wall: number }> {
  const budget = cacheBudgetRows(rows);
  const baseline = budget[0];
  if (!baseline) return [];
  return budget.slice(1).map((row) => ({
    dtype: row.cache_dtype ?? "?",
    baseline: baseline.cache_dtype ?? "?",
    sequences: (row.max_concurrent_sequences ?? Number.NaN) / (baseline.max_concurrent_sequences ?? Number.NaN),
    decode: row.decode_tokens_per_s / baseline.decode_tokens_per_s,
    wall: row.tokens_per_s / baseline.tokens_per_s,
  }));
}

function cacheBudgetVerdicts(rows: readonly ServingRow[]): string[] {
  const budget = cacheBudgetRows(rows);
  if (budget.length === 0) return [];
  const first = budget[0];
  return [
    `- at a cache budget of ${figure(first.cache_budget_bytes! / MIB, 1)} MiB, ${first.concurrency} clients with ${first.prompt_tokens}-token prompts and ${first.output_tokens} tokens each: ` +
      budget.map((row) => `${row.cache_dtype} held at most ${row.max_concurrent_sequences} sequences at once (${row.preemptions} preemptions)`).join(", "),
    ...cacheBudgetRatios(rows).map(
      (ratio) =>
        `- ${ratio.dtype} ÷ ${ratio.baseline} cache at the same budget: ${ratio.sequences.toFixed(1)}× the sequences at once, ` +
        `${ratio.decode.toFixed(2)}× the decode-step tok/s, ${ratio.wall.toFixed(2)}× the generated tok/s of wall time`,
    ),
  ];
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

/** Batched decode tok/s with the model in a worker ÷ in the calling thread (NaN when not measured). */
export function workerDecodeRatio(rows: readonly ServingRow[]): number {
  const find = (mode: string) => rows.find((row) => row.benchmark === "worker-throughput" && row.mode === mode);
  const worker = find("worker");
  const local = find("in-process");
  return worker && local ? worker.decode_tokens_per_s / local.decode_tokens_per_s : Number.NaN;
}

/** The /health latency rows: with the model in the HTTP thread and in a worker. */
function responsivenessRows(rows: readonly ServingRow[]): { local?: ServingRow; worker?: ServingRow } {
  const find = (mode: string) => rows.find((row) => row.benchmark === "responsiveness" && row.mode === mode);
  return { local: find("in-process"), worker: find("worker") };
}

function workerVerdicts(rows: readonly ServingRow[]): string[] {
  const ratio = workerDecodeRatio(rows);
  const { local, worker } = responsivenessRows(rows);
  const lines: string[] = [];
  if (!Number.isNaN(ratio)) {
    const within = Math.abs(ratio - 1) <= WORKER_DECODE_TOLERANCE;
    lines.push(`- batched decode tok/s (8 clients) with the model in a worker thread ÷ in the calling thread: ${ratio.toFixed(3)}× (target within ${WORKER_DECODE_TOLERANCE * 100} %: ${within ? "met" : "NOT met"})`);
  }
  if (worker?.health_p99_ms !== undefined) {
    const met = worker.health_p99_ms < HEALTH_P99_TARGET_MS;
    lines.push(
      `- GET /health while 8 clients stream, model in a worker thread: p50 ${worker.health_p50_ms!.toFixed(1)} ms, p99 ${worker.health_p99_ms.toFixed(1)} ms ` +
        `(target p99 < ${HEALTH_P99_TARGET_MS} ms: ${met ? "met" : "NOT met"})` +
        (local?.health_p99_ms !== undefined ? `; model in the HTTP thread (before): p50 ${local.health_p50_ms!.toFixed(1)} ms, p99 ${local.health_p99_ms.toFixed(1)} ms` : ""),
    );
    if (worker.event_loop_delay_max_ms !== undefined) {
      lines.push(
        `- the server thread's own event-loop delay meanwhile (model in a worker): p99 ${worker.event_loop_delay_p99_ms!.toFixed(1)} ms, max ${worker.event_loop_delay_max_ms.toFixed(0)} ms; ` +
          `the most CPU it used between two 10 ms ticks: ${figure(worker.event_loop_own_cpu_max_ms, 0)} ms (what it can have blocked itself for); ` +
          `other processes used ${figure((worker.others_busy_fraction ?? Number.NaN) * 100, 0)} % of the CPUs, 1-minute load ${figure(worker.load_average, 1)}`,
      );
    }
  }
  return lines;
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
  const budgetRows = cacheBudgetRows(rows);
  const { local, worker } = responsivenessRows(rows);
  const health = [local, worker].filter((row): row is ServingRow => row !== undefined);
  const workerRows = rows.filter((row) => row.benchmark === "worker-throughput" || row.benchmark === "responsiveness");
  const sections = [
    ...(throughput.length > 0 ? ["continuous batching"] : []),
    ...(prefixRows.length > 0 ? ["prefix caching"] : []),
    ...(workerRows.length > 0 ? ["the model in a worker thread"] : []),
    ...(budgetRows.length > 0 ? ["a fixed KV-cache budget"] : []),
  ];
  const markdown = [
    `# Serving benchmark: ${sections.join(", ")}`,
    "",
    `Machine: ${describeMachine(machine)}. Date: ${machine.date}.`,
    `Command: \`${command}\`.`,
    "",
    "Model: random weights of the Llama-3.2-1B shape (hidden 2048, 16 layers, 32/8 heads, vocab 128256) at Q8_0, native",
    "kernels, in process. Requests go straight to the scheduler (the HTTP layer is bypassed). Generated tok/s = generated",
    "tokens ÷ wall time of the run; decode-step tok/s = tokens generated in steps without any prefill ÷ their time;",
    "TTFT includes queueing. The machine is shared; compare ratios rather than absolute figures.",
    ...(throughput.length > 0 || prefixRows.length > 0
      ? [
          "Throughput: each client sends one request at the same moment; \"sequential\" serves them one at a time (batch of",
          "1), \"continuous-batching\" together (batch ≤ 16, ≤ 256 tokens per step, chunked prefill, paged KV cache in blocks",
          "of 16). The prefix-cache rows send requests one at a time that share a 1000-token system prompt, each with its own",
          "24-token question, without and with the prefix cache (filled by one earlier request).",
        ]
      : []),
    "",
    // Only the headlines of the rows measured (--worker-only runs neither throughput nor prefix-cache rows).
    ...(throughput.length > 0
      ? [
          `- continuous batching ÷ sequential at ${speedupLevel} clients, decode throughput (tokens/s of the decode-only steps): ${verdict(batchingSpeedup(rows, speedupLevel, "decode_tokens_per_s"), BATCHING_TARGET)}`,
          `- continuous batching ÷ sequential at ${speedupLevel} clients, end to end (generated tokens/s of wall time, prefill included): ${batchingSpeedup(rows, speedupLevel).toFixed(1)}×`,
        ]
      : []),
    ...(prefixRows.length > 0 ? [`- TTFT without ÷ with the prefix cache (p50): ${verdict(prefixCacheSpeedup(rows), PREFIX_CACHE_TARGET)}`] : []),
    ...workerVerdicts(rows),
    ...cacheBudgetVerdicts(rows),
    "",
    ...(workerRows.length > 0
      ? [
          "Where the model runs: \"in-process\" is the model and its scheduler in the thread that answers (how the server ran",
          "before), \"worker\" a worker thread that owns them (how `--serve` runs now); both copies have the same seeded weights",
          "and the runs are interleaved. worker-throughput: 8 clients at once through the model host without HTTP; its decode",
          "tok/s is the sum over requests of (tokens − 1) ÷ (end − first token), the step throughput while all decode",
          "together. responsiveness: the same 8 clients streaming over HTTP while GET /health is polled every 50 ms; the",
          "server thread's event-loop delay is its own measure (monitorEventLoopDelay, as /health reports it), and its own",
          "CPU time between two ticks (Linux scheduler counters) bounds how long it held itself up, whatever the machine's load.",
          "",
        ]
      : []),
    ...(budgetRows.length > 0
      ? [
          "Cache budget: the paged KV cache of every cache type gets the same bytes, sized with the shared accounting",
          "(pagedKvCacheBlocksWithin: its blocks, 16 positions for f32/f16/bf16 and 32 for q8_0/q4_0, the null block",
          "included, plus the f32 key residual each sequence of a q8_0/q4_0 cache keeps, one per client); all clients send",
          "at once and the batch may hold all of them (≤ 256 tokens per step), so only the cache's memory limits how many",
          "run together. \"most sequences at once\" is the scheduler's largest running batch; a request that no longer",
          "fits is preempted (its blocks freed, recomputed later) or waits for admission.",
          "",
        ]
      : []),
    servingTable(rows),
    "",
    ...(throughput.length > 0 ? [`![throughput](${name}.svg)`, ""] : []),
    ...(prefixRows.length > 0 ? [`![prefix cache](${name}-prefix-cache.svg)`, ""] : []),
    ...(budgetRows.length > 0 ? [`![cache budget](${name}-cache-budget.svg)`, ""] : []),
    ...(health.length > 0 ? [`![responsiveness](${name}-responsiveness.svg)`, ""] : []),
  ].join("\n");
  const files: Record<string, string> = { [`${name}.md`]: markdown, [`${name}.json`]: reportJson({ machine, command, rows }) };
  if (throughput.length > 0) {
    files[`${name}.svg`] = barChartSvg({
      title: "Generated tokens/s against concurrent clients (Llama-3.2-1B shape, Q8_0)",
      unit: "tok/s",
      labels: levels.map((level) => `${level} client${level === 1 ? "" : "s"}`),
      series: [
        { name: "sequential", color: "#9aa5b1", values: tokensPerSecond("sequential") },
        { name: "continuous batching", color: "#1f5fa8", values: tokensPerSecond("continuous-batching") },
      ],
    });
  }
  if (health.length > 0) {
    files[`${name}-responsiveness.svg`] = barChartSvg({
      title: "GET /health latency while 8 clients stream (Llama-3.2-1B shape, Q8_0)",
      unit: "ms",
      labels: health.map((row) => (row.mode === "worker" ? "model in a worker thread" : "model in the HTTP thread")),
      series: [
        { name: "p50", color: "#7aa6d8", values: health.map((row) => row.health_p50_ms ?? Number.NaN) },
        { name: "p99", color: "#1f5fa8", values: health.map((row) => row.health_p99_ms ?? Number.NaN) },
      ],
    });
  }
  if (budgetRows.length > 0) {
    const first = budgetRows[0];
    files[`${name}-cache-budget.svg`] = barChartSvg({
      title: `${first.concurrency} clients at once into ${figure(first.cache_budget_bytes! / MIB, 0)} MiB of KV cache, per cache type (Llama-3.2-1B shape, Q8_0 weights)`,
      unit: "tok/s",
      labels: budgetRows.map((row) => `${row.cache_dtype}: ≤ ${row.max_concurrent_sequences} sequences at once`),
      series: [
        { name: "decode-step tok/s", color: "#1f5fa8", values: budgetRows.map((row) => row.decode_tokens_per_s) },
        { name: "generated tok/s (wall)", color: "#7aa6d8", values: budgetRows.map((row) => row.tokens_per_s) },
      ],
    });
  }
  if (prefixRows.length > 0) {
    files[`${name}-prefix-cache.svg`] = barChartSvg({
      title: "Time to first token with a repeated 1000-token system prompt",
      unit: "ms",
      labels: prefixRows.map((row) => (row.mode === "prefix-cache" ? "with prefix cache" : "without prefix cache")),
      series: [
        { name: "TTFT p50", color: "#1f5fa8", values: prefixRows.map((row) => row.ttft_p50_ms) },
        { name: "TTFT p95", color: "#7aa6d8", values: prefixRows.map((row) => row.ttft_p95_ms) },
      ],
    });
  }
  return writeReportFiles(directory, files);
}
