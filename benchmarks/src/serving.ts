// `pnpm bench serving [--json] [--quick] [--worker-only | --cache-budget-only] [--kv-cache-dtype f32,q8_0]
// [--cache-budget-mib N]`: serving many clients on one CPU, sequential vs continuous batching, the prefix cache, the
// model in the HTTP thread vs a worker thread (serving-worker.ts), and how many sequences a paged cache of a fixed
// size holds per cache element type (serving-cache-budget.ts). The model is a random-weight Llama of the
// Llama-3.2-1B shape at Q8_0, built in process on the native kernels; requests go straight to the scheduler (the
// HTTP layer is bypassed, so the figures are the engine's).
//
//   throughput: N clients each send one request at once (128 random prompt tokens, 128 generated, no early stop).
//     "sequential" serves them one at a time (the same scheduler with a batch of 1: prefill, then decode, then the
//     next request); "continuous batching" runs them together (batch ≤ 16, 256 tokens per step, chunked prefill).
//     tokens/s = generated tokens ÷ wall time; TTFT = submit → first token (queueing included); inter-token latency
//     = gaps between a request's consecutive tokens.
//   prefix cache: requests that share a 1000-token system prompt (each with its own 24-token question), one at a
//     time; TTFT without the prefix cache vs with it (after one request has filled it).
//   cache budget: 8 clients (6 with --quick) send 512-token prompts (256) for 128 tokens (32) at once into a paged
//     cache of the same bytes for every --kv-cache-dtype (default f32,q8_0; default budget: what all the clients'
//     sequences take in a q8_0 cache, --cache-budget-mib to choose); the most sequences it held at once,
//     preemptions, decode-step and wall tok/s, TTFT.

import { parseArgs } from "node:util";

import { parseCacheDType } from "@infer-recipes/cache";
import { describeMachine, machineInfo } from "@infer-recipes/harness";
import { nativeAvailability, physicalCoreCount, type CacheDType } from "@infer-recipes/kernel";
import { Scheduler, type StepReport } from "@infer-recipes/scheduler";

import { cacheBudgetForClients, cacheBudgetWorkloads, runCacheBudgetRows } from "./serving-cache-budget.ts";
import { measure, randomTokens } from "./serving-measure.ts";
import { servingTable, writeServingReport } from "./serving-report.ts";
import { servingModel } from "./serving-model-loader.ts";
import { runWorkerRows } from "./serving-worker.ts";

export type ServingMode = "sequential" | "continuous-batching" | "no-prefix-cache" | "prefix-cache" | "in-process" | "worker";

export interface ServingRow {
  benchmark: "throughput" | "prefix-cache" | "worker-throughput" | "responsiveness" | "cache-budget";
  mode: ServingMode;
  concurrency: number;
  requests: number;
  prompt_tokens: number;
  output_tokens: number;
  /** Tokens generated over all requests (requests × output_tokens: no request stops early). */
  generated_tokens?: number;
  /** Generated tokens per second of wall time, all requests together. */
  tokens_per_s: number;
  /** Prompt plus generated tokens per second of wall time. */
  total_tokens_per_s: number;
  /** Generated tokens per second of the steps that only decoded (no prefill chunk in them): the decode throughput. */
  decode_tokens_per_s: number;
  ttft_p50_ms: number;
  ttft_p95_ms: number;
  itl_p50_ms: number;
  itl_p95_ms: number;
  /** Mean requests per model step. */
  mean_batch: number;
  wall_s: number;
  preemptions: number;
  cached_prompt_tokens: number;
  /** worker-throughput: runs the medians are over. */
  runs?: number;
  /** responsiveness: latency of GET /health polled every 50 ms while the clients stream. */
  health_p50_ms?: number;
  health_p99_ms?: number;
  health_max_ms?: number;
  health_polls?: number;
  /** responsiveness: polls that failed (node:http drops requests that waited past its timeouts on a blocked thread). */
  health_failed_polls?: number;
  /** responsiveness: the server thread's event-loop delay over the run (its own measure, as /health reports it). */
  event_loop_delay_p99_ms?: number;
  event_loop_delay_max_ms?: number;
  /** responsiveness: the most CPU the server thread used between two 10 ms ticks (what it blocked itself for, at most). */
  event_loop_own_cpu_max_ms?: number;
  /** responsiveness: share of the machine's CPU time other processes used during the run, and the 1-minute load at its start. */
  others_busy_fraction?: number;
  load_average?: number;
  /** cache-budget: the paged cache's element type. */
  cache_dtype?: CacheDType;
  /** cache-budget: the bytes every cache type got (--cache-budget-mib). */
  cache_budget_bytes?: number;
  /** cache-budget: the bytes this cache allocated within the budget (every block, and a key residual per sequence). */
  cache_bytes?: number;
  /** cache-budget: bytes of keys and values of one token over all layers. */
  bytes_per_token?: number;
  /** cache-budget: positions the cache's blocks hold. */
  cache_tokens?: number;
  /** cache-budget: whole requests (prompt + output) the cache's blocks hold at once. */
  sequences_fit?: number;
  /** cache-budget: the most requests the scheduler ran at once (the sequences holding blocks together). */
  max_concurrent_sequences?: number;
}

