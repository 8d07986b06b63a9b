// The serving benchmark's rows about where the model runs: in the HTTP thread (LocalModelHost, how the server ran
// before) or in a worker thread that owns it (WorkerModelHost, how `--serve` runs now), on the same model.
//
//   worker-throughput: 8 clients at once (128 random prompt tokens, 128 generated), through the model host without
//     HTTP, in-process and worker runs interleaved. decode tok/s = Σ over requests of (tokens − 1) ÷ (end − first
//     token): the step throughput while all decode together; tok/s = generated tokens ÷ wall time at the caller.
//   responsiveness: the same 8 clients streaming over HTTP while another polls GET /health every 50 ms; the poll's
//     latency p50/p99/max. With the model in the HTTP thread a poll waits for the step in progress (a 256-token
//     prefill chunk of the 1B shape takes about a second); in a worker it should not wait at all.

import os from "node:os";

import { InferenceServer, LocalModelHost, WorkerModelHost, type EventLoopDelay, type ModelHost, type PreparedRequest } from "@infer-recipes/server";
import { cpuTimes, othersBusyFraction, percentile } from "@infer-recipes/harness";
import type { LlamaModel } from "@infer-recipes/models";

import { servedBenchmarkModel, servingPromptText, type ServingModelOptions } from "./serving-model-loader.ts";
import type { ServingRow } from "./serving.ts";

export interface WorkerRowsOptions {
  quick: boolean;
  progress: (line: string) => void;
  /** The in-process model (the worker builds its own copy of the same seeded weights). */
  model: LlamaModel;
  prompts: number[][];
  outputTokens: number;
  modelOptions: ServingModelOptions;
}

/** The fields a row of another benchmark leaves empty. */
function emptyRow(benchmark: ServingRow["benchmark"], mode: ServingRow["mode"], options: WorkerRowsOptions): ServingRow {
  return {
    benchmark,
    mode,
    concurrency: options.prompts.length,
    requests: options.prompts.length,
    prompt_tokens: options.prompts[0].length,
    output_tokens: options.outputTokens,
    tokens_per_s: Number.NaN,
    total_tokens_per_s: Number.NaN,
    decode_tokens_per_s: Number.NaN,
    ttft_p50_ms: Number.NaN,
    ttft_p95_ms: Number.NaN,
    itl_p50_ms: Number.NaN,
    itl_p95_ms: Number.NaN,
    mean_batch: Number.NaN,
    wall_s: Number.NaN,
    preemptions: 0,
    cached_prompt_tokens: 0,
  };
}

let nextRequest = 0;

/** Every prompt at once through `host`; generated tok/s at the caller and the summed per-request decode rate. */
async function generateTogether(host: ModelHost, options: WorkerRowsOptions): Promise<{ tokensPerSecond: number; decodeTokensPerSecond: number; wall: number; ttft: number[] }> {
  const started = performance.now();
  const outcomes = await Promise.all(
    options.prompts.map((promptIds) => {
      const request: PreparedRequest = { kind: "completion", parameters: { maxTokens: options.outputTokens, temperature: 0, stop: [], stream: false, includeUsage: false }, promptIds };
      return host.generate(`bench-${nextRequest++}`, request, { signal: new AbortController().signal });
    }),
  );
  const wall = (performance.now() - started) / 1000;
  const generated = outcomes.reduce((sum, outcome) => sum + outcome.completionTokens, 0);
  const decode = outcomes.reduce((sum, outcome) => sum + (outcome.completionTokens - 1) / ((outcome.totalMs - outcome.timeToFirstTokenMs) / 1000), 0);
  return { tokensPerSecond: generated / wall, decodeTokensPerSecond: decode, wall, ttft: outcomes.map((outcome) => outcome.timeToFirstTokenMs) };
}

/** Streams one completion over HTTP; resolves with its completion token count. */
async function streamCompletion(url: string, promptIds: number[], maxTokens: number): Promise<number> {
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: promptIds, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  const text = await response.text();
  const usage = /"completion_tokens":(\d+)/.exec(text);
  if (response.status !== 200 || !usage) throw new Error(`serving benchmark: a streamed completion failed (${response.status}), it ended: ${text.slice(-400)}`);
  return Number(usage[1]);
}

