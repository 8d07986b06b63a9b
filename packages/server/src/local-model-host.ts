// A ModelHost over a served model in this thread: prepare and generate run here, between the event loop's other
// work. Tests and embedders use it directly; the server's worker thread runs one inside (model-worker.ts).

import type { ApiError } from "./api-error.ts";
import type { EndpointKind, GenerationOutcome, GenerationStream, HealthSnapshot, ModelHost, ModelInfo, PreparedRequest } from "./model-host.ts";
import { prepareRequest, type PromptText } from "./prompt-preparation.ts";
import { promptLimits } from "./request-bounds.ts";
import { generateOnScheduler, maxPromptTokensOf, schedulerHealth } from "./scheduled-generation.ts";
import type { ServedModel } from "./served-model.ts";

/** Runs the model in this thread (for tests and embedding): prepares requests and generates on the served scheduler. */
export class LocalModelHost implements ModelHost {
  /** The served model's text side and prompt limits. */
  readonly text: PromptText;
  /** Requests with images whose encoder runs (they reach the scheduler only afterwards): cancelAll stops them too,
   *  and close waits for them. */
  private readonly encoding = new Map<AbortController, Promise<unknown>>();

  constructor(
    /** The scheduler and the model's text side. */
    readonly served: ServedModel,
  ) {
    const limits = promptLimits(served.tokenizer, maxPromptTokensOf(served.scheduler));
    this.text = { id: served.id, tokenizer: served.tokenizer, chatTemplate: served.chatTemplate, limits, images: served.images?.prompts };
  }

  info(): ModelInfo {
    return {
      id: this.served.id,
      contextLength: this.served.scheduler.model.config.contextLength,
      limits: this.text.limits,
      hasChatTemplate: this.served.chatTemplate !== undefined,
      imageBodyBytes: this.served.images?.maxRequestImageBytes,
    };
  }

  /** Rejects with an {@link ApiError} for a request that cannot run. */
  async prepare(kind: EndpointKind, body: Uint8Array): Promise<PreparedRequest> {
    return prepareRequest(this.text, kind, body);
  }

  generate(id: string, request: PreparedRequest, stream: GenerationStream): Promise<GenerationOutcome> {
    if (!request.images?.length) return generateOnScheduler(this.served, id, request, stream);
    const controller = new AbortController();
    const signal = AbortSignal.any([stream.signal, controller.signal]);
    const outcome = generateOnScheduler(this.served, id, request, { ...stream, signal });
    const settled = outcome.finally(() => this.encoding.delete(controller)).catch(() => undefined);
    this.encoding.set(controller, settled);
    return outcome;
  }

  health(): HealthSnapshot {
    return schedulerHealth(this.served.scheduler);
  }

  cancelAll(): void {
    for (const controller of this.encoding.keys()) controller.abort();
    this.served.scheduler.cancelAll();
  }

  async close(): Promise<void> {
    await Promise.all(this.encoding.values());
    await this.served.scheduler.whenIdle();
  }
}
