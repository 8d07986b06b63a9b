// Continuous batching (iteration-level scheduling, as in Orca and vLLM) over a paged KV cache. Requests wait in a
// first-come-first-served queue; before every model step the scheduler decides which sequences run and with how
// many tokens, so requests join and leave the batch between steps instead of waiting for a whole batch to finish.
//
// One step, under a token budget (maxBatchTokens):
//   1. running requests that are decoding get one token each; running requests still in their prompt get the next
//      chunk of it (chunked prefill) from what is left of the budget, oldest first;
//   2. blocks are reserved oldest first; when the pool runs out, the newest running request is preempted — its
//      blocks are freed and it goes back to the front of the queue, to be recomputed later from its prompt and the
//      tokens it already generated (its prefix-cache blocks often survive, so the recompute is cheap);
//   3. if nothing was preempted, waiting requests are admitted in arrival order while the batch has room, the budget
//      has tokens and the pool has blocks (after a small watermark); a request that does not fit blocks those
//      behind it, so none is starved by later, smaller ones;
//   4. the model runs every scheduled token in one forwardBatch; each request that completed its pending tokens
//      samples its next token with its own sampler and applies its stop conditions.
// The oldest request is never preempted by a newer one and every request fits the pool alone (checked at submit),
// so the oldest always progresses: no request is starved or lost. Steps run back to back on the event loop with a
// yield between them, so new requests, cancellations and I/O are handled between steps.

import type { PagedKvCache } from "@infer-recipes/cache";
import { SamplingError, validateSamplingOptions } from "@infer-recipes/engine";

import type { BatchEntry, BatchLanguageModel } from "./batch-model.ts";
import { QueueFullError, RequestError, SchedulerError } from "./errors.ts";
import type { FinishReason, GenerationRequest, RequestHandle, RequestResult } from "./request.ts";
import { RequestState } from "./request-state.ts";

/** Limits of a {@link Scheduler}: batch size, tokens per step, queue length, admission headroom. */
export interface SchedulerOptions {
  /** Requests in the batch at most (decoding or in prefill). Default 16; 1 serves requests one at a time. */
  maxBatchSize?: number;
  /** Tokens one step runs at most: one per decoding request plus prefill chunks. Default 256. */
  maxBatchTokens?: number;
  /** Requests waiting for admission at most; submit throws QueueFullError beyond. Default: unlimited. */
  maxQueuedRequests?: number;
  /** Free blocks kept back when admitting while others run, so running requests can grow (default 1% of the pool). */
  admissionWatermarkBlocks?: number;
  /** Called after every step that ran the model. */
  onStep?: (report: StepReport) => void;
}

/** What one scheduler step ran, for logs and benchmarks. */
export interface StepReport {
  /** Sequences in the step. */
  sequences: number;
  /** Requests in the batch during the step, scheduled in it or not: the sequences holding KV blocks at once. */
  running: number;
  /** Tokens run: prefill plus decode. */
  tokens: number;
  /** Prompt tokens (prefill chunks) in the step. */
  prefillTokens: number;
  /** Decoding requests in the step (one token each). */
  decodeTokens: number;
  /** Requests preempted while planning this step. */
  preempted: number;
  /** Wall-clock time of the step, planning included. */
  milliseconds: number;
}

/** Counters since the scheduler was made, and the queue sizes now. */
export interface SchedulerStats {
  /** Requests in the batch now. */
  running: number;
  /** Requests waiting for admission now. */
  waiting: number;
  /** Steps that ran the model. */
  steps: number;
  /** Times a running request's blocks were taken back (it was recomputed later). */
  preemptions: number;
  /** Requests that ended by a stop condition or their token limit. */
  completed: number;
  /** Requests cancelled (signal, cancel(), cancelAll()). */
  cancelled: number;
  /** Requests that ended with an error (a callback or the model threw). */
  failed: number;
  /** Tokens generated over all requests. */
  generatedTokens: number;
  /** Prompt (and recomputed) tokens run through the model. */
  prefillTokens: number;
  /** Prompt tokens served from the prefix cache. */
  cachedPromptTokens: number;
}

