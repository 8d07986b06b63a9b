// A draft model as drafter: a smaller model of the same vocabulary (Llama 3.2 1B for 3B) runs ahead of the target,
// one token at a time over its own KV cache. Before each proposal it brings that cache in step with the context:
// positions that no longer match (rejected drafts, an edited chat) are rolled back, the tokens it has not seen are run
// in one chunk. Greedy drafts are the draft's argmax; sampled drafts are drawn from the draft's distribution shaped
// like the target's (same sampler), and that distribution goes with the proposal for the acceptance rule.

import type { DraftProposal, DraftRequest, Drafter } from "./drafter.ts";
import { forwardInChunks, type ModelSequence } from "./model-sequence.ts";

/** Options of a {@link ModelDrafter}. */
export interface ModelDrafterOptions {
  /** Shown in statistics (default "draft model"). */
  name?: string;
  /** Tokens per forward when catching up on a long context (default 512). */
  chunkSize?: number;
}

/**
 * A small draft model as the drafter (e.g. Llama 3.2 1B for 3B): it keeps its own KV cache of the context, catches up
 * on what the target accepted, and drafts greedily or by sampling with the target's settings. It must share the
 * target's vocabulary.
 */
export class ModelDrafter implements Drafter {
  readonly name: string;
  private readonly chunkSize: number;
  /** Token ids at the positions the draft sequence holds. */
  // Stryker disable next-line ArrayDeclaration: equivalent (a list starting non-empty: the first catch-up keeps none of it, a string never being a token id, and cuts it to what it keeps)
  private readonly cachedTokens: number[] = [];

  constructor(
    /** The draft model's sequence (its own KV cache, empty or holding `cachedTokens`' positions). */
    readonly sequence: ModelSequence,
    options: ModelDrafterOptions = {},
  ) {
    if (sequence.length !== 0) throw new RangeError(`ModelDrafter: the draft sequence must start empty, it holds ${sequence.length} positions`);
    this.name = options.name ?? "draft model";
    this.chunkSize = options.chunkSize ?? 512;
  }

  prefill(context: readonly number[]): void {
    if (context.length < 2 || context.length > this.sequence.maxTokens) return;
    // Everything but the last token: that one runs with the first proposal, whose logits it gives.
    this.catchUp(context.slice(0, -1));
  }

  propose({ context, count, sampling }: DraftRequest): DraftProposal {
    // Positions context.length .. context.length + count - 2 receive the drafts fed back in.
    const drafts = Math.min(count, this.sequence.maxTokens - context.length + 1);
    if (drafts < 1 || context.length === 0) return { tokens: [], distributions: null };
    let logits = this.catchUp(context);
    const tokens: number[] = [];
    const distributions: Float64Array[] = [];
    const previous = [...context];
    for (let index = 0; index < drafts; index++) {
      let token: number;
      if (sampling.greedy) token = sampling.sample(logits, previous);
      else {
        const distribution = sampling.distribution(logits, previous);
        token = sampling.draw(distribution);
        distributions.push(distribution);
      }
      tokens.push(token);
      previous.push(token);
      if (index + 1 < drafts) {
        logits = this.sequence.forward(Int32Array.of(token));
        this.cachedTokens.push(token);
      }
    }
    return { tokens, distributions: sampling.greedy ? null : distributions };
  }

  /** Rolls the draft cache back to its longest prefix of `tokens` (keeping at least one token to run) and runs the
   *  rest; returns the logits after the last token. */
  private catchUp(tokens: readonly number[]): Float32Array {
    let keep = 0;
    const limit = Math.min(this.cachedTokens.length, tokens.length - 1);
    while (keep < limit && this.cachedTokens[keep] === tokens[keep]) keep++;
    this.sequence.truncate(keep);
    this.cachedTokens.length = keep;
    const fresh = tokens.slice(keep);
    const logits = forwardInChunks(this.sequence, fresh, this.chunkSize);
    for (const token of fresh) this.cachedTokens.push(token);
    return logits;
  }
}
