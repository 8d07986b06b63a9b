// The command line of `pnpm bench peers`: its usage text, the options with their defaults, and their validation.

import { parseArgs } from "node:util";

import { peerFormats, type PeerFormat } from "./peer-model-files.ts";
import { peerShapes, type PeerShape } from "./peer-shapes.ts";

/** Tokens per llama.cpp batch; the prompt is prefilled as one batch, so it is also the longest prompt. */
export const batchSize = 512;

export const PEERS_USAGE = `  peers     this project vs llama.cpp (node-llama-cpp) on the same random-weight Llama 3.2 GGUF files
            --shape LIST         of 1b,3b (default: both)
            --formats LIST       of f16,q8_0,q4_0 (default: all three)
            --threads LIST       thread counts (default: 1,2)
            --repetitions N      measured runs per engine, after one warm-up (default 3 for 1b, 2 for 3b: the full
                                 matrix then takes about 40 minutes on 2 cores)
            --prompt-tokens N    prefill prompt length (default 512, at most ${batchSize})
            --decode-tokens N    greedy tokens decoded per run (default 128)
            --quiet-wait S       before each run wait up to S seconds for other processes to leave the CPU (default 60; 0: never)
            --llama-mmap         let llama.cpp memory-map the file (default: it reads the file into memory, as ours does)
            --quick              1b, q8_0, 2 threads, 256 prompt / 32 decode tokens, 2 repetitions (about a minute)
            --json               one JSON object per result row on stdout`;

/** Medians of 3 where a run is short; of 2 for the 3B shape, whose runs take 2–3× as long on 2 cores. */
const defaultRepetitions: Record<PeerShape, number> = { "1b": 3, "3b": 2 };

export interface PeerOptions {
  shapes: PeerShape[];
  formats: PeerFormat[];
  threads: number[];
  /** Measured runs per engine and thread count, per shape. */
  repetitions: Record<PeerShape, number>;
  promptTokens: number;
  decodeTokens: number;
  quietWaitSeconds: number;
  /** llama.cpp memory-maps the file instead of reading it into its own memory. */
  llamaMemoryMap: boolean;
  quick: boolean;
  json: boolean;
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
      "prompt-tokens": { type: "string" },
      "decode-tokens": { type: "string" },
      "quiet-wait": { type: "string" },
      "llama-mmap": { type: "boolean" },
      quick: { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  const quick = Boolean(values.quick);
  const threads = [...new Set((values.threads ?? (quick ? "2" : "1,2")).split(",").map((item) => integer(item.trim(), 1, "--threads", 1)))];
  const promptTokens = integer(values["prompt-tokens"], quick ? 256 : 512, "--prompt-tokens", 2);
  if (promptTokens > batchSize) throw new Error(`--prompt-tokens must be at most the batch size ${batchSize}, got ${promptTokens}`);
  return {
    shapes: values.shape ? list(values.shape, peerShapes, "--shape") : quick ? ["1b"] : [...peerShapes],
    formats: values.formats ? list(values.formats, peerFormats, "--formats") : quick ? ["q8_0"] : [...peerFormats],
    threads,
    repetitions: {
      "1b": integer(values.repetitions, quick ? 2 : defaultRepetitions["1b"], "--repetitions", 1),
      "3b": integer(values.repetitions, quick ? 2 : defaultRepetitions["3b"], "--repetitions", 1),
    },
    promptTokens,
    decodeTokens: integer(values["decode-tokens"], quick ? 32 : 128, "--decode-tokens", 2),
    quietWaitSeconds: integer(values["quiet-wait"], 60, "--quiet-wait", 0),
    llamaMemoryMap: Boolean(values["llama-mmap"]),
    quick,
    json: Boolean(values.json),
  };
}
