// Perplexity of a text longer than a model's context: windows of `window` tokens every `stride` tokens, each scoring
// only the tokens no earlier window scored, so every token is predicted once and (after the first window) with at
// least window − stride tokens of context — the method of the Hugging Face perplexity guide. The model is a callback
// that returns logits for a window, so the same loop measures any engine (this project's, llama.cpp, ...).

import { logSoftmax } from "./accuracy-metrics.ts";

/** The windows {@link slidingWindowPerplexity} scores a long text in. */
export interface SlidingWindowOptions {
  /** Tokens per window (the context each forward pass sees), ≥ 2. */
  window: number;
  /** Tokens the window moves by, 1 ≤ stride < window (the first token of a window has no prediction in it). */
  stride: number;
  /** Called after each window with (tokens scored so far, tokens to score). */
  onProgress?: (scored: number, total: number) => void;
}

/** One window the engine callback is asked for. */
export interface WindowRequest {
  /** The window's tokens [length], length ≤ window. */
  tokens: Int32Array;
  /** Position of tokens[0] in the whole text. */
  start: number;
  /** Only rows firstScoredRow .. length − 2 are read (row i predicts tokens[i + 1]); the engine may skip the others. */
  firstScoredRow: number;
}

/** Logits [tokens.length, vocab] for a window (row i predicts token i + 1), or only rows firstScoredRow.. when
 *  `rowsFrom` is returned; a plain Float32Array means all rows from 0. */
export type WindowLogits =
  | Float32Array
  | {
      /** Rows rowsFrom.. of the window's logits, [rows, vocab]. */
      logits: Float32Array;
      /** The window row the first returned row belongs to (≤ firstScoredRow). */
      rowsFrom: number;
    };

/** Perplexity of a long text, with the per-token figures behind it. */
export interface SlidingWindowPerplexity {
  /** exp(negativeLogLikelihood). */
  perplexity: number;
  /** Mean negative log-likelihood per scored token, in nats. */
  negativeLogLikelihood: number;
  /** Tokens scored (tokens.length − 1: the first token is never predicted). */
  predicted: number;
  /** Windows evaluated (forward passes asked of the engine). */
  windows: number;
  /** −log p(token i | its window) for i = 1 .. tokens.length − 1 (index 0 holds token 1), for per-token comparisons. */
  tokenNegativeLogLikelihoods: Float64Array;
}

/** Perplexity of `tokens` with windows of `options.window` moved by `options.stride`, logits from `logitsOf`. */
export async function slidingWindowPerplexity(
  tokens: ArrayLike<number>,
  vocabSize: number,
  options: SlidingWindowOptions,
  logitsOf: (request: WindowRequest) => WindowLogits | Promise<WindowLogits>,
): Promise<SlidingWindowPerplexity> {
  const { window, stride } = options;
  if (!Number.isInteger(window) || window < 2) throw new RangeError(`slidingWindowPerplexity: window must be an integer ≥ 2, got ${window}`);
  if (!Number.isInteger(stride) || stride < 1 || stride >= window) throw new RangeError(`slidingWindowPerplexity: stride must be an integer in 1..${window - 1} (below the window), got ${stride}`);
  if (tokens.length < 2) throw new RangeError("slidingWindowPerplexity: need at least two tokens");
  const total = tokens.length - 1;
  const tokenNll = new Float64Array(total); // [tokens.length − 1]
  let scoredUpTo = 0; // tokens 1 .. scoredUpTo have been scored
  let windows = 0;
  for (let start = 0; scoredUpTo < total; start += stride) {
    const end = Math.min(start + window, tokens.length);
    const windowTokens = Int32Array.from({ length: end - start }, (_, index) => tokens[start + index]); // [end − start]
    // Row r predicts token start + r + 1; score the targets after scoredUpTo.
    const firstScoredRow = scoredUpTo - start;
    const answer = await logitsOf({ tokens: windowTokens, start, firstScoredRow });
    const { logits, rowsFrom } = answer instanceof Float32Array ? { logits: answer, rowsFrom: 0 } : answer;
    const rowsGiven = logits.length / vocabSize;
    if (!Number.isInteger(rowsGiven) || rowsFrom > firstScoredRow || rowsFrom + rowsGiven < windowTokens.length - 1) {
      throw new RangeError(
        `slidingWindowPerplexity: the window at ${start} needs logits for rows ${firstScoredRow}..${windowTokens.length - 2} of [${windowTokens.length}, ${vocabSize}], got ${logits.length} values from row ${rowsFrom}`,
      );
    }
    for (let row = firstScoredRow; row < windowTokens.length - 1; row++) {
      const offset = (row - rowsFrom) * vocabSize;
      const logProbabilities = logSoftmax(logits.subarray(offset, offset + vocabSize));
      tokenNll[start + row] = -logProbabilities[windowTokens[row + 1]];
    }
    scoredUpTo = end - 1;
    windows++;
    options.onProgress?.(scoredUpTo, total);
  }
  let sum = 0;
  for (const value of tokenNll) sum += value;
  const negativeLogLikelihood = sum / total;
  return { perplexity: Math.exp(negativeLogLikelihood), negativeLogLikelihood, predicted: total, windows, tokenNegativeLogLikelihoods: tokenNll };
}
