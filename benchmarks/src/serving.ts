// `pnpm bench serving [--json] [--quick] [--worker-only]`: serving many clients on one CPU, sequential vs continuous
// batching, the prefix cache, and the model in the HTTP thread vs a worker thread (serving-worker.ts). The model is a random-weight Llama of the Llama-3.2-1B shape at Q8_0, built in process on the native
// kernels; requests go straight to the scheduler (the HTTP layer is bypassed, so the figures are the engine's).
//
//   throughput: N clients each send one request at once (128 random prompt tokens, 128 generated, no early stop).
//     "sequential" serves them one at a time (the same scheduler with a batch of 1: prefill, then decode, then the
//     next request); "continuous batching" runs them together (batch ≤ 16, 256 tokens per step, chunked prefill).
//     tokens/s = generated tokens ÷ wall time; TTFT = submit → first token (queueing included); inter-token latency
//     = gaps between a request's consecutive tokens.
//   prefix cache: requests that share a 1000-token system prompt (each with its own 24-token question), one at a
//     time; TTFT without the prefix cache vs with it (after one request has filled it).

import { parseArgs } from "node:util";

import { describeMachine, machineInfo, percentile } from "@infer-recipes/harness";
import { nativeAvailability, physicalCoreCount } from "@infer-recipes/kernel";
import { Scheduler, type RequestResult, type StepReport } from "@infer-recipes/scheduler";

import { servingTable, writeServingReport } from "./serving-report.ts";
import { servingModel } from "./serving-model-loader.ts";
import { runWorkerRows } from "./serving-worker.ts";

export type ServingMode = "sequential" | "continuous-batching" | "no-prefix-cache" | "prefix-cache" | "in-process" | "worker";

export interface ServingRow {
  benchmark: "throughput" | "prefix-cache" | "worker-throughput" | "responsiveness";
  mode: ServingMode;
  concurrency: number;
  requests: number;
  prompt_tokens: number;
  output_tokens: number;
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
}

export interface ServingOptions {
  quick: boolean;
  progress: (line: string) => void;
  /** Only the rows about the model in a worker thread (worker-throughput, responsiveness). */
  workerOnly?: boolean;
}

/** Decode tokens per second over the steps that ran no prefill. */
function decodeThroughput(steps: readonly StepReport[]): number {
  const decodeOnly = steps.filter((step) => step.prefillTokens === 0);
  const milliseconds = decodeOnly.reduce((sum, step) => sum + step.milliseconds, 0);
  return milliseconds > 0 ? (decodeOnly.reduce((sum, step) => sum + step.decodeTokens, 0) / milliseconds) * 1000 : Number.NaN;
}

/** Deterministic pseudo-random token ids (avoiding the special ids at the top of the Llama 3 vocabulary). */
function randomTokens(count: number, seed: number): number[] {
  let state = seed >>> 0;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return 1000 + (state % 120000);
  });
}

interface RunSpec {
  benchmark: ServingRow["benchmark"];
  mode: ServingMode;
  concurrency: number;
  prompts: number[][];
  outputTokens: number;
  /** Submit all at once (throughput) or one after another (prefix-cache TTFT). */
  oneAtATime: boolean;
}