/** The clients streaming over HTTP while /health is polled every `intervalMs`. */
async function measureResponsiveness(
  host: ModelHost,
  options: WorkerRowsOptions,
  intervalMs: number,
): Promise<{ latencies: number[]; failedPolls: number; tokensPerSecond: number; wall: number; loopDelay: EventLoopDelay; othersBusy: number; loadAverage: number }> {
  const server = await InferenceServer.start({ model: host, port: 0 });
  try {
    const loadAverage = os.loadavg()[0];
    const cpuBefore = cpuTimes();
    const ownBefore = process.cpuUsage(); // this process: the server, its worker threads and the clients
    const started = performance.now();
    let finished = false;
    const clients = Promise.allSettled(options.prompts.map((prompt) => streamCompletion(server.url, prompt, options.outputTokens))).finally(() => (finished = true));
    const latencies: number[] = [];
    let failedPolls = 0;
    while (!finished) {
      const polled = performance.now();
      try {
        const response = await fetch(`${server.url}/health`);
        await response.json();
      } catch {
        // A server thread blocked for minutes makes node:http drop waiting requests (its headers timeout): that poll
        // took at least this long, and failed.
        failedPolls++;
      }
      latencies.push(performance.now() - polled);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    const settled = await clients;
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const generated = settled.reduce((sum, result) => sum + (result as PromiseFulfilledResult<number>).value, 0);
    const wall = (performance.now() - started) / 1000;
    const own = process.cpuUsage(ownBefore);
    const othersBusy = othersBusyFraction(cpuBefore, cpuTimes(), (own.user + own.system) / 1000, wall * 1000);
    return { latencies, failedPolls, tokensPerSecond: generated / wall, wall, loopDelay: server.eventLoopDelay(), othersBusy, loadAverage };
  } finally {
    await server.close();
  }
}

export async function* runWorkerRows(options: WorkerRowsOptions): AsyncGenerator<ServingRow> {
  const { progress } = options;
  const local = new LocalModelHost(servedBenchmarkModel(options.model, servingPromptText(options.model.config.vocabSize), options.modelOptions));
  progress("starting a worker thread with its own copy of the model…");
  const worker = WorkerModelHost.start({ loaderModule: new URL("./serving-model-loader.ts", import.meta.url), loadOptions: options.modelOptions });
  try {
    await worker.ready;
    const hosts = { "in-process": local, worker } as const;
    // Warm-up of the worker's copy (page the weights in, compile its code paths).
    await generateTogether(worker, { ...options, prompts: options.prompts.slice(0, 2).map((prompt) => prompt.slice(0, 24)), outputTokens: 4 });

    const repeats = options.quick ? 1 : 3;
    const measured: Record<keyof typeof hosts, Array<Awaited<ReturnType<typeof generateTogether>>>> = { "in-process": [], worker: [] };
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const mode of ["in-process", "worker"] as const) {
        progress(`worker-throughput: model ${mode === "worker" ? "in a worker thread" : "in the calling thread"}, ${options.prompts.length} clients, run ${repeat + 1} of ${repeats}…`);
        measured[mode].push(await generateTogether(hosts[mode], options));
      }
    }
    for (const mode of ["in-process", "worker"] as const) {
      const runs = measured[mode];
      yield {
        ...emptyRow("worker-throughput", mode, options),
        tokens_per_s: percentile(runs.map((run) => run.tokensPerSecond), 50),
        decode_tokens_per_s: percentile(runs.map((run) => run.decodeTokensPerSecond), 50),
        ttft_p50_ms: percentile(runs.flatMap((run) => run.ttft), 50),
        ttft_p95_ms: percentile(runs.flatMap((run) => run.ttft), 95),
        wall_s: percentile(runs.map((run) => run.wall), 50),
        runs: runs.length,
      };
    }

    for (const mode of ["in-process", "worker"] as const) {
      progress(`responsiveness: ${options.prompts.length} streaming clients over HTTP, /health polled every 50 ms, model ${mode === "worker" ? "in a worker thread" : "in the HTTP thread"}…`);
      const { latencies, failedPolls, tokensPerSecond, wall, loopDelay, othersBusy, loadAverage } = await measureResponsiveness(hosts[mode], options, 50);
      yield {
        ...emptyRow("responsiveness", mode, options),
        tokens_per_s: tokensPerSecond,
        wall_s: wall,
        health_p50_ms: percentile(latencies, 50),
        health_p99_ms: percentile(latencies, 99),
        health_max_ms: Math.max(...latencies),
        health_polls: latencies.length,
        health_failed_polls: failedPolls,
        event_loop_delay_p99_ms: loopDelay.p99,
        event_loop_delay_max_ms: loopDelay.max,
        event_loop_own_cpu_max_ms: loopDelay.ownCpuMax,
        others_busy_fraction: othersBusy,
        load_average: loadAverage,
      };
    }
  } finally {
    await worker.close();
  }
}
