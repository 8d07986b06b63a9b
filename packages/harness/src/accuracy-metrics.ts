// How far an optimized path's logits are from the reference's: max-abs-diff, KL divergence over the vocabulary,
// top-1 agreement, and perplexity of a text. All in float64 so the metric adds no error of its own.

/** How far optimized logits are from the reference's, as {@link compareLogits} measures it. */
export interface LogitComparison {
  /** Largest |optimized − reference| over all positions and tokens. */
  maxAbsDiff: number;
  /** Mean over positions of KL(reference ‖ optimized) in nats. */
  meanKlDivergence: number;
  /** Largest per-position KL divergence. */
  maxKlDivergence: number;
  /** Fraction of positions where both pick the same most likely token. */
  top1Agreement: number;
  /** Positions (logits rows) compared. */
  positions: number;
}

/** log-softmax of one row, in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let index = 0; index < logits.length; index++) if (logits[index] > max) max = logits[index];
  let sum = 0;
  for (let index = 0; index < logits.length; index++) sum += Math.exp(logits[index] - max);
  const logSum = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let index = 0; index < logits.length; index++) out[index] = logits[index] - logSum;
  return out;
}

/** KL(p ‖ q) for two rows of logits. */
export function klDivergence(referenceLogits: ArrayLike<number>, optimizedLogits: ArrayLike<number>): number {
  const p = logSoftmax(referenceLogits);
  const q = logSoftmax(optimizedLogits);
  let kl = 0;
  for (let index = 0; index < p.length; index++) kl += Math.exp(p[index]) * (p[index] - q[index]);
  return Math.max(0, kl);
}

function argmax(values: ArrayLike<number>, start: number, length: number): number {
  let best = 0;
  for (let index = 1; index < length; index++) if (values[start + index] > values[start + best]) best = index;
  return best;
}

/** Compares logits [positions, vocab] (flattened) of a reference and an optimized run. */
export function compareLogits(reference: Float32Array, optimized: Float32Array, vocabSize: number): LogitComparison {
  if (reference.length !== optimized.length || reference.length % vocabSize !== 0) {
    throw new RangeError(`compareLogits: reference (${reference.length}) and optimized (${optimized.length}) must both be [positions, ${vocabSize}]`);
  }
  const positions = reference.length / vocabSize;
  let maxAbsDiff = 0, klSum = 0, maxKl = 0, agree = 0;
  for (let position = 0; position < positions; position++) {
    const start = position * vocabSize;
    const referenceRow = reference.subarray(start, start + vocabSize);
    const optimizedRow = optimized.subarray(start, start + vocabSize);
    for (let index = 0; index < vocabSize; index++) {
      const difference = Math.abs(referenceRow[index] - optimizedRow[index]);
      if (!(difference <= maxAbsDiff)) maxAbsDiff = Number.isNaN(difference) ? Infinity : difference;
    }
    const kl = klDivergence(referenceRow, optimizedRow);
    klSum += kl;
    maxKl = Math.max(maxKl, kl);
    if (argmax(reference, start, vocabSize) === argmax(optimized, start, vocabSize)) agree++;
  }
  return { maxAbsDiff, meanKlDivergence: klSum / positions, maxKlDivergence: maxKl, top1Agreement: agree / positions, positions };
}

/**
 * Perplexity of `tokens` given logits [tokens.length − 1 or more, vocab] where row i predicts tokens[i + 1]:
 * exp(mean negative log-likelihood).
 */
export function perplexity(
  logits: Float32Array,
  tokens: ArrayLike<number>,
  vocabSize: number,
): {
  /** exp(negativeLogLikelihood). */
  perplexity: number;
  /** Mean negative log-likelihood per predicted token, in nats. */
  negativeLogLikelihood: number;
  /** Tokens predicted (at most tokens.length − 1). */
  predicted: number;
} {
  const predicted = Math.min(tokens.length - 1, logits.length / vocabSize);
  if (predicted < 1) throw new RangeError("perplexity: need at least two tokens");
  let nll = 0;
  for (let position = 0; position < predicted; position++) {
    const row = logSoftmax(logits.subarray(position * vocabSize, (position + 1) * vocabSize));
    nll -= row[tokens[position + 1]];
  }
  return { perplexity: Math.exp(nll / predicted), negativeLogLikelihood: nll / predicted, predicted };
}

/** Positions where two greedy token sequences agree, and the length of their common prefix. */
export function greedyAgreement(
  reference: readonly number[],
  optimized: readonly number[],
): {
  /** Fraction of compared positions holding the same token (0..1). */
  agreement: number;
  /** Tokens before the first difference: after it, the two continuations condition on different text. */
  commonPrefix: number;
  /** Positions compared: the shorter sequence's length. */
  compared: number;
} {
  const compared = Math.min(reference.length, optimized.length);
  let same = 0, prefix = 0, stillEqual = true;
  for (let index = 0; index < compared; index++) {
    if (reference[index] === optimized[index]) {
      same++;
      if (stillEqual) prefix++;
    } else stillEqual = false;
  }
  return { agreement: compared === 0 ? 1 : same / compared, commonPrefix: prefix, compared };
}
