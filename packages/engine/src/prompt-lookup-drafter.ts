// Prompt lookup (n-gram) drafting, without any model: find the latest earlier place where the context's last n
// tokens occurred, and propose the tokens that followed there. It pays where the output repeats its input — code
// edits, summaries that quote, extraction, chat that restates — and costs one scan of the context per step.
// Longer n-grams are tried first (a longer match predicts better), down to one token.

import type { DraftProposal, DraftRequest, Drafter } from "./drafter.ts";

/** The n-gram lengths a {@link PromptLookupDrafter} matches. */
export interface PromptLookupOptions {
  /** The longest n-gram to match (default 3). */
  maxNgram?: number;
  /** The shortest n-gram to match (default 1). */
  minNgram?: number;
}

/** Drafting without a model: the tokens that followed the latest earlier occurrence of the context's last n tokens. */
export class PromptLookupDrafter implements Drafter {
  readonly name: string;
  /** The longest n-gram matched. */
  readonly maxNgram: number;
  /** The shortest n-gram matched. */
  readonly minNgram: number;

  constructor(options: PromptLookupOptions = {}) {
    this.maxNgram = options.maxNgram ?? 3;
    this.minNgram = options.minNgram ?? 1;
    if (!(Number.isInteger(this.minNgram) && this.minNgram >= 1 && Number.isInteger(this.maxNgram) && this.maxNgram >= this.minNgram)) {
      throw new RangeError(`PromptLookupDrafter: n-gram sizes must be integers with 1 ≤ minNgram ≤ maxNgram, got ${this.minNgram}..${this.maxNgram}`);
    }
    this.name = `prompt lookup (n-gram ${this.maxNgram}..${this.minNgram})`;
  }

  propose({ context, count }: DraftRequest): DraftProposal {
    const length = context.length;
    // An n-gram of the whole context has no earlier occurrence, so the longest worth trying is length − 1.
    // Stryker disable next-line ArithmeticOperator: equivalent (a size ≥ length has no start before it and matches nothing)
    for (let size = Math.min(this.maxNgram, length - 1); size >= this.minNgram; size--) {
      const patternStart = length - size;
      // Latest earlier occurrence first: the match starts at `start`, the continuation at start + size (< length).
      for (let start = patternStart - 1; start >= 0; start--) {
        if (!occursAt(context, start, patternStart, size)) continue;
        const from = start + size;
        return { tokens: context.slice(from, Math.min(from + count, length)), distributions: null };
      }
    }
    return { tokens: [], distributions: null };
  }
}

/** Whether the `size` tokens at `start` equal those at `patternStart`. */
function occursAt(context: readonly number[], start: number, patternStart: number, size: number): boolean {
  for (let offset = 0; offset < size; offset++) if (context[start + offset] !== context[patternStart + offset]) return false;
  return true;
}
