// A ModelHost over a served model in this thread: prepare and generate run here, between the event loop's other
// work. Tests and embedders use it directly; the server's worker thread runs one inside (model-worker.ts).

import type { ApiError } from "./api-error.ts";
import type { EndpointKind, GenerationOutcome, GenerationStream, HealthSnapshot, ModelHost, ModelInfo, PreparedRequest } from "./model-host.ts";
import { prepareRequest, type PromptText } from "./prompt-preparation.ts";
import { promptLimits } from "./request-bounds.ts";
import { generateOnScheduler, maxPromptTokensOf, schedulerHealth } from "./scheduled-generation.ts";
import type { ServedModel } from "./served-model.ts";

export class LocalModelHost implements ModelHost {
  readonly text: PromptText;

  constructor(readonly served: ServedModel) {
    const limits = promptLimits(served.tokenizer, maxPromptTokensOf(served.scheduler));
    this.text = { id: served.id, tokenizer: served.tokenizer, chatTemplate: served.chatTemplate, limits };
  }

  info(): ModelInfo {
    return { id: this.served.id, contextLength: this.served.scheduler.model.config.contextLength, limits: this.text.limits, hasChatTemplate: this.served.chatTemplate !== undefined };
  }

  /** Rejects with an {@link ApiError} for a request that cannot run. */
  async prepare(kind: EndpointKind, body: Uint8Array): Promise<PreparedRequest> {
    return prepareRequest(this.text, kind, body);
  }

  generate(id: string, request: PreparedRequest, stream: GenerationStream): Promise<GenerationOutcome> {
    return generateOnScheduler(this.served, id, request, stream);
  }

  health(): HealthSnapshot {
    return schedulerHealth(this.served.scheduler);
  }

  cancelAll(): void {
    this.served.scheduler.cancelAll();
  }

  close(): Promise<void> {
    return this.served.scheduler.whenIdle();
  }
}
