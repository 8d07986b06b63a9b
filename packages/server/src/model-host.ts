// What the HTTP layer needs from whatever runs the model — this thread (LocalModelHost, for tests and embedding) or
// a worker thread that owns the model and its scheduler (WorkerModelHost, what `--serve` runs) — so the server code
// is the same for both and knows nothing about architectures, weights or kernels.
//
// A request goes through two steps: prepare (body bytes → checked parameters and prompt token ids: JSON parsing,
// bounds, chat template, tokenizer) and generate (prompt ids → streamed text and an outcome). Both answer with an
// ApiError for what the client must fix (400 naming the field, 404, 429) and resolve otherwise.

import type { FinishReason } from "@infer-recipes/scheduler";

import type { ImageInputData } from "./image-input.ts";
import type { SamplingParameters } from "./request-parameters.ts";

/** Which generation endpoint a request came to: /v1/completions or /v1/chat/completions. */
export type EndpointKind = "completion" | "chat";

/** What the served model lets a request hold, known once it is loaded. */
export interface PromptLimits {
  /** Longest prompt in tokens that can run: the context less one position, capped by the KV cache. */
  maxPromptTokens: number;
  /** Characters of the longest token's spelling: no prompt of more than maxPromptTokens × this characters fits. */
  longestTokenCharacters: number;
}

/** The served model as the HTTP layer sees it. */
export interface ModelInfo {
  /** Reported by /v1/models; requests naming another model get a 404. */
  id: string;
  /** The model's context length in tokens. */
  contextLength: number;
  /** What a prompt may hold. */
  limits: PromptLimits;
  /** Whether /v1/chat/completions can serve it. */
  hasChatTemplate: boolean;
  /** Bytes of base64 image data a request may carry beyond its text; 0 or absent: the model takes no images. */
  imageBodyBytes?: number;
}

/** A checked request, ready to generate. */
export interface PreparedRequest {
  /** The endpoint it came to. */
  kind: EndpointKind;
  /** Everything but the prompt. */
  parameters: SamplingParameters;
  /** The prompt's token ids (chat template applied). */
  promptIds: number[];
  /** The request's images (a vision-language model's chat), in prompt order; encoded where the model runs. */
  images?: ImageInputData[];
}

/** How a generation ended. */
export interface GenerationOutcome {
  /** The generated text. */
  text: string;
  /** Tokens generated. */
  completionTokens: number;
  /** Why it ended. */
  finishReason: FinishReason;
  /** Tokens in the prompt. */
  promptTokens: number;
  /** Prompt tokens whose keys/values came from the prefix cache. */
  cachedPromptTokens: number;
  /** Milliseconds from submission to the first token. */
  timeToFirstTokenMs: number;
  /** Milliseconds from submission to the end. */
  totalMs: number;
}

/** Where a generation's progress goes, and how it is cancelled. */
export interface GenerationStream {
  /** Called once the request is queued (before any text); not called when generate rejects. */
  onAccepted?: () => void;
  /** Text as it is generated (already held back at stop strings and incomplete UTF-8). */
  onText?: (text: string) => void;
  /** Aborting cancels the request and frees its KV blocks. */
  signal: AbortSignal;
}

/** What /health reports: counters of the scheduler and the KV cache, read without waiting on the model. */
export interface HealthSnapshot {
  /** Requests in the batch. */
  running: number;
  /** Requests waiting for admission. */
  waiting: number;
  /** The paged KV cache's blocks and bytes. */
  kvCache: {
    /** Positions per block. */
    blockSize: number;
    /** Blocks that can hold keys and values. */
    totalBlocks: number;
    /** Blocks referenced by a request. */
    usedBlocks: number;
    /** Blocks free (cached ones included). */
    freeBlocks: number;
    /** Blocks in the prefix-cache index. */
    cachedBlocks: number;
    /** Bytes of the blocks in use. */
    usedBytes: number;
    /** Bytes of the whole cache. */
    totalBytes: number;
  };
  /** Requests completed, cancelled and failed so far. */
  completed: number;
  /** Requests cancelled so far. */
  cancelled: number;
  /** Requests failed so far. */
  failed: number;
}

/** What the HTTP layer needs from whatever runs the model: in this thread ({@link LocalModelHost}) or a worker. */
export interface ModelHost {
  /** The model, once loaded (undefined while loading). */
  info(): ModelInfo | undefined;
  /** Body bytes of a POST → checked request with prompt ids. Rejects with an ApiError. */
  prepare(kind: EndpointKind, body: Uint8Array): Promise<PreparedRequest>;
  /** Runs a prepared request under `id`. Rejects with an ApiError when it cannot run (400, 429). */
  generate(id: string, request: PreparedRequest, stream: GenerationStream): Promise<GenerationOutcome>;
  /** Why the model can no longer serve (its worker stopped), or undefined while it can or is loading. */
  failureReason?(): string | undefined;
  /** The latest counters (undefined while loading). Never waits on a model step. */
  health(): HealthSnapshot | undefined;
  /** Cancels every request. */
  cancelAll(): void;
  /** Waits until no request runs, then releases what the host holds. */
  close(): Promise<void>;
}
