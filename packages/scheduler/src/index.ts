/**
 * Many requests served together on one model: the {@link Scheduler} keeps a queue, admits requests while
 * the paged KV cache has blocks, runs long prompts in chunks under a token budget beside the decode steps of running
 * requests (continuous batching), preempts the newest request by recompute when blocks run out, and streams each
 * request's tokens with its own sampling, stop conditions and cancellation.
 *
 * @module @infer-recipes/scheduler
 */
export type { BatchEntry, BatchLanguageModel } from "./batch-model.ts";
export { QueueFullError, RequestError, SchedulerError } from "./errors.ts";
export type { FinishReason, GenerationRequest, RequestHandle, RequestResult } from "./request.ts";
export { Scheduler, type SchedulerOptions, type SchedulerStats, type StepReport } from "./scheduler.ts";
