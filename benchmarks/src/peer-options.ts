// The command line of `pnpm bench peers`: its usage text, the options with their defaults, and their validation.

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import { peerFormats, type PeerFormat } from "./peer-model-files.ts";
import { defaultPeerShapesOf, peerArchitectures, peerShapes, peerShapesOf, type PeerArchitecture, type PeerShape } from "./peer-shapes.ts";

/** Tokens per llama.cpp batch; the prompt is prefilled as one batch, so it is also the longest prompt. */
export const batchSize = 512;

/** Medians of 3 where a run is short; of 2 for the 3B shape, whose runs take 2–3× as long on 2 cores; of 9 for the
 *  tiny model, whose 128 decoded tokens take about 20 ms, so one run is easily disturbed. */
const defaultRepetitions: Record<PeerShape, number> = { "1b": 3, "3b": 2, tiny: 9, "chatglm3-6b": 2 };
/** Warm-up runs before the tiny case's measured ones. Measured with stories260K in the peer worker (runs of a
 *  512-token prefill and 128 tokens decoded from BOS): on a quiet machine at 1 thread this project's decode ran at
 *  1,490, 3,680, 6,770, 6,950 and 7,370 tok/s in its first five runs, then 7,300–7,800 (in a contended run it
 *  settled after 3–6 runs) as V8 compiles the forward pass's JS; 10 leaves a margin. */
export const defaultTinyWarmupRuns = 10;

export const PEERS_USAGE = `  peers     this project vs llama.cpp (node-llama-cpp, and llama-bench when given) on the same random-weight
            Llama 3.2 GGUF files
            --shape LIST         of 1b,3b,tiny (default: 1b,3b). tiny: the real stories260K model from ../shared/models
                                 (F32, whatever --formats says; skipped when absent), decoded from BOS after
                                 --tiny-warmup full-length warm-up runs; results peers-tiny.* when it is the only shape
            --tiny-warmup N      warm-up runs per engine and thread count before the tiny case's measured runs, each a
                                 whole run (prefill and decode), so this project's JIT-compiled JS settles (default ${defaultTinyWarmupRuns})
            --formats LIST       of ${peerFormats.join(",")} (default: all)
            --llama-bench PATH   also run llama.cpp's own llama-bench (built outside this repository from llama.cpp's
                                 public source), interleaved with the other engines in the same run
            --llama-quantize PATH  make the Q4_K_M files with llama.cpp's llama-quantize from the F16 files (default:
                                 the llama-quantize beside --llama-bench, when there is one; else this project's writer)
            --engines LIST       of node-llama-cpp,llama-bench: which llama.cpp engines to run besides ours (default:
                                 node-llama-cpp, plus llama-bench when --llama-bench is given)
            --threads LIST       thread counts (default: 1,2)
            --repetitions N      measured runs per engine, after one warm-up (default 3 for 1b, 2 for 3b: the full
                                 matrix then takes about 40 minutes on 2 cores; ${defaultRepetitions.tiny} for tiny, after its warm-ups)
            --prompt-tokens N    prefill prompt length (default 512, at most ${batchSize})
            --decode-tokens N    greedy tokens decoded per run (default 128)
            --quiet-wait S       before each run wait up to S seconds for other processes to leave the CPU (default 60; 0: never)
            --llama-mmap         let llama.cpp memory-map the file (default: it reads the file into memory, as ours does)
            --quick              1b, q8_0, 2 threads, 256 prompt / 32 decode tokens, 2 repetitions (about a minute)
            --json               one JSON object per result row on stdout
            --architecture A     llama (default: Llama 3.2 1B/3B shapes) or chatglm (the ChatGLM3-6B shape, q8_0 and q4_0 by
                                 default; results peers-chatglm.*)
            --cache-directory D  where the model files are written and reused (default benchmarks/.cache/peers)
            --memory-budget GB   memory the two engines may take together (default: what is available); a file too
                                 large for both is measured with one engine loaded at a time
            --one-engine-at-a-time   load each engine only for its own runs (reloading between runs)
            --results D          where the report goes (default benchmarks/results)`;

/** The llama.cpp engines the benchmark can run beside this project's. */
export type PeerEngineName = "node-llama-cpp" | "llama-bench";
export const peerEngineNames: readonly PeerEngineName[] = ["node-llama-cpp", "llama-bench"];

export interface PeerOptions {
  architecture: PeerArchitecture;
  shapes: PeerShape[];
  formats: PeerFormat[];
  threads: number[];
  /** Measured runs per engine and thread count, per shape. */
  repetitions: Record<PeerShape, number>;
  /** Whole-run warm-ups per worker engine and thread count before the tiny case's measured runs. */
  tinyWarmupRuns: number;
  promptTokens: number;
  decodeTokens: number;
  quietWaitSeconds: number;
  /** llama.cpp memory-maps the file instead of reading it into its own memory. */
  llamaMemoryMap: boolean;
  /** The llama.cpp engines to run besides ours. */
  engines: PeerEngineName[];
  /** llama-bench executable (absolute path), when given. */
  llamaBench?: string;
  /** llama-quantize executable (absolute path) that makes the Q4_K_M files, when given or found beside llama-bench. */
  llamaQuantize?: string;
  quick: boolean;
  json: boolean;
  /** Memory both engines may take (undefined: what is available). */
  memoryBudgetBytes?: number;
  /** Load one engine at a time even when both would fit. */
  oneEngineAtATime: boolean;
  /** Where model files are written and reused (undefined: benchmarks/.cache/peers). */
  cacheDirectory?: string;
  /** Where the report goes (undefined: benchmarks/results). */
  resultsDirectory?: string;
}

