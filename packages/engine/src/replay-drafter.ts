// A drafter that proposes a recorded continuation: the target's own greedy output from an earlier target-only run.
// Every draft is accepted and drafting costs nothing, so a benchmark that uses it measures the upper bound of the
// speculative mechanics (verify cost, rollback, bookkeeping) with no draft model in the way.

import type { DraftProposal, DraftRequest, Drafter } from "./drafter.ts";

/** Proposes a recorded continuation (the target's own earlier greedy output): the upper bound of speculation. */
export class ReplayDrafter implements Drafter {
  readonly name = "replay";

  /** @param recorded prompt and continuation, as a target-only run produced them */
  constructor(private readonly recorded: readonly number[]) {}

  propose({ context, count }: DraftRequest): DraftProposal {
    const length = context.length;
    // A shortcut: past the recording's end the loop below finds a difference, and at its end the slice is empty.
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent (see the line above)
    if (length >= this.recorded.length) return { tokens: [], distributions: null };
    // Only a context that follows the recording has a recorded continuation; the latest tokens differ first.
    for (let index = length - 1; index >= 0; index--) if (context[index] !== this.recorded[index]) return { tokens: [], distributions: null };
    return { tokens: this.recorded.slice(length, length + count), distributions: null };
  }
}
