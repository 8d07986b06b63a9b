// What a generation asks for besides its prompt: sampling, limits, stop conditions, streaming and cancellation. One
// definition for every loop that generates (generate(), speculative decoding, the scheduler's requests).

import type { IncrementalDecoder } from "./language-model.ts";
import type { SamplingOptions } from "./sampler.ts";

/** Shared by generate() (one sequence), speculativeGenerate() and the scheduler's requests (many sequences in a batch). */
export interface GenerationControls extends SamplingOptions {
  /** Tokens to generate at most (default: generate() 256, the scheduler what is left of the context; both capped
   *  by the context). */
  maxTokens?: number;
  /** Token ids that end generation (EOS, end-of-turn); they are not part of the output. */
  stopTokenIds?: readonly number[];
  /** Strings that end generation; the text stops before them (never streamed). Needs a decoder. */
  stopStrings?: readonly string[];
  /** Turns ids into streamed text; without it only ids are produced. */
  decoder?: IncrementalDecoder;
  /** Called with each piece of text as soon as it can be shown. */
  onText?: (text: string) => void;
  /** Called with each generated token id (before its text is known). */
  onToken?: (tokenId: number) => void;
  /** Aborting cancels the generation. */
  signal?: AbortSignal;
}