interface PlannedEntry {
  state: RequestState;
  count: number;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Serves many generation requests on one model at once (continuous batching). Requests wait in a queue and are
 * admitted while the paged cache has room (reusing cached prompt prefixes); each step runs one token of every
 * decoding request plus prefill chunks of new ones, up to `maxBatchTokens`; a request leaves the batch the step it
 * finishes or is cancelled, and when blocks run out the newest request is preempted and later recomputed. Steps run
 * on their own after {@link submit}, yielding to the event loop between them.
 *
 * @example
 * ```ts
 * import { createKernel } from "@infer-recipes/kernel";
 * import { LlamaModel, loadModelWeights } from "@infer-recipes/models";
 * import { Scheduler } from "@infer-recipes/scheduler";
 * import { createStreamDecoder, tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";
 *
 * const kernel = createKernel();
 * const loaded = loadModelWeights("./stories260K.gguf", { packFor: kernel });
 * const model = LlamaModel.fromLoadedWeights(loaded, kernel);
 * const tokenizer = tokenizerFromGgufMetadata(loaded.metadata);
 * const cache = model.createPagedCache({ blockCount: 257 }); // 256 blocks of 16 positions, plus the null block
 * const scheduler = new Scheduler(model, cache, { maxBatchSize: 8, maxBatchTokens: 128 });
 *
 * const prompts = ["Once upon a time", "The little dog"];
 * const handles = prompts.map((prompt) => {
 *   const promptIds = tokenizer.encode(prompt);
 *   return scheduler.submit({ promptIds, maxTokens: 32, temperature: 0, decoder: createStreamDecoder(tokenizer, { contextIds: promptIds }) });
 * });
 * for (const { result } of handles) {
 *   const done = await result;
 *   console.log(done.id, done.finishReason, done.text, `${done.timeToFirstTokenMs.toFixed(0)} ms to first token`);
 * }
 * ```
 */
export class Scheduler {
  /** Requests in the batch at most. */
  readonly maxBatchSize: number;
  /** Tokens one step runs at most. */
  readonly maxBatchTokens: number;
  /** Requests waiting at most before submit throws QueueFullError. */
  readonly maxQueuedRequests: number;
  /** Free blocks kept back when admitting while others run. */
  readonly admissionWatermarkBlocks: number;
  /** Admitted requests in order of arrival. */
  private readonly running: RequestState[] = [];
  /** Requests waiting for admission in order of arrival (preempted ones come back to their place at the front). */
  private readonly waiting: RequestState[] = [];
  private readonly listeners = new Map<RequestState, () => void>();
  private nextArrival = 0;
  private stepping = false;
  private looping = false;
  private idleWaiters: Array<() => void> = [];
  private readonly counters = { steps: 0, preemptions: 0, completed: 0, cancelled: 0, failed: 0, generatedTokens: 0, prefillTokens: 0, cachedPromptTokens: 0 };