async function measure(scheduler: Scheduler, spec: RunSpec, steps: StepReport[]): Promise<ServingRow> {
  const tokenTimes: number[][] = spec.prompts.map(() => []);
  const submitted: number[] = [];
  const results: RequestResult[] = [];
  const started = performance.now();
  const submit = (index: number) => {
    submitted[index] = performance.now();
    return scheduler.submit({
      id: `${spec.mode}-${index}`,
      promptIds: spec.prompts[index],
      maxTokens: spec.outputTokens,
      temperature: 0,
      onToken: () => tokenTimes[index].push(performance.now()),
    }).result;
  };
  if (spec.oneAtATime) {
    for (let index = 0; index < spec.prompts.length; index++) results.push(await submit(index));
  } else {
    results.push(...(await Promise.all(spec.prompts.map((_, index) => submit(index)))));
  }
  const wall = (performance.now() - started) / 1000;
  const generated = results.reduce((sum, result) => sum + result.tokenIds.length, 0);
  const promptTokens = spec.prompts.reduce((sum, prompt) => sum + prompt.length, 0);
  const ttft = tokenTimes.map((times, index) => times[0] - submitted[index]);
  const gaps = tokenTimes.flatMap((times) => times.slice(1).map((time, index) => time - times[index]));
  return {
    benchmark: spec.benchmark,
    mode: spec.mode,
    concurrency: spec.concurrency,
    requests: spec.prompts.length,
    prompt_tokens: spec.prompts[0].length,
    output_tokens: spec.outputTokens,
    tokens_per_s: generated / wall,
    total_tokens_per_s: (generated + promptTokens) / wall,
    ttft_p50_ms: percentile(ttft, 50),
    ttft_p95_ms: percentile(ttft, 95),
    itl_p50_ms: percentile(gaps, 50),
    itl_p95_ms: percentile(gaps, 95),
    decode_tokens_per_s: decodeThroughput(steps),
    mean_batch: steps.length > 0 ? steps.reduce((sum, step) => sum + step.sequences, 0) / steps.length : 0,
    wall_s: wall,
    preemptions: scheduler.stats().preemptions,
    cached_prompt_tokens: results.reduce((sum, result) => sum + result.cachedPromptTokens, 0),
  };
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
  yield* workerRows();

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
  const { values } = parseArgs({ args: argv, options: { quick: { type: "boolean" }, json: { type: "boolean" }, "worker-only": { type: "boolean" } } });
  const workerOnly = Boolean(values["worker-only"]);
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
  for await (const row of runServingBenchmark({ quick: Boolean(values.quick), progress, workerOnly })) {
    rows.push(row);
    if (values.json) process.stdout.write(`${JSON.stringify(row)}\n`);
    else if (row.benchmark === "responsiveness") {
      progress(
        `  /health p50 ${row.health_p50_ms!.toFixed(1)} ms / p99 ${row.health_p99_ms!.toFixed(1)} ms / max ${row.health_max_ms!.toFixed(0)} ms over ${row.health_polls} polls (${row.health_failed_polls} failed); ` +
          `${row.tokens_per_s.toFixed(1)} generated tok/s; server thread's event-loop delay p99 ${row.event_loop_delay_p99_ms!.toFixed(1)} ms / max ${row.event_loop_delay_max_ms!.toFixed(0)} ms, ` +
          `its own CPU between two ticks at most ${row.event_loop_own_cpu_max_ms?.toFixed(0) ?? "?"} ms; other processes used ${(row.others_busy_fraction! * 100).toFixed(0)} % of the CPUs (load ${row.load_average!.toFixed(1)})`,
      );
    } else {
      progress(
        `  ${row.tokens_per_s.toFixed(1)} generated tok/s (decode steps ${row.decode_tokens_per_s.toFixed(1)} tok/s), TTFT p50 ${row.ttft_p50_ms.toFixed(0)} ms / p95 ${row.ttft_p95_ms.toFixed(0)} ms, ` +
          `inter-token p50 ${row.itl_p50_ms.toFixed(0)} ms / p95 ${row.itl_p95_ms.toFixed(0)} ms, mean batch ${row.mean_batch.toFixed(1)}, ${row.wall_s.toFixed(1)} s`,
      );
    }
  }
  const name = `serving${workerOnly ? "-worker" : ""}${values.quick ? "-quick" : ""}`;
  const command = `pnpm bench serving${workerOnly ? " --worker-only" : ""}${values.quick ? " --quick" : ""}`;
  const paths = writeServingReport(resultsDirectory, name, rows, machine, command);
  if (!values.json) process.stdout.write(`${servingTable(rows)}\n`);
  process.stderr.write(`finished in ${((Date.now() - started) / 1000).toFixed(0)} s; wrote ${paths.join(", ")}\n`);
}
