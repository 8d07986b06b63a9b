// The exact distribution of the next few tokens a sampler produces, by enumerating every sequence (feasible for a
// small vocabulary and a few tokens), and the index that identifies one sequence: what a sampling accuracy check tests
// a sample of generated sequences against (chiSquareGoodnessOfFit).

/** The index of `tokens` among all sequences of its length over a vocabulary of `vocabSize` (lexicographic). */
export function sequenceIndex(tokens: readonly number[], vocabSize: number): number {
  let index = 0;
  for (const token of tokens) index = index * vocabSize + token;
  return index;
}

/**
 * P(the next `length` tokens are each sequence), indexed by sequenceIndex: the product of `next(history)` — the
 * distribution [vocab] of the token after `history` — along each sequence, starting from `prefix`. Calls `next` once
 * per prefix with positive probability (1 + vocab + … + vocab^(length−1) calls at most).
 */
export function exactSequenceProbabilities(prefix: readonly number[], length: number, vocabSize: number, next: (history: number[]) => ArrayLike<number>): Float64Array {
  const probabilities = new Float64Array(vocabSize ** length);
  const visit = (history: number[], probability: number, depth: number, index: number) => {
    if (depth === length) {
      probabilities[index] = probability;
      return;
    }
    const distribution = next(history);
    for (let token = 0; token < vocabSize; token++) {
      if (distribution[token] > 0) visit([...history, token], probability * distribution[token], depth + 1, index * vocabSize + token);
    }
  };
  visit([...prefix], 1, 0, 0);
  return probabilities;
}
