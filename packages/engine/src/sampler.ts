// Choosing the next token from logits: greedy, or temperature sampling narrowed by top-k, top-p (nucleus) and min-p,
// after a repetition penalty. The order follows llama.cpp's default chain: penalty → top-k → top-p → min-p →
// temperature → draw. With a seed, the same logits always give the same token.

import { SeededRandom } from "./random.ts";

export interface SamplingOptions {
  /** 0 (default) means greedy. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability sums to ≥ topP (1: all). */
  topP?: number;
  /** Drop tokens whose probability is below minP × the top probability (0: none). */
  minP?: number;
  /** > 1 makes tokens already in the context less likely (CTRL-style: divide positive logits, multiply negative). */
  repetitionPenalty?: number;
  /** How many recent tokens the penalty looks at (default 64). */
  repetitionWindow?: number;
  /** Seed for reproducible sampling (default: random). */
  seed?: number;
}

export class SamplingError extends Error {
  override name = "SamplingError";
}

function check(name: string, value: number | undefined, valid: (value: number) => boolean, expected: string): void {
  if (value !== undefined && !(Number.isFinite(value) && valid(value))) throw new SamplingError(`${name} must be ${expected}, got ${value}`);
}

export function validateSamplingOptions(options: SamplingOptions): void {
  check("temperature", options.temperature, (v) => v >= 0, "a number ≥ 0");
  check("topK", options.topK, (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0");
  check("topP", options.topP, (v) => v > 0 && v <= 1, "in (0, 1]");
  check("minP", options.minP, (v) => v >= 0 && v < 1, "in [0, 1)");
  check("repetitionPenalty", options.repetitionPenalty, (v) => v > 0, "a number > 0");
  check("repetitionWindow", options.repetitionWindow, (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0");
  check("seed", options.seed, (v) => Number.isInteger(v), "an integer");
}

export class Sampler {
  private readonly random: SeededRandom;

  constructor(readonly options: SamplingOptions = {}) {
    validateSamplingOptions(options);
    this.random = new SeededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  get greedy(): boolean {
    return !this.options.temperature;
  }

  /** The next token for `logits` [vocab], given the tokens so far (for the repetition penalty). logits are not modified. */
  sample(logits: Float32Array, previous: ArrayLike<number> = []): number {
    const penalty = this.options.repetitionPenalty ?? 1;
    let scores = logits;
    if (penalty !== 1 && previous.length > 0) {
      scores = logits.slice();
      const window = this.options.repetitionWindow ?? 64;
      const seen = new Set<number>();
      for (let index = Math.max(0, previous.length - window); index < previous.length; index++) seen.add(previous[index]);
      for (const token of seen) if (token >= 0 && token < scores.length) scores[token] = scores[token] > 0 ? scores[token] / penalty : scores[token] * penalty;
    }
    if (this.greedy) return argmax(scores);
    return this.draw(scores);
  }

  private draw(scores: Float32Array): number {
    const { temperature = 1, topK = 0, topP = 1, minP = 0 } = this.options;
    // Candidates sorted by score, cut to top-k first (sorting the whole vocabulary only when k is 0).
    const limit = topK > 0 ? Math.min(topK, scores.length) : scores.length;
    const candidates = topIndices(scores, limit);
    const top = scores[candidates[0]];
    // Probabilities at temperature 1 decide top-p and min-p (as in llama.cpp); temperature reshapes the survivors.
    const probabilities = new Float64Array(candidates.length);
    let total = 0;
    for (let index = 0; index < candidates.length; index++) total += probabilities[index] = Math.exp(scores[candidates[index]] - top);
    let keep = candidates.length;
    if (topP < 1) {
      let cumulative = 0;
      for (let index = 0; index < candidates.length; index++) {
        cumulative += probabilities[index] / total;
        if (cumulative >= topP) {
          keep = index + 1;
          break;
        }
      }
    }
    if (minP > 0) {
      const threshold = minP * probabilities[0];
      let index = 1;
      while (index < keep && probabilities[index] >= threshold) index++;
      keep = index;
    }
    let sum = 0;
    const weights = new Float64Array(keep);
    for (let index = 0; index < keep; index++) sum += weights[index] = Math.exp((scores[candidates[index]] - top) / temperature);
    let target = this.random.next() * sum;
    for (let index = 0; index < keep; index++) {
      target -= weights[index];
      if (target < 0) return candidates[index];
    }
    return candidates[keep - 1];
  }
}

export function argmax(values: Float32Array): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index] > values[best]) best = index;
  return best;
}

/** Indices of the `count` largest scores, largest first (lower index first on ties). */
function topIndices(scores: Float32Array, count: number): Int32Array {
  const indices = Int32Array.from({ length: scores.length }, (_, index) => index);
  if (count >= scores.length) return indices.sort((a, b) => scores[b] - scores[a] || a - b);
  // Partial selection: keep a sorted list of the best `count` seen so far (count is small: top-k).
  const best: number[] = [];
  for (let index = 0; index < scores.length; index++) {
    const score = scores[index];
    if (best.length === count && score <= scores[best[count - 1]]) continue;
    let position = best.length;
    while (position > 0 && scores[best[position - 1]] < score) position--;
    best.splice(position, 0, index);
    if (best.length > count) best.pop();
  }
  return Int32Array.from(best);
}