/** An executable path from the command line, relative to where pnpm was run (INIT_CWD); must exist. */
function executable(text: string, option: string, base: string): string {
  const resolved = path.resolve(base, text);
  if (!fs.existsSync(resolved) || !fs.statSync(resolved).isFile()) throw new Error(`${option}: ${resolved} is not a file`);
  return resolved;
}

function list<T extends string>(text: string, allowed: readonly T[], option: string): T[] {
  const items = text.split(",").map((item) => item.trim().toLowerCase()).filter(Boolean);
  if (items.length === 0) throw new Error(`${option}: give at least one of ${allowed.join(", ")}`);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`${option}: "${item}" is not one of ${allowed.join(", ")}`);
  return [...new Set(items)] as T[];
}

function integer(text: string | undefined, fallback: number, option: string, minimum: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`${option} must be an integer ≥ ${minimum}, got "${text}"`);
  return value;
}

export function parsePeerOptions(argv: string[]): PeerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      shape: { type: "string" },
      formats: { type: "string" },
      threads: { type: "string" },
      repetitions: { type: "string" },
      "tiny-warmup": { type: "string" },
      "prompt-tokens": { type: "string" },
      "decode-tokens": { type: "string" },
      "quiet-wait": { type: "string" },
      "llama-mmap": { type: "boolean" },
      "llama-bench": { type: "string" },
      "llama-quantize": { type: "string" },
      engines: { type: "string" },
      quick: { type: "boolean" },
      json: { type: "boolean" },
      architecture: { type: "string" },
      "cache-directory": { type: "string" },
      "memory-budget": { type: "string" },
      "one-engine-at-a-time": { type: "boolean" },
      results: { type: "string" },
    },
  });
  const quick = Boolean(values.quick);
  const architecture = (values.architecture ?? "llama") as PeerArchitecture;
  if (!peerArchitectures.includes(architecture)) throw new Error(`--architecture must be one of ${peerArchitectures.join(", ")}, got "${values.architecture}"`);
  const shapesOfArchitecture = peerShapesOf[architecture];
  const base = process.env.INIT_CWD ?? process.cwd();
  const threads = [...new Set((values.threads ?? (quick ? "2" : "1,2")).split(",").map((item) => integer(item.trim(), 1, "--threads", 1)))];
  const promptTokens = integer(values["prompt-tokens"], quick ? 256 : 512, "--prompt-tokens", 2);
  if (promptTokens > batchSize) throw new Error(`--prompt-tokens must be at most the batch size ${batchSize}, got ${promptTokens}`);
  const llamaBench = values["llama-bench"] === undefined ? undefined : executable(values["llama-bench"], "--llama-bench", base);
  const besideBench = llamaBench === undefined ? undefined : path.join(path.dirname(llamaBench), "llama-quantize");
  const llamaQuantize = values["llama-quantize"] !== undefined ? executable(values["llama-quantize"], "--llama-quantize", base)
    : besideBench !== undefined && fs.existsSync(besideBench) ? besideBench : undefined;
  const engines = values.engines !== undefined ? list(values.engines, peerEngineNames, "--engines")
    : llamaBench !== undefined ? [...peerEngineNames] : ["node-llama-cpp" as const];
  if (engines.includes("llama-bench") && llamaBench === undefined) throw new Error("--engines: llama-bench needs --llama-bench PATH");
  const shapes = values.shape ? list(values.shape, shapesOfArchitecture, "--shape") : quick ? [shapesOfArchitecture[0]] : [...defaultPeerShapesOf[architecture]];
  const repetitions = Object.fromEntries(peerShapes.map((shape) => [shape, integer(values.repetitions, quick ? 2 : defaultRepetitions[shape], "--repetitions", 1)])) as Record<PeerShape, number>;
  return {
    architecture,
    shapes,
    // ChatGLM3-6B's F16 file is 12.5 GB: its default formats are the quantized ones users run.
    formats: values.formats ? list(values.formats, peerFormats, "--formats") : quick ? ["q8_0"] : architecture === "chatglm" ? ["q8_0", "q4_0"] : [...peerFormats],
    threads,
    repetitions,
    tinyWarmupRuns: integer(values["tiny-warmup"], defaultTinyWarmupRuns, "--tiny-warmup", 1),
    promptTokens,
    decodeTokens: integer(values["decode-tokens"], quick ? 32 : 128, "--decode-tokens", 2),
    quietWaitSeconds: integer(values["quiet-wait"], 60, "--quiet-wait", 0),
    llamaMemoryMap: Boolean(values["llama-mmap"]),
    engines,
    ...(llamaBench === undefined ? {} : { llamaBench }),
    ...(llamaQuantize === undefined ? {} : { llamaQuantize }),
    quick,
    json: Boolean(values.json),
    memoryBudgetBytes: values["memory-budget"] === undefined ? undefined : integer(values["memory-budget"], 0, "--memory-budget", 1) * 1e9,
    oneEngineAtATime: Boolean(values["one-engine-at-a-time"]),
    cacheDirectory: values["cache-directory"] === undefined ? undefined : path.resolve(base, values["cache-directory"]),
    resultsDirectory: values.results === undefined ? undefined : path.resolve(base, values.results),
  };
}
