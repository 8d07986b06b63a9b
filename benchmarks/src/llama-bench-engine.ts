// llama.cpp's own llama-bench as the third engine of the peer benchmark (`pnpm bench peers --llama-bench PATH`): a
// llama-bench binary the user built outside this repository from llama.cpp's public source. Each measured run is one
// llama-bench process on the same GGUF file and thread count: its pp<prompt> test (prefill of the prompt in one batch)
// and its tg<decode> test (decoding from an empty context), one repetition each after llama-bench's own warm-up, with
// the model memory-mapped (llama-bench's default). Its JSON output gives the tokens/s; the process's CPU time is read
// from /proc/self/stat's children fields, so the benchmark can tell how much CPU other processes took meanwhile.
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

/** The llama-bench arguments of one run. */
export function llamaBenchArguments(request: LlamaBenchRequest): string[] {
  return ["-m", request.modelPath, "-p", String(request.promptTokens), "-n", String(request.decodeTokens), "-t", String(request.threads), "-r", "1", "-o", "json"];
}

export interface LlamaBenchResult {
  /** As the peer protocol's runs: token arrival times and generated ids are not known (empty). */
  measurement: RunMeasurement;
  /** llama-bench's build and settings, for the report. */
  description: string;
}

/** Runs llama-bench once and returns its prefill and decode speeds as a run measurement. */
export function runLlamaBench(request: LlamaBenchRequest): Promise<LlamaBenchResult> {
  return new Promise((resolve, reject) => {
    const cpuBefore = childrenCpuMs();
    const child = spawn(request.binary, llamaBenchArguments(request), { stdio: ["ignore", "pipe", "pipe"] });
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
        const tests = parseLlamaBenchJson(stdout);
        const prefill = tests.find((test) => test.n_prompt === request.promptTokens && test.n_gen === 0);
        const decode = tests.find((test) => test.n_gen === request.decodeTokens && test.n_prompt === 0);
        if (!prefill || !decode) throw new Error(`llama-bench's output has no pp${request.promptTokens} and tg${request.decodeTokens} tests`);
        const build = prefill.build_commit ? `llama.cpp ${prefill.build_commit}${prefill.build_number ? ` (build ${prefill.build_number})` : ""}` : "llama.cpp";
        resolve({
          measurement: {
            prefillTokens: request.promptTokens,
            prefillMs: (request.promptTokens / prefill.avg_ts) * 1000,
            decodeTokens: request.decodeTokens,
            decodeMs: (request.decodeTokens / decode.avg_ts) * 1000,
            tokenArrivalMs: [],
            generated: [],
            cpuMs: childrenCpuMs() - cpuBefore,
          },
          description: `llama-bench (${request.binary}), ${build}: ${prefill.n_threads} threads, pp${request.promptTokens} and tg${request.decodeTokens} from an empty context, 1 repetition per run after its warm-up, file memory-mapped, flash attention ${String(prefill.flash_attn ?? "auto")}`,
        });
      } catch (error) {
        reject(new Error(`llama-bench ${request.binary}: ${(error as Error).message}`));
      }
    });
  });
}