export interface ServingOptions {
  quick: boolean;
  progress: (line: string) => void;
  /** Only the rows about the model in a worker thread (worker-throughput, responsiveness). */
  workerOnly?: boolean;
  /** Only the cache-budget rows. */
  cacheBudgetOnly?: boolean;
  /** Cache element types of the cache-budget rows (default f32, q8_0). */
  cacheDTypes?: readonly CacheDType[];
  /** Bytes of the cache-budget rows' caches (default: what every client's sequence takes in a q8_0 cache). */
  cacheBudgetBytes?: number;
}

export async function* runServingBenchmark(options: ServingOptions): AsyncGenerator<ServingRow> {
  const { quick, progress } = options;
  progress("building a random Llama-3.2-1B-shape model at Q8_0 on the native kernels…");
  const model = servingModel(4096);
  const config = model.config;
  const promptTokens = quick ? 64 : 128;
  const outputTokens = quick ? 32 : 128;
  const levels = quick ? [1, 8] : [1, 2, 4, 8, 16];
  const maxBatchSize = 16;
  const maxBatchTokens = 256;
  const blockSize = 16;
  const blockCount = Math.ceil((maxBatchSize * (promptTokens + outputTokens)) / blockSize) + 16;

  // Warm-up: page the weights in and let every code path compile.
  {
    const scheduler = new Scheduler(model, model.createPagedCache({ blockCount: 64, blockSize }), { maxBatchSize: 2 });
    await Promise.all([0, 1].map((index) => scheduler.submit({ promptIds: randomTokens(24, 99 + index), maxTokens: 4, temperature: 0 }).result));
  }

  if (options.workerOnly) {
    yield* workerRows();
    return;
  }
  if (options.cacheBudgetOnly) {
    yield* cacheBudgetRows();
    return;
  }

  for (const concurrency of levels) {
    for (const mode of ["sequential", "continuous-batching"] as const) {
      const steps: StepReport[] = [];
      const cache = model.createPagedCache({ blockCount, blockSize, prefixCaching: false });
      const scheduler = new Scheduler(model, cache, {
        maxBatchSize: mode === "sequential" ? 1 : maxBatchSize,
        maxBatchTokens,
        onStep: (report) => steps.push(report),
      });
      const prompts = Array.from({ length: concurrency }, (_, index) => randomTokens(promptTokens, concurrency * 100 + index));
      progress(`throughput: ${mode}, ${concurrency} client(s), ${promptTokens}-token prompts, ${outputTokens} tokens each…`);
      const row = await measure(scheduler, { benchmark: "throughput", mode, concurrency, prompts, outputTokens, oneAtATime: false }, steps);
      if (cache.pool.usedBlocks !== 0) throw new Error(`serving benchmark: ${cache.pool.usedBlocks} blocks still in use after the run`);
      yield row;
    }
  }

  const systemTokens = 1000;
  const questionTokens = 24;
  const system = randomTokens(systemTokens, 7);
  const repeats = quick ? { cold: 1, warm: 3 } : { cold: 3, warm: 6 };
  const prefixBlocks = Math.ceil((systemTokens + questionTokens + 8) / blockSize) * 4 + 8;
  for (const mode of ["no-prefix-cache", "prefix-cache"] as const) {
    const cache = model.createPagedCache({ blockCount: prefixBlocks, blockSize, prefixCaching: mode === "prefix-cache" });
    const steps: StepReport[] = [];
    const scheduler = new Scheduler(model, cache, { maxBatchSize: 1, maxBatchTokens: 512, onStep: (report) => steps.push(report) });
    const count = mode === "prefix-cache" ? repeats.warm : repeats.cold;
    if (mode === "prefix-cache") {
      progress(`prefix cache: filling it with one ${systemTokens}-token system prompt…`);
      await scheduler.submit({ promptIds: [...system, ...randomTokens(questionTokens, 500)], maxTokens: 1, temperature: 0 }).result;
    }
    const prompts = Array.from({ length: count }, (_, index) => [...system, ...randomTokens(questionTokens, 600 + index)]);
    progress(`prefix cache: ${mode}, ${count} request(s) sharing a ${systemTokens}-token system prompt…`);
    yield await measure(scheduler, { benchmark: "prefix-cache", mode, concurrency: 1, prompts, outputTokens: 8, oneAtATime: true }, steps);
  }
  yield* cacheBudgetRows();
  yield* workerRows();

  /** The same paged-cache bytes for every cache element type (serving-cache-budget.ts). */
  function cacheBudgetRows(): AsyncGenerator<ServingRow> {
    const workload = cacheBudgetWorkloads[quick ? "quick" : "full"];
    return runCacheBudgetRows({
      ...workload,
      model,
      dtypes: options.cacheDTypes ?? ["f32", "q8_0"],
      budgetBytes: options.cacheBudgetBytes ?? cacheBudgetForClients(model, workload),
      progress,
    });
  }

  /** The model in the HTTP thread vs in a worker thread, 8 clients (serving-worker.ts). */
  function workerRows(): AsyncGenerator<ServingRow> {
    const clients = 8;
    return runWorkerRows({
      quick,
      progress,
      model,
      prompts: Array.from({ length: clients }, (_, index) => randomTokens(promptTokens, 8000 + index)),
      outputTokens,
      modelOptions: { contextLength: config.contextLength, blockCount: Math.ceil((maxBatchSize * (promptTokens + outputTokens)) / blockSize) + 16, blockSize, maxBatchSize, maxBatchTokens },
    });
  }
}

