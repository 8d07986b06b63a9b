// The quality comparison of two engines on one GGUF file: perplexity of the same token ids with the same sliding
// windows, the per-position logits of one against the other (KL divergence, top-1 agreement, max |Δlogit|), and
// greedy continuations of several prompts. The engines are interfaces, so the comparison is tested with fakes.

import { compareLogits, greedyAgreement, slidingWindowPerplexity } from "@infer-recipes/harness";

/** What the comparison needs from an engine. */
export interface QualityEngine {
  /** Engine, build and settings, for the report. */
  readonly description: string;
  /** Logits of rows firstScoredRow .. tokens.length − 2 of a fresh window ([rows, vocab], row i predicts token i + 1). */
  windowLogits(tokens: Int32Array, firstScoredRow: number): Promise<Float32Array>;
  /** `count` greedy tokens after `prompt` (a fresh sequence). */
  greedy(prompt: readonly number[], count: number): Promise<number[]>;
  /** The engine's own tokenization of `text` without BOS/EOS, when it has a tokenizer of its own; special tokens
   *  written in the text are recognised only with `specialTokens` (default false). */
  tokenize?(text: string, specialTokens?: boolean): Promise<number[]>;
  close(): Promise<void>;
}

export interface QualitySettings {
  window: number;
  stride: number;
  greedyTokens: number;
  /** Perplexities agree when |ours ÷ llama.cpp − 1| is at most this (0.01 = 1%). */
  perplexityTolerance: number;
}

export interface GreedyComparison {
  prompt: string;
  /** Share of the positions where both engines chose the same token. */
  agreement: number;
  /** Tokens generated identically before the first difference. */
  common_prefix: number;
  compared: number;
}

export interface QualityResult {
  /** Tokens scored (all but the first of the text's tokens). */
  predicted_tokens: number;
  windows: number;
  ours_perplexity: number;
  peer_perplexity: number;
  /** ours ÷ llama.cpp. */
  perplexity_ratio: number;
  /** Mean over scored positions of KL(llama.cpp ‖ ours), in nats. */
  mean_kl_divergence: number;
  max_kl_divergence: number;
  /** Share of scored positions where both engines rank the same token first. */
  top1_agreement: number;
  max_abs_logit_difference: number;
  greedy: GreedyComparison[];
  /** Share of all greedy positions that agree, over every prompt. */
  greedy_agreement: number;
  /** Perplexity within the tolerance, or every greedy token equal. */
  pass: boolean;
}

/** Runs both engines over `tokens` (window by window, llama.cpp's logits checked against ours) and the prompts. */
export async function compareEngines(
  ours: QualityEngine,
  peer: QualityEngine,
  tokens: readonly number[],
  vocabSize: number,
  prompts: ReadonlyArray<{ text: string; tokens: readonly number[] }>,
  settings: QualitySettings,
  onProgress?: (line: string) => void,
): Promise<QualityResult> {
  const windowOptions = { window: settings.window, stride: settings.stride };
  const oursByWindow = new Map<number, Float32Array>();
  onProgress?.(`  ours: ${tokens.length} tokens, windows of ${settings.window} every ${settings.stride}`);
  const oursPerplexity = await slidingWindowPerplexity(tokens, vocabSize, windowOptions, async ({ tokens: windowTokens, start, firstScoredRow }) => {
    const logits = await ours.windowLogits(windowTokens, firstScoredRow);
    oursByWindow.set(start, logits);
    return { logits, rowsFrom: firstScoredRow };
  });
  let positions = 0, klSum = 0, maxKl = 0, top1Sum = 0, maxAbs = 0;
  onProgress?.(`  llama.cpp: the same windows`);
  const peerPerplexity = await slidingWindowPerplexity(tokens, vocabSize, windowOptions, async ({ tokens: windowTokens, start, firstScoredRow }) => {
    const logits = await peer.windowLogits(windowTokens, firstScoredRow);
    const comparison = compareLogits(logits, oursByWindow.get(start)!, vocabSize);
    positions += comparison.positions;
    klSum += comparison.meanKlDivergence * comparison.positions;
    top1Sum += comparison.top1Agreement * comparison.positions;
    maxKl = Math.max(maxKl, comparison.maxKlDivergence);
    maxAbs = Math.max(maxAbs, comparison.maxAbsDiff);
    return { logits, rowsFrom: firstScoredRow };
  });

  const greedy: GreedyComparison[] = [];
  for (const prompt of prompts) {
    onProgress?.(`  greedy: ${settings.greedyTokens} tokens after ${JSON.stringify(prompt.text)}`);
    const agreement = greedyAgreement(await peer.greedy(prompt.tokens, settings.greedyTokens), await ours.greedy(prompt.tokens, settings.greedyTokens));
    greedy.push({ prompt: prompt.text, agreement: agreement.agreement, common_prefix: agreement.commonPrefix, compared: agreement.compared });
  }
  const greedyPositions = greedy.reduce((total, entry) => total + entry.compared, 0);
  const greedyAgreed = greedy.reduce((total, entry) => total + entry.agreement * entry.compared, 0);
  const ratio = oursPerplexity.perplexity / peerPerplexity.perplexity;
  const greedyAgreementShare = greedyPositions === 0 ? 1 : greedyAgreed / greedyPositions;
  return {
    predicted_tokens: oursPerplexity.predicted,
    windows: oursPerplexity.windows,
    ours_perplexity: oursPerplexity.perplexity,
    peer_perplexity: peerPerplexity.perplexity,
    perplexity_ratio: ratio,
    mean_kl_divergence: positions === 0 ? 0 : klSum / positions,
    max_kl_divergence: maxKl,
    top1_agreement: positions === 0 ? 1 : top1Sum / positions,
    max_abs_logit_difference: maxAbs,
    greedy,
    greedy_agreement: greedyAgreementShare,
    pass: Math.abs(ratio - 1) <= settings.perplexityTolerance || (greedyPositions > 0 && greedyAgreed === greedyPositions),
  };
}
