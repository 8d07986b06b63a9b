// The messages between the HTTP thread (worker-model-host.ts) and the two worker threads (model-worker.ts): the
// prompt worker prepares requests (JSON, bounds, chat template, tokenizer) and the model worker owns the model and
// its scheduler. The model worker answers with one update per scheduler step: every request's new text in that step
// joined into one string, the requests accepted and finished, and the /health counters — so streaming costs one
// message per step, not one per token or character.

import type { ApiErrorData } from "./api-error.ts";
import type { EndpointKind, GenerationOutcome, HealthSnapshot, ModelInfo, PreparedRequest } from "./model-host.ts";

/** What a worker is started with (workerData). */
export interface WorkerStart {
  role: "model" | "prompt";
  /** File URL of the loader module (serving-loader.ts describes what it exports). */
  loaderModule: string;
  /** Passed to the loader as given. */
  loadOptions: unknown;
}

/** A failure, as plain data: expected ones carry the loader's one-line message and exit code. */
export interface FailureData {
  /** The error's message: one line when exitCode is set. */
  message: string;
  /** Set when the loader recognised the failure as one a user can fix. */
  exitCode?: number;
  /** The worker's stack trace, for a failure the loader did not recognise (a bug). */
  stack?: string;
}

/** A prepared request in transit: the prompt ids travel as a transferred Int32Array. */
export interface PreparedMessage extends Omit<PreparedRequest, "promptIds"> {
  promptIds: Int32Array;
}

export type ToModelWorker =
  | { kind: "generate"; id: string; request: PreparedMessage }
  | { kind: "cancel"; id: string }
  | { kind: "cancel-all" }
  | { kind: "close" };

export type FromModelWorker =
  | { kind: "ready"; info: ModelInfo; summary?: string; health: HealthSnapshot }
  | { kind: "load-failed"; failure: FailureData }
  | {
      kind: "update";
      accepted: string[];
      texts: Array<[id: string, text: string]>;
      finished: Array<{ id: string; outcome?: GenerationOutcome; refusal?: ApiErrorData; failure?: FailureData }>;
      health: HealthSnapshot;
    }
  | { kind: "closed" };

export type ToPromptWorker =
  | { kind: "info"; info: ModelInfo }
  | { kind: "prepare"; id: number; endpoint: EndpointKind; body: Uint8Array };

export type FromPromptWorker =
  | { kind: "ready" }
  | { kind: "load-failed"; failure: FailureData }
  | { kind: "prepared"; id: number; request: PreparedMessage }
  | { kind: "refused"; id: number; refusal: ApiErrorData }
  | { kind: "failed"; id: number; failure: FailureData };
