// llama-bench's own figures on this machine kind (BASELINES.md: llama.cpp b10573, native Release build, random-weight
// files of the exact Llama 3.2 shapes, medians of 5 with nothing else on the CPU), shown beside each peer row: the
// in-repo peer runs llama.cpp through node-llama-cpp, whose JS layer costs decode speed at 2 threads, so these are the
// figures this project ultimately has to beat.

import type { PeerPhase } from "./peer-rows.ts";

type Figures = { prefill512: number; decode128: number };

const figures: Record<string, Figures> = {
  "1b f16 1": { prefill512: 95, decode128: 13.1 },
  "1b f16 2": { prefill512: 181, decode128: 17.3 },
  "1b q8_0 1": { prefill512: 75, decode128: 20.8 },
  "1b q8_0 2": { prefill512: 146, decode128: 28.3 },
  "1b q4_0 1": { prefill512: 138, decode128: 31.9 },
  "1b q4_0 2": { prefill512: 270, decode128: 49.0 },
  "3b f16 1": { prefill512: 33, decode128: 5.0 },
  "3b f16 2": { prefill512: 65, decode128: 6.7 },
  "3b q8_0 1": { prefill512: 25, decode128: 8.0 },
  "3b q8_0 2": { prefill512: 48, decode128: 11.1 },
  "3b q4_0 1": { prefill512: 47, decode128: 12.4 },
  "3b q4_0 2": { prefill512: 89, decode128: 20.0 },
};

/** llama-bench's pp512 or tg128 tokens/s for the case, or null when BASELINES.md has no such figure. */
export function llamaBenchFigure(shape: string, format: string, threads: number, phase: PeerPhase, tokens: number): number | null {
  const entry = figures[`${shape} ${format} ${threads}`];
  if (!entry) return null;
  if (phase === "prefill") return tokens === 512 ? entry.prefill512 : null;
  return tokens === 128 ? entry.decode128 : null;
}
