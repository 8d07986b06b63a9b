// The scheduler package: many requests served together on one model — continuous batching over a paged KV cache,
// chunked prefill, preemption by recompute, per-request sampling, stop conditions, streaming and cancellation.
export type { BatchEntry, BatchLanguageModel } from "./batch-model.ts";
export { QueueFullError, RequestError, SchedulerError } from "./errors.ts";
export type { FinishReason, GenerationRequest, RequestHandle, RequestResult } from "./request.ts";
export { Scheduler, type SchedulerOptions, type SchedulerStats, type StepReport } from "./scheduler.ts";
