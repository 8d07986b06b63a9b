/**
 * An OpenAI-compatible HTTP server (node:http) in front of the continuous-batching scheduler:
 * `POST /v1/completions`, `POST /v1/chat/completions` (JSON or server-sent events), `GET /v1/models`, `GET /health`.
 * {@link InferenceServer} wires a {@link ServedModel} (a scheduler, a tokenizer and a chat template) to the routes,
 * with the model in this thread (LocalModelHost) or in a worker thread that owns it (WorkerModelHost).
 *
 * @module @infer-recipes/server
 */
export { AccessPolicy, hostName, type AccessOptions } from "./access-policy.ts";
export { ApiError, type ApiErrorData, type ApiErrorType } from "./api-error.ts";
export { chatPromptIds, completionPromptIds } from "./chat-prompt.ts";
export { EventLoopDelayMonitor, type EventLoopDelay } from "./event-loop-delay.ts";
export {
  readImageReference,
  type ContentKeyData,
  type EncodedImages,
  type EmbeddingSpanData,
  type ImageInputData,
  type ImagePromptPreparer,
  type ImageReference,
  type ServedImageEncoder,
} from "./image-input.ts";
export { ServerListenError } from "./listen-error.ts";
export { LocalModelHost } from "./local-model-host.ts";
export type {
  EndpointKind,
  GenerationOutcome,
  GenerationStream,
  HealthSnapshot,
  ModelHost,
  ModelInfo,
  PreparedRequest,
  PromptLimits,
} from "./model-host.ts";
export { prepareRequest, type PromptText } from "./prompt-preparation.ts";
export { checkPromptBounds, maxPromptCharacters, maxRequestBodyBytes, promptLimits } from "./request-bounds.ts";
export { readChatParameters, readCompletionParameters, type ChatParameters, type CompletionParameters, type SamplingParameters } from "./request-parameters.ts";
export { generateOnScheduler, maxPromptTokensOf, schedulerHealth } from "./scheduled-generation.ts";
export type { ServedModel } from "./served-model.ts";
export { InferenceServer, type CloseOptions, type InferenceServerOptions } from "./server.ts";
export type { LoadFailure, LoadedPromptText, ServingLoader } from "./serving-loader.ts";
export type { FailureData } from "./worker-protocol.ts";
export { ModelLoadError, WorkerModelHost, type WorkerModelHostOptions } from "./worker-model-host.ts";
