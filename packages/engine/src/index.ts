/**
 * The generation loop every recipe shares: {@link generate} runs chunked prefill of the prompt, then samples
 * one token at a time (greedy, temperature, top-k, top-p, min-p, repetition penalty, seeded) until a stop token, a stop
 * string, the token limit, the context or an abort signal ends it, streaming tokens as they come; and speculative
 * decoding (drafters, the verify loop, the lossless acceptance rule, adaptive draft length).
 *
 * It drives any {@link CausalLanguageModel}: a model that turns token ids into next-token logits over a KV cache.
 *
 * @module @infer-recipes/engine
 */
export {
  resampleFromTargetOnRejection,
  speculativeSampling,
  type AcceptanceRule,
  type Verification,
  type VerificationOutcome,
} from "./acceptance.ts";
export {
  DraftLengthPolicy,
  bestDraftLength,
  expectedTokensPerStep,
  projectedSpeedup,
  type DraftLengthOptions,
  type DraftStepRecord,
  type StepCosts,
} from "./draft-length.ts";
export type { DraftProposal, DraftRequest, DraftSampling, Drafter } from "./drafter.ts";
export { cachedLogits, greedyTokens } from "./evaluation.ts";
export { generate, type GenerateOptions, type GenerationResult } from "./generate.ts";
export type { GenerationControls } from "./generation-controls.ts";
export { GenerationOutput, type FinishReason } from "./generation-output.ts";
export { EventLoopYielder, GenerationClock, GenerationError, generationLimit, prefillPrompt, yieldToEventLoop, type GenerationTimings } from "./generation-run.ts";
export type { CausalLanguageModel, IncrementalDecoder } from "./language-model.ts";
export { largestIndices } from "./largest-indices.ts";
export {
  DenseModelSequence,
  PagedModelSequence,
  forwardInChunks,
  type ModelSequence,
  type PagedBatchEntry,
  type PagedLanguageModel,
} from "./model-sequence.ts";
export { ModelDrafter, type ModelDrafterOptions } from "./model-drafter.ts";
export { PromptLookupDrafter, type PromptLookupOptions } from "./prompt-lookup-drafter.ts";
export { SeededRandom } from "./random.ts";
export { ReplayDrafter } from "./replay-drafter.ts";
export { Sampler, SamplingError, argmax, validateSamplingOptions, type SamplingOptions } from "./sampler.ts";
export {
  speculativeGenerate,
  speculativeGenerateOn,
  type SpeculationStatistics,
  type SpeculativeGenerateOptions,
  type SpeculativeGenerationResult,
  type SpeculativeOptions,
  type SpeculativeTimings,
} from "./speculative-generate.ts";
export { StopStringFilter } from "./stop-strings.ts";
