// Choosing the next token from logits: greedy, or temperature sampling narrowed by top-k, top-p (nucleus) and min-p,
// after a repetition penalty. The order follows llama.cpp's default chain: penalty → top-k → top-p → min-p →
// temperature → draw. With a seed, the same logits always give the same token.

import { largestIndices } from "./largest-indices.ts";
import { SeededRandom } from "./random.ts";

/** How the next token is chosen from the logits; every field optional (the default is greedy). */
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

/** A sampling option out of its range (named in the message), e.g. topP 0 or a negative temperature. */
export class SamplingError extends Error {
  /** Always `"SamplingError"`. */
  override name = "SamplingError";
}

function check(name: string, value: number | undefined, valid: (value: number) => boolean, expected: string): void {
  if (value !== undefined && !(Number.isFinite(value) && valid(value))) throw new SamplingError(`${name} must be ${expected}, got ${value}`);
}

/** Throws a {@link SamplingError} naming the first option out of range; the server checks requests with it. */
export function validateSamplingOptions(options: SamplingOptions): void {
  check("temperature", options.temperature, (v) => v >= 0, "a number ≥ 0");
  check("topK", options.topK, (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0");
  check("topP", options.topP, (v) => v > 0 && v <= 1, "in (0, 1]");
  check("minP", options.minP, (v) => v >= 0 && v < 1, "in [0, 1)");
  check("repetitionPenalty", options.repetitionPenalty, (v) => v > 0, "a number > 0");
  check("repetitionWindow", options.repetitionWindow, (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0");
  check("seed", options.seed, (v) => Number.isInteger(v), "an integer");
}

/**
 * Picks next tokens from logits: greedy, or temperature sampling narrowed by top-k, top-p and min-p after a
 * repetition penalty (llama.cpp's default order). One per sequence: it carries the seeded random state.
 *
 * @example
 * ```ts
 * import { Sampler } from "@infer-recipes/engine";
 *
 * const sampler = new Sampler({ temperature: 0.8, topK: 40, seed: 7 });
 * const logits = Float32Array.from([0.1, 2.5, 1.0, -3.0]);
 * const token = sampler.sample(logits, [1, 1]); // the tokens so far feed the repetition penalty
 * ```
 */
export class Sampler {
  private readonly random: SeededRandom;

  constructor(
    /** The options it samples with (validated on construction). */
    readonly options: SamplingOptions = {},
  ) {
    validateSamplingOptions(options);
    this.random = new SeededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** True when temperature is 0 or unset: {@link sample} returns the most likely token. */
  get greedy(): boolean {
    return !this.options.temperature;
  }

  /** The next token for `logits` [vocab], given the tokens so far (for the repetition penalty). logits are not modified. */
  // Stryker disable next-line ArrayDeclaration: equivalent (a default holding a string penalizes nothing: it is not a token id)
  sample(logits: Float32Array, previous: ArrayLike<number> = []): number {
    const scores = this.penalized(logits, previous);
    if (this.greedy) return argmax(scores);
    const { candidates, weights, sum } = this.candidates(scores);
    let target = this.random.next() * sum;
    for (let index = 0; index < weights.length; index++) {
      target -= weights[index];
      if (target < 0) return candidates[index];
    }
    return candidates[weights.length - 1];
  }

  /**
   * The distribution sample() draws from, as probabilities over the whole vocabulary [vocab] (zero outside what
   * top-k, top-p and min-p keep; one-hot at the best token when greedy). Speculative decoding applies it to the
   * target's and the draft's logits alike, so both are shaped by the same temperature and truncation.
   */
  // Stryker disable next-line ArrayDeclaration: equivalent (as in sample())
  distribution(logits: Float32Array, previous: ArrayLike<number> = []): Float64Array {
    const scores = this.penalized(logits, previous);
    const probabilities = new Float64Array(scores.length); // [vocab]
    if (this.greedy) {
      probabilities[argmax(scores)] = 1;
      return probabilities;
    }
    const { candidates, weights, sum } = this.candidates(scores);
    for (let index = 0; index < weights.length; index++) probabilities[candidates[index]] = weights[index] / sum;
    return probabilities;
  }

  /** A token drawn from `probabilities` [vocab] (non-negative, summing to `total`), with this sampler's random stream. */
  draw(probabilities: Float64Array, total = 1): number {
    let target = this.random.next() * total;
    let last = -1;
    for (let token = 0; token < probabilities.length; token++) {
      const probability = probabilities[token];
      if (probability <= 0) continue;
      last = token;
      target -= probability;
      if (target < 0) return token;
    }
    if (last < 0) throw new SamplingError("draw: the distribution has no positive probability");
    return last;
  }

  /** A uniform number in [0, 1) from this sampler's random stream (seeded when a seed was given). */
  uniform(): number {
    return this.random.next();
  }

  /** The logits after the repetition penalty over the last `repetitionWindow` tokens of `previous` (a copy when changed). */
  private penalized(logits: Float32Array, previous: ArrayLike<number>): Float32Array {
    const penalty = this.options.repetitionPenalty ?? 1;
    if (penalty === 1 || previous.length === 0) return logits;
    const scores = logits.slice();
    const window = this.options.repetitionWindow ?? 64;
    const seen = new Set<number>();
    for (let index = Math.max(0, previous.length - window); index < previous.length; index++) seen.add(previous[index]);
    for (const token of seen) if (token >= 0 && token < scores.length) scores[token] = scores[token] > 0 ? scores[token] / penalty : scores[token] * penalty;
    return scores;
  }

  /**
   * The tokens temperature sampling may pick and their unnormalized weights after top-k, top-p, min-p and temperature;
   * `sum` is the weights' total. Without top-k and top-p the candidates are the whole vocabulary in index order (no
   * sorting needed); otherwise they are sorted best first, and top-p widens its selection only as far as needed.
   */
  private candidates(scores: Float32Array): { candidates: Int32Array; weights: Float64Array; sum: number } {
    const { temperature = 1, topK = 0, topP = 1, minP = 0 } = this.options;
    const vocabulary = scores.length;
    const top = scores[argmax(scores)];
    const limit = topK > 0 ? Math.min(topK, vocabulary) : vocabulary;
    // Probabilities at temperature 1 (relative to the best token's) decide top-p and min-p, as in llama.cpp;
    // temperature reshapes the survivors.
    const relative = (token: number) => Math.exp(scores[token] - top);
    let candidates: Int32Array;
    if (limit < vocabulary) candidates = largestIndices(scores, limit);
    else if (topP < 1) candidates = new Int32Array(0); // chosen below, by cumulative probability
    else {
      candidates = new Int32Array(vocabulary);
      for (let token = 0; token < vocabulary; token++) candidates[token] = token;
    }
    if (topP < 1) {
      // The smallest best-first set whose probability (within the top-k set) reaches topP.
      let total = 0;
      if (limit < vocabulary) for (const token of candidates) total += relative(token);
      else for (let token = 0; token < vocabulary; token++) total += relative(token);
      // Stryker disable next-line MethodExpression: equivalent (only the window sizes: a larger window ranks more candidates and keeps the same nucleus)
      for (let size = Math.min(64, limit); ; size = Math.min(limit, size * 8)) {
        const ranked = limit < vocabulary ? candidates : largestIndices(scores, size);
        let cumulative = 0;
        let keep = 0;
        while (keep < ranked.length && cumulative / total < topP) cumulative += relative(ranked[keep++]);
        if (cumulative / total >= topP || ranked.length >= limit) {
          candidates = ranked.subarray(0, Math.max(1, keep));
          break;
        }
      }
    }
    if (minP > 0) candidates = candidates.filter((token) => relative(token) >= minP);
    let sum = 0;
    const weights = new Float64Array(candidates.length);
    for (let index = 0; index < candidates.length; index++) sum += weights[index] = Math.exp((scores[candidates[index]] - top) / temperature);
    return { candidates, weights, sum };
  }
}

/** Index of the largest value (the first one on ties): greedy decoding's choice. */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index] > values[best]) best = index;
  return best;
}

