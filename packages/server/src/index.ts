// The server package: an OpenAI-compatible HTTP front for the continuous-batching scheduler.
export { ApiError, type ApiErrorType } from "./api-error.ts";
export { chatPromptIds, completionPromptIds } from "./chat-prompt.ts";
export { readChatParameters, readCompletionParameters, type ChatParameters, type CompletionParameters } from "./request-parameters.ts";
export type { ServedModel } from "./served-model.ts";
export { InferenceServer, type InferenceServerOptions } from "./server.ts";
