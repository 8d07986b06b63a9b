// llama.cpp's own llama-bench as the third engine of the peer benchmark (`pnpm bench peers --llama-bench PATH`): a
// llama-bench binary the user built outside this repository from llama.cpp's public source. Each measured run is two
// llama-bench processes on the same GGUF file and thread count, measuring what this project's run measures: its
// pp<prompt> test (prefill of the prompt in one batch, from an empty context) and its tg<decode> test at depth
// <prompt> (decoding after a prompt's worth of context, as ours decodes after its prompt; for a case that decodes from
// BOS, such as the tiny real model, at depth 0: `-p 0 -n <decode>`), one repetition each after llama-bench's own
// warm-up. The weights are read into llama.cpp's memory as ours are (-mmp 0), unless the benchmark
// runs with --llama-mmap. Its JSON output gives the tokens/s; the processes' CPU time is read from /proc/self/stat's
// children fields, so the benchmark can tell how much CPU other processes took meanwhile (llama.cpp's threads wait for
// each other at every op, so a 2-thread run with another process on a core collapses: such runs are flagged).
// Nothing here is needed by the tests or CI: without --llama-bench the engine is simply not run.

import { spawn } from "node:child_process";
import fs from "node:fs";

import type { RunMeasurement } from "./peer-protocol.ts";

export interface LlamaBenchRequest {
  /** The llama-bench executable. */
  binary: string;
  modelPath: string;
  threads: number;
  promptTokens: number;
  decodeTokens: number;
  /** Memory-map the file (llama-bench's default) instead of reading it into memory (default false, as ours does). */
  memoryMap?: boolean;
  /** Tokens in the context before the tg test (llama-bench -d; default promptTokens, as ours decodes after its prompt;
   *  0: no -d, decoding from an empty context). */
  decodeDepth?: number;
}

/** One test result of llama-bench's `-o json` output (the fields read here). */
interface LlamaBenchTest {
  n_prompt: number;
  n_gen: number;
  avg_ts: number;
  n_threads: number;
  build_commit?: string;
  build_number?: number;
  cpu_info?: string;
  flash_attn?: unknown;
  type_k?: string;
  /** Context already in the cache when the test starts (llama-bench -d). */
  n_depth?: number;
}

/** CPU time (ms) of this process's exited, waited-for children (Linux: fields cutime + cstime of /proc/self/stat). */
export function childrenCpuMs(): number {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
    const ticksPerSecond = 100; // USER_HZ on Linux
    return ((Number(fields[13]) + Number(fields[14])) / ticksPerSecond) * 1000;
  } catch {
    return Number.NaN;
  }
}

/** The parsed tests of llama-bench's JSON output, or an error naming what was expected. */
export function parseLlamaBenchJson(text: string): LlamaBenchTest[] {
  const start = text.indexOf("[");
  const parsed: unknown = JSON.parse(start >= 0 ? text.slice(start) : text);
  if (!Array.isArray(parsed) || parsed.some((test) => typeof test?.avg_ts !== "number" || typeof test?.n_prompt !== "number" || typeof test?.n_gen !== "number")) {
    throw new Error("llama-bench -o json: expected an array of tests with n_prompt, n_gen and avg_ts");
  }
  return parsed as LlamaBenchTest[];
}

/** The context depth of the request's tg test: decodeDepth, else the prompt's length. */
const decodeDepthOf = (request: LlamaBenchRequest) => request.decodeDepth ?? request.promptTokens;

/** The llama-bench arguments of one run's two processes: prefill (pp<prompt> from an empty context) and decode
 *  (tg<decode> at depth <prompt>, or at the request's decodeDepth; without -d when that is 0). */
export function llamaBenchArguments(request: LlamaBenchRequest): { prefill: string[]; decode: string[] } {
  const common = ["-m", request.modelPath, "-t", String(request.threads), "-mmp", request.memoryMap ? "1" : "0", "-r", "1", "-o", "json"];
  const depth = decodeDepthOf(request);
  return {
    prefill: [...common, "-p", String(request.promptTokens), "-n", "0"],
    decode: [...common, "-p", "0", "-n", String(request.decodeTokens), ...(depth > 0 ? ["-d", String(depth)] : [])],
  };
}

/** Runs llama-bench once with `args` and returns its parsed tests. */
function llamaBenchTests(request: LlamaBenchRequest, args: string[]): Promise<LlamaBenchTest[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(request.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error) => reject(new Error(`llama-bench ${request.binary} did not start: ${error.message}`)));
    child.on("close", (code, signal) => {
      if (code !== 0) {
        const tail = stderr.trim().split("\n").slice(-3).join(" | ");
        reject(new Error(`llama-bench ${request.binary} failed on ${request.modelPath} (${signal ?? `exit ${code}`}): ${tail}`));
        return;
      }
      try {
        resolve(parseLlamaBenchJson(stdout));
      } catch (error) {
        reject(new Error(`llama-bench ${request.binary}: ${(error as Error).message}`));
      }
    });
  });
}

export interface LlamaBenchResult {
  /** As the peer protocol's runs: token arrival times and generated ids are not known (empty). */
  measurement: RunMeasurement;
  /** llama-bench's build and settings, for the report. */
  description: string;
}

/** Runs llama-bench's prefill and decode tests (two processes, one after the other) and returns their speeds as a run
 *  measurement. */
export async function runLlamaBench(request: LlamaBenchRequest): Promise<LlamaBenchResult> {
  const cpuBefore = childrenCpuMs();
  const args = llamaBenchArguments(request);
  const prefill = (await llamaBenchTests(request, args.prefill)).find((test) => test.n_prompt === request.promptTokens && test.n_gen === 0);
  const decode = (await llamaBenchTests(request, args.decode)).find((test) => test.n_gen === request.decodeTokens && test.n_prompt === 0);
  if (!prefill || !decode) throw new Error(`llama-bench ${request.binary}: its output has no pp${request.promptTokens} and tg${request.decodeTokens} tests`);
  const build = prefill.build_commit ? `llama.cpp ${prefill.build_commit}${prefill.build_number ? ` (build ${prefill.build_number})` : ""}` : "llama.cpp";
  return {
    measurement: {
      prefillTokens: request.promptTokens,
      prefillMs: (request.promptTokens / prefill.avg_ts) * 1000,
      decodeTokens: request.decodeTokens,
      decodeMs: (request.decodeTokens / decode.avg_ts) * 1000,
      tokenArrivalMs: [],
      generated: [],
      cpuMs: childrenCpuMs() - cpuBefore,
    },
    description: `llama-bench (${request.binary}), ${build}: ${prefill.n_threads} threads, pp${request.promptTokens} from an empty context and tg${request.decodeTokens} at depth ${decode.n_depth ?? decodeDepthOf(request)} (${decodeDepthOf(request) > 0 ? "after a prompt's worth of context, as ours" : "from an empty context, as ours decodes from BOS"}), 1 repetition per run after its warm-up, file ${request.memoryMap ? "memory-mapped" : "read into memory (-mmp 0)"}, flash attention ${String(prefill.flash_attn ?? "auto")}`,
  };
}
