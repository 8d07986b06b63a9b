// The engine package: the generation loop, sampling and streaming shared by every recipe.
export { generate, GenerationError, type FinishReason, type GenerateOptions, type GenerationControls, type GenerationResult } from "./generate.ts";
export type { CausalLanguageModel, IncrementalDecoder } from "./language-model.ts";
export { SeededRandom } from "./random.ts";
export { Sampler, SamplingError, argmax, validateSamplingOptions, type SamplingOptions } from "./sampler.ts";
export { StopStringFilter } from "./stop-strings.ts";