/** The command: runs everything, prints rows (JSON lines with --json, else a table), writes the report files. */
export async function benchServing(argv: string[], resultsDirectory: string): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" }, json: { type: "boolean" }, "worker-only": { type: "boolean" }, "cache-budget-only": { type: "boolean" },
      "kv-cache-dtype": { type: "string" }, "cache-budget-mib": { type: "string" },
    },
  });
  const workerOnly = Boolean(values["worker-only"]);
  const cacheBudgetOnly = Boolean(values["cache-budget-only"]);
  if (workerOnly && cacheBudgetOnly) throw new Error("--worker-only and --cache-budget-only exclude each other");
  const cacheDTypes = values["kv-cache-dtype"]?.split(",").map((text) => parseCacheDType(text.trim(), "--kv-cache-dtype"));
  const budgetMiB = values["cache-budget-mib"] === undefined ? undefined : Number(values["cache-budget-mib"]);
  if (budgetMiB !== undefined && !(budgetMiB > 0)) throw new Error(`--cache-budget-mib must be a number of MiB > 0, got "${values["cache-budget-mib"]}"`);
  const availability = nativeAvailability();
  if (!availability.available) {
    process.stderr.write(`the serving benchmark runs on the native backend, which is unavailable: ${availability.reason}\n`);
    process.exit(2);
  }
  const machine = machineInfo();
  const started = Date.now();
  const rows: ServingRow[] = [];
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  progress(`${describeMachine(machine)}; ${physicalCoreCount()} physical cores`);
  const cacheBudgetBytes = budgetMiB === undefined ? undefined : Math.floor(budgetMiB * 1024 ** 2);
  for await (const row of runServingBenchmark({ quick: Boolean(values.quick), progress, workerOnly, cacheBudgetOnly, cacheDTypes, cacheBudgetBytes })) {
    rows.push(row);
    if (values.json) process.stdout.write(`${JSON.stringify(row)}\n`);
    else if (row.benchmark === "responsiveness") {
      progress(
        `  /health p50 ${row.health_p50_ms!.toFixed(1)} ms / p99 ${row.health_p99_ms!.toFixed(1)} ms / max ${row.health_max_ms!.toFixed(0)} ms over ${row.health_polls} polls (${row.health_failed_polls} failed); ` +
          `${row.tokens_per_s.toFixed(1)} generated tok/s; server thread's event-loop delay p99 ${row.event_loop_delay_p99_ms!.toFixed(1)} ms / max ${row.event_loop_delay_max_ms!.toFixed(0)} ms, ` +
          `its own CPU between two ticks at most ${row.event_loop_own_cpu_max_ms?.toFixed(0) ?? "?"} ms; other processes used ${(row.others_busy_fraction! * 100).toFixed(0)} % of the CPUs (load ${row.load_average!.toFixed(1)})`,
      );
    } else {
      if (row.benchmark === "cache-budget") progress(`  held at most ${row.max_concurrent_sequences} sequences at once, ${row.preemptions} preemption(s)`);
      progress(
        `  ${row.tokens_per_s.toFixed(1)} generated tok/s (decode steps ${row.decode_tokens_per_s.toFixed(1)} tok/s), TTFT p50 ${row.ttft_p50_ms.toFixed(0)} ms / p95 ${row.ttft_p95_ms.toFixed(0)} ms, ` +
          `inter-token p50 ${row.itl_p50_ms.toFixed(0)} ms / p95 ${row.itl_p95_ms.toFixed(0)} ms, mean batch ${row.mean_batch.toFixed(1)}, ${row.wall_s.toFixed(1)} s`,
      );
    }
  }
  const name = `serving${workerOnly ? "-worker" : ""}${cacheBudgetOnly ? "-cache-budget" : ""}${values.quick ? "-quick" : ""}`;
  const command = ["pnpm bench serving", ...argv.filter((argument) => argument !== "--json")].join(" ");
  const paths = writeServingReport(resultsDirectory, name, rows, machine, command);
  if (!values.json) process.stdout.write(`${servingTable(rows)}\n`);
  process.stderr.write(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${paths.join(", ")}\n`);
}
