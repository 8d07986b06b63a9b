// A drafter proposes the next few tokens of a sequence cheaply, for the target model to verify in one forward pass
// (speculative decoding). Implementations: a small draft model with its own KV cache (model-drafter.ts), n-gram lookup
// in the prompt and the text so far (prompt-lookup-drafter.ts), and a replay of a recorded continuation
// (replay-drafter.ts, the benchmark's upper bound). A drafter is told the whole context at every call and keeps
// whatever state it has in step with it, so one drafter per sequence also works where a scheduler interleaves
// sequences, rolls them back or restarts them.

/** How a draft model picks its tokens: the target's sampler, so both distributions get the same shaping. */
export interface DraftSampling {
  /** Greedy decoding: draft tokens are the draft model's argmax and are accepted only when the target agrees. */
  readonly greedy: boolean;
  /** The sampling distribution [vocab] for `logits` after the tokens `previous` (penalty, top-k/p, min-p, temperature). */
  distribution(logits: Float32Array, previous: ArrayLike<number>): Float64Array;
  /** A token drawn from `probabilities` [vocab]. */
  draw(probabilities: Float64Array): number;
  /** The greedy token for `logits` after `previous` (the repetition penalty applies). */
  sample(logits: Float32Array, previous: ArrayLike<number>): number;
}

/** What a {@link Drafter} is asked for at one step. */
export interface DraftRequest {
  /** Every token so far, prompt and accepted output; the draft continues it. */
  context: readonly number[];
  /** Tokens wanted at most (≥ 1). */
  count: number;
  /** How to choose tokens: greedy or from the (same-settings) sampling distribution, and the random stream. */
  sampling: DraftSampling;
}

/** The tokens a {@link Drafter} proposes, with the distributions they were drawn from when it sampled. */
export interface DraftProposal {
  /** The proposed tokens, at most the count asked for (none when the drafter has nothing to offer). */
  tokens: number[];
  /**
   * For each proposed token, the distribution [vocab] it was drawn from; null when every token was chosen
   * deterministically (greedy, lookup, replay), which the acceptance rule treats as a point mass on the token.
   */
  distributions: Float64Array[] | null;
}

/**
 * Proposes the next few tokens cheaply, for the target model to verify in one forward pass: a small draft model
 * ({@link ModelDrafter}), n-gram lookup in the context ({@link PromptLookupDrafter}), or a recorded continuation
 * ({@link ReplayDrafter}). Passed to {@link speculativeGenerate}.
 */
export interface Drafter {
  /** Shown in statistics and errors ("draft model …", "prompt lookup", "replay"). */
  readonly name: string;
  /** Proposes up to request.count tokens continuing request.context. */
  propose(request: DraftRequest): DraftProposal;
  /** Gets ready to draft after `context` (a draft model runs the prompt), so that work counts as prefill, not decode. */
  prefill?(context: readonly number[]): void;
}