  constructor(
    /** The model every request runs on. */
    readonly model: BatchLanguageModel,
    /** The paged cache shared by the requests (make it with the model's createPagedCache). */
    readonly cache: PagedKvCache,
    private readonly options: SchedulerOptions = {},
  ) {
    this.maxBatchSize = options.maxBatchSize ?? 16;
    this.maxBatchTokens = options.maxBatchTokens ?? 256;
    this.maxQueuedRequests = options.maxQueuedRequests ?? Number.POSITIVE_INFINITY;
    this.admissionWatermarkBlocks = options.admissionWatermarkBlocks ?? Math.ceil(cache.pool.totalBlocks / 100);
    for (const [name, value] of [["maxBatchSize", this.maxBatchSize], ["maxBatchTokens", this.maxBatchTokens]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new SchedulerError(`Scheduler: ${name} must be an integer ≥ 1, got ${value}`);
    }
    if (!(this.maxQueuedRequests >= 0)) throw new SchedulerError(`Scheduler: maxQueuedRequests must be ≥ 0, got ${this.maxQueuedRequests}`);
  }

  /** Requests in the batch now. */
  get runningCount(): number {
    return this.running.length;
  }

  /** Requests waiting for admission now. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Counters since the scheduler was made, and the queue sizes now. */
  stats(): SchedulerStats {
    return { running: this.running.length, waiting: this.waiting.length, ...this.counters };
  }

  /**
   * Queues a request. Throws RequestError (naming the field) when it can never run as given, QueueFullError when
   * maxQueuedRequests are already waiting.
   */
  submit(request: GenerationRequest): RequestHandle {
    const id = request.id ?? `request-${this.nextArrival}`;
    const maxTokens = this.validate(id, request);
    if (this.waiting.length >= this.maxQueuedRequests) throw new QueueFullError(this.maxQueuedRequests);
    let settle!: { resolve: (result: RequestResult) => void; reject: (error: unknown) => void };
    const result = new Promise<RequestResult>((resolve, reject) => (settle = { resolve, reject }));
    const state = new RequestState(id, this.nextArrival++, request, maxTokens, settle);
    const handle: RequestHandle = { id, result, cancel: () => this.cancel(state) };
    if (request.signal?.aborted) {
      state.finish("cancelled");
      this.counters.cancelled++;
      return handle;
    }
    if (request.signal) {
      const listener = () => this.cancel(state);
      request.signal.addEventListener("abort", listener, { once: true });
      this.listeners.set(state, listener);
    }
    this.waiting.push(state);
    this.startLoop();
    return handle;
  }

  /** Resolves once no request is running or waiting. */
  whenIdle(): Promise<void> {
    if (this.running.length === 0 && this.waiting.length === 0 && !this.looping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cancels every request, running or waiting. */
  cancelAll(): void {
    for (const state of [...this.running, ...this.waiting]) this.cancel(state);
  }

  /**
   * Plans and runs one step (the loop calls this; tests may too). Returns false when there was nothing to run.
   */
  step(): boolean {
    const started = performance.now();
    this.stepping = true;
    let planned: PlannedEntry[];
    let preempted: number;
    let batch: BatchEntry[];
    let prefillTokens = 0;
    let running: number;
    try {
      ({ planned, preempted } = this.plan());
      if (planned.length === 0) return false;
      running = this.running.length;
      batch = planned.map(({ state, count }) => {
        const sequence = state.sequence!;
        const start = sequence.length;
        const entry: BatchEntry = { sequence, tokens: Int32Array.from(state.tokens.slice(start, start + count)), logits: start + count === state.tokens.length };
        if (state.request.embeddingSpans && start < state.promptLength) entry.embeddingSpans = state.request.embeddingSpans;
        return entry;
      });
      let logits: Array<Float32Array | null>;
      try {
        logits = this.model.forwardBatch(batch, this.cache);
      } catch (error) {
        for (const { state } of planned) this.fail(state, error);
        return true;
      }
      this.counters.steps++;
      planned.forEach(({ state, count }, index) => {
        const row = logits[index];
        const generatedBefore = state.generated.length;
        if (!(count === 1 && generatedBefore > 0)) {
          this.counters.prefillTokens += count;
          prefillTokens += count;
        }
        if (!row || state.finished) return;
        try {
          const reason = state.sampleNext(row);
          this.counters.generatedTokens += state.generated.length - generatedBefore;
          if (reason) this.complete(state, reason);
        } catch (error) {
          this.fail(state, error);
        }
      });
    } finally {
      this.stepping = false;
    }
    for (const state of [...this.running, ...this.waiting]) if (state.cancelRequested) this.complete(state, "cancelled");
    if (this.options.onStep) {
      const tokens = planned.reduce((sum, entry) => sum + entry.count, 0);
      this.options.onStep({ sequences: planned.length, running, tokens, prefillTokens, decodeTokens: tokens - prefillTokens, preempted, milliseconds: performance.now() - started });
    }
    return true;
  }

  private validate(id: string, request: GenerationRequest): number {
    const { contextLength, vocabSize } = this.model.config;
    const prompt = request.promptIds;
    if (!Array.isArray(prompt) && !ArrayBuffer.isView(prompt)) throw new RequestError("promptIds", `request ${id}: promptIds must be an array of token ids`);
    if (prompt.length === 0) throw new RequestError("promptIds", `request ${id}: the prompt has no tokens (add at least the BOS token)`);
    for (let index = 0; index < prompt.length; index++) {
      const token = prompt[index];
      if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
        throw new RequestError("promptIds", `request ${id}: promptIds[${index}] = ${token} is not a token id in 0..${vocabSize - 1}`);
      }
    }
    if (prompt.length >= contextLength) {
      throw new RequestError("promptIds", `request ${id}: the prompt has ${prompt.length} tokens, but the model's context is ${contextLength} tokens`);
    }
    const blockSize = this.cache.blockSize;
    const capacity = this.cache.capacityTokens;
    // The last generated token is never run through the model, so prompt + maxTokens − 1 positions must fit.
    if (prompt.length > capacity) {
      throw new RequestError("promptIds", `request ${id}: the prompt has ${prompt.length} tokens, but the KV cache holds ${capacity} (${this.cache.pool.totalBlocks} blocks of ${blockSize})`);
    }
    const room = Math.min(contextLength - prompt.length, capacity - prompt.length + 1);
    const maxTokens = request.maxTokens ?? room;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RequestError("maxTokens", `request ${id}: maxTokens must be an integer ≥ 1, got ${maxTokens}`);
    if (prompt.length + maxTokens > contextLength) {
      throw new RequestError(
        "maxTokens",
        `request ${id}: prompt (${prompt.length} tokens) + maxTokens (${maxTokens}) = ${prompt.length + maxTokens} exceeds the model's context of ${contextLength} tokens; at most ${contextLength - prompt.length}`,
      );
    }
    if (maxTokens > room) {
      const positions = prompt.length + maxTokens - 1;
      throw new RequestError(
        "maxTokens",
        `request ${id}: prompt (${prompt.length} tokens) + maxTokens (${maxTokens}) needs ${Math.ceil(positions / blockSize)} blocks of ${blockSize}, but the KV cache has ${this.cache.pool.totalBlocks}; at most ${room}`,
      );
    }
    if ((request.stopStrings?.length ?? 0) > 0 && !request.decoder) throw new RequestError("stopStrings", `request ${id}: stop strings need a decoder to see the text`);
    for (const span of request.embeddingSpans ?? []) {
      if (!Number.isInteger(span.start) || span.start < 0 || span.start >= prompt.length || !(span.embeddings instanceof Float32Array)) {
        throw new RequestError("promptIds", `request ${id}: an embedding span at position ${span.start} lies outside the prompt of ${prompt.length} tokens`);
      }
    }
    for (const key of request.contentKeys ?? []) {
      if (!(Number.isInteger(key.start) && Number.isInteger(key.end) && key.start >= 0 && key.start < key.end && key.end <= prompt.length)) {
        throw new RequestError("promptIds", `request ${id}: a content key covers positions ${key.start}..${key.end}, outside the prompt of ${prompt.length} tokens`);
      }
    }
    try {
      validateSamplingOptions(request);
    } catch (error) {
      if (error instanceof SamplingError) throw new RequestError(error.message.split(" ")[0], `request ${id}: ${error.message}`);
      throw error;
    }
    return maxTokens;
  }

  private plan(): { planned: PlannedEntry[]; preempted: number } {
    let budget = this.maxBatchTokens;
    const planned = new Map<RequestState, number>();
    // Decoding requests first (one token each: inter-token latency), then prompt chunks of running requests.
    // Stryker disable next-line BlockStatement: equivalent (EQUIVALENT.md): only the newest running request can be in its prompt, so loop 2 alone plans the same counts
    for (const state of this.running) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent (EQUIVALENT.md): the budget covers a token for every running request
      if (budget === 0) break;
      if (state.pendingTokens === 1 && state.generated.length > 0) {
        planned.set(state, 1);
        budget--;
      }
    }
    for (const state of this.running) {
      if (budget === 0) break;
      if (planned.has(state)) continue;
      const count = Math.min(state.pendingTokens, budget);
      planned.set(state, count);
      budget -= count;
    }
    // Blocks, oldest first; preempt the newest running request while the pool is short.
    let preempted = 0;
    for (const state of [...this.running]) {
      const count = planned.get(state);
      if (count === undefined || state.sequence === undefined) continue;
      while (!this.cache.reserve(state.sequence, count)) {
        const victim = this.running[this.running.length - 1];
        // Stryker disable next-line AssignmentOperator,LogicalOperator: equivalent (EQUIVALENT.md): after a preemption nothing is admitted, the only reader of budget
        budget += planned.get(victim) ?? 0;
        planned.delete(victim);
        this.preempt(victim);
        preempted++;
        if (victim === state) break;
      }
    }
    // Admission, first come first served, only when nothing had to be preempted.
    while (preempted === 0 && this.waiting.length > 0 && this.running.length < this.maxBatchSize && budget > 0) {
      const state = this.waiting[0];
      const sequence = this.cache.createSequence({ contentKeys: state.request.contentKeys });
      const reused = this.cache.matchPrefix(sequence, state.tokens);
      const count = Math.min(state.tokens.length - reused, budget);
      const watermark = this.running.length > 0 ? this.admissionWatermarkBlocks : 0;
      if (this.cache.blocksNeeded(sequence, count) + watermark > this.cache.pool.freeBlocks || !this.cache.reserve(sequence, count)) {
        this.cache.free(sequence);
        break;
      }
      this.waiting.shift();
      state.sequence = sequence;
      if (!state.admittedBefore) {
        state.admittedBefore = true;
        state.cachedPromptTokens = Math.min(reused, state.promptLength);
        this.counters.cachedPromptTokens += state.cachedPromptTokens;
      }
      this.running.push(state);
      planned.set(state, count);
      budget -= count;
    }
    // Stryker disable next-line MethodExpression: equivalent (EQUIVALENT.md): every running request is planned, so the filter keeps them all, in order
    const entries = this.running.filter((state) => planned.has(state)).map((state) => ({ state, count: planned.get(state)! }));
    return { planned: entries, preempted };
  }

  /** Takes a running request's blocks back; it waits again, at its place by arrival, and will be recomputed. */
  private preempt(state: RequestState): void {
    this.cache.free(state.sequence!);
    state.sequence = undefined;
    state.preemptions++;
    this.counters.preemptions++;
    this.running.splice(this.running.indexOf(state), 1);
    let index = 0;
    while (index < this.waiting.length && this.waiting[index].arrival < state.arrival) index++;
    this.waiting.splice(index, 0, state);
  }

  private cancel(state: RequestState): void {
    if (state.finished) return;
    if (this.stepping) state.cancelRequested = true;
    else this.complete(state, "cancelled");
  }

  /** Removes a request from the queues and frees its blocks. */
  private release(state: RequestState): void {
    for (const list of [this.running, this.waiting]) {
      const index = list.indexOf(state);
      if (index >= 0) list.splice(index, 1);
    }
    if (state.sequence) this.cache.free(state.sequence);
    state.sequence = undefined;
    const listener = this.listeners.get(state);
    if (listener) {
      // Stryker disable next-line OptionalChaining: equivalent (EQUIVALENT.md): a listener exists only for a request with a signal
      state.request.signal?.removeEventListener("abort", listener);
      this.listeners.delete(state);
    }
  }

  private complete(state: RequestState, reason: FinishReason): void {
    if (state.finished) return;
    this.release(state);
    try {
      state.finish(reason);
      if (reason === "cancelled") this.counters.cancelled++;
      else this.counters.completed++;
    } catch (error) {
      state.fail(error);
      this.counters.failed++;
    }
  }

  private fail(state: RequestState, error: unknown): void {
    if (state.finished) return;
    this.release(state);
    state.fail(error);
    this.counters.failed++;
  }

  private startLoop(): void {
    if (this.looping) return;
    this.looping = true;
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.running.length + this.waiting.length > 0) {
        let ran: boolean;
        try {
          ran = this.step();
        } catch (error) {
          // A bug in planning: fail every request rather than leave them hanging.
          for (const state of [...this.running, ...this.waiting]) this.fail(state, error);
          break;
        }
        if (!ran && this.running.length === 0 && this.waiting.length > 0) {
          // Nothing runs and the head of the queue cannot be admitted into an empty batch: it never will be.
          const head = this.waiting[0];
          this.fail(head, new SchedulerError(`request ${head.id} cannot be admitted: it needs more blocks than the ${this.cache.pool.freeBlocks} free`));
        }
        await yieldToEventLoop();
      }
    } finally {
      this.looping = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
