// What the serving benchmark's sections share: deterministic prompts, and one measured run of requests through a
// scheduler into a ServingRow (tokens/s of wall time, decode-step tokens/s, TTFT, inter-token latency, batch size).

import { percentile } from "@infer-recipes/harness";
import type { RequestResult, Scheduler, StepReport } from "@infer-recipes/scheduler";

import type { ServingMode, ServingRow } from "./serving.ts";

/** Decode tokens per second over the steps that ran no prefill. */
export function decodeThroughput(steps: readonly StepReport[]): number {
  const decodeOnly = steps.filter((step) => step.prefillTokens === 0);
  const milliseconds = decodeOnly.reduce((sum, step) => sum + step.milliseconds, 0);
  return milliseconds > 0 ? (decodeOnly.reduce((sum, step) => sum + step.decodeTokens, 0) / milliseconds) * 1000 : Number.NaN;
}

/** Deterministic pseudo-random token ids, away from both ends of a vocabulary of `vocabSize` (for the Llama 3
 *  vocabulary, 1000..120999: none of the special ids at its top). */
export function randomTokens(count: number, seed: number, vocabSize = 128256): number[] {
  const first = Math.min(1000, vocabSize >> 4);
  const span = Math.min(120000, vocabSize - 2 * first);
  let state = seed >>> 0;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return first + (state % span);
  });
}

/** One measured run: which requests, how they arrive. */
export interface RunSpec {
  benchmark: ServingRow["benchmark"];
  mode: ServingMode;
  concurrency: number;
  prompts: number[][];
  outputTokens: number;
  /** Submit all at once (throughput) or one after another (prefix-cache TTFT). */
  oneAtATime: boolean;
}

/** Runs `spec` through `scheduler` (whose onStep pushes into `steps`) and measures it. */
export async function measure(scheduler: Scheduler, spec: RunSpec, steps: StepReport[]): Promise<ServingRow> {
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
    generated_tokens: generated,
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
