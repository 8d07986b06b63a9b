// A ModelHost whose model lives in worker threads (model-worker.ts): the HTTP thread only moves bytes and messages,
// so a model step of seconds (a long prefill on a big model) or the tokenizing of a large prompt never delays
// /health, other clients' streams or new connections. Two workers are started from one loader module and one set
// of load options (serving-loader.ts): the model worker owns the model, its scheduler and kernel threads; the prompt
// worker holds a second copy of the tokenizer and prepares requests. Streamed text arrives once per model step.

import { Worker } from "node:worker_threads";

import { ApiError } from "./api-error.ts";
import type { EndpointKind, GenerationOutcome, GenerationStream, HealthSnapshot, ModelHost, ModelInfo, PreparedRequest } from "./model-host.ts";
import type { FailureData, FromModelWorker, FromPromptWorker, PreparedMessage, ToModelWorker, ToPromptWorker, WorkerStart } from "./worker-protocol.ts";

/** How {@link WorkerModelHost.start} loads the model: which loader module, with which options. */
export interface WorkerModelHostOptions {
  /** The loader module's file URL (it exports loadServedModel and loadPromptText: serving-loader.ts). */
  loaderModule: string | URL;
  /** Given to the loader's functions in both workers: plain data only (structured clone). */
  loadOptions: unknown;
  /** Called once if a worker stops after loading: every open request has failed and the host refuses new ones. */
  onFailure?: (error: Error) => void;
  /** Milliseconds close() waits for the model worker to finish before terminating it (default 10 000). */
  closeTimeoutMs?: number;
}

/** A worker could not load the model. `exitCode` is set when the loader recognised the failure as a user's to fix
 *  (its message is then one line); otherwise `stack` holds the worker's stack. */
export class ModelLoadError extends Error {
  /** "ModelLoadError". */
  override name = "ModelLoadError";
  /** The process exit code the loader chose for a failure a user can fix; undefined for a bug. */
  readonly exitCode: number | undefined;
  /** The stack trace from inside the worker, for a failure the loader did not recognise. */
  readonly workerStack: string | undefined;
  /** Rebuilds the failure a worker reported as plain data. */
  constructor(failure: FailureData) {
    super(failure.message);
    this.exitCode = failure.exitCode;
    this.workerStack = failure.stack;
  }
}

interface PendingGeneration {
  stream: GenerationStream;
  resolve(outcome: GenerationOutcome): void;
  reject(error: unknown): void;
}

const bootstrap = new URL("./worker-bootstrap.mjs", import.meta.url);

function fromMessage(request: PreparedMessage): PreparedRequest {
  return { ...request, promptIds: Array.from(request.promptIds) };
}

export class WorkerModelHost implements ModelHost {
  /** Resolves once both workers are loaded; rejects with a ModelLoadError when either fails to load or stops first,
   *  or when the host is closed before (the workers are then stopped). */
  readonly ready: Promise<ModelInfo>;
  /** The loader's summary lines (ServedModel.summary), once ready. */
  summary: string | undefined;
  private readonly model: Worker;
  private readonly prompt: Worker;
  private loaded: ModelInfo | undefined;
  private latestHealth: HealthSnapshot | undefined;
  private failure: Error | undefined;
  private closing = false;
  private readonly generations = new Map<string, PendingGeneration>();
  private readonly preparations = new Map<number, { resolve(request: PreparedRequest): void; reject(error: unknown): void }>();
  private nextPreparation = 0;
  private closed: (() => void) | undefined;
  private terminated: Promise<unknown> | undefined;
  private closeCall: Promise<void> | undefined;
  private failLoad!: (error: Error) => void;

  private constructor(private readonly options: WorkerModelHostOptions) {
    const start = (role: WorkerStart["role"]) =>
      new Worker(bootstrap, { workerData: { role, loaderModule: String(options.loaderModule), loadOptions: options.loadOptions } satisfies WorkerStart });
    this.model = start("model");
    this.prompt = start("prompt");
    let modelReady: (info: ModelInfo) => void;
    let promptReady: () => void;
    const model = new Promise<ModelInfo>((resolve) => (modelReady = resolve));
    const prompt = new Promise<void>((resolve) => (promptReady = resolve));
    // Either worker can fail after the other one is ready: the load fails then too.
    const failed = new Promise<never>((_, reject) => (this.failLoad = reject));
    this.ready = Promise.race([Promise.all([model, prompt]), failed]).then(([info]) => {
      this.loaded = info;
      return info;
    });
    this.ready.catch(() => void this.terminate());

    this.model.on("message", (message: FromModelWorker) => {
      switch (message.kind) {
        case "ready":
          this.summary = message.summary;
          this.latestHealth = message.health;
          this.prompt.postMessage({ kind: "info", info: message.info } satisfies ToPromptWorker);
          modelReady(message.info);
          return;
        case "load-failed":
          this.failLoad(new ModelLoadError(message.failure));
          return;
        case "update":
          this.applyUpdate(message);
          return;
        case "closed":
          this.closed?.();
          return;
      }
    });
    this.prompt.on("message", (message: FromPromptWorker) => {
      switch (message.kind) {
        case "ready":
          promptReady();
          return;
        case "load-failed":
          this.failLoad(new ModelLoadError(message.failure));
          return;
        default: {
          const pending = this.preparations.get(message.id);
          this.preparations.delete(message.id);
          if (!pending) return;
          if (message.kind === "prepared") pending.resolve(fromMessage(message.request));
          else if (message.kind === "refused") pending.reject(ApiError.fromData(message.refusal));
          else pending.reject(new Error(`preparing the request failed: ${message.failure.message}`));
        }
      }
    });
    for (const [worker, role] of [[this.model, "model"], [this.prompt, "prompt"]] as const) {
      worker.on("error", (error) => this.stopped(`the ${role} worker failed: ${error.message}`));
      worker.on("exit", (code) => this.stopped(`the ${role} worker exited (code ${code})`));
    }
  }

  /** Starts both workers loading; `ready` says when they are done. */
  static start(options: WorkerModelHostOptions): WorkerModelHost {
    return new WorkerModelHost(options);
  }

  info(): ModelInfo | undefined {
    return this.failure ? undefined : this.loaded;
  }

  failureReason(): string | undefined {
    return this.failure?.message;
  }

  health(): HealthSnapshot | undefined {
    return this.latestHealth;
  }

  prepare(kind: EndpointKind, body: Uint8Array): Promise<PreparedRequest> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    // Stryker disable next-line UpdateOperator: equivalent (an id only has to differ from the other open ones' ids: counting down they do too)
    const id = this.nextPreparation++;
    return new Promise((resolve, reject) => {
      this.preparations.set(id, { resolve, reject });
      const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      this.prompt.postMessage({ kind: "prepare", id, endpoint: kind, body } satisfies ToPromptWorker, whole ? [body.buffer as ArrayBuffer] : []);
    });
  }

  generate(id: string, request: PreparedRequest, stream: GenerationStream): Promise<GenerationOutcome> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    return new Promise((resolve, reject) => {
      this.generations.set(id, { stream, resolve, reject });
      const promptIds = Int32Array.from(request.promptIds);
      // Stryker disable next-line ArrayDeclaration: equivalent (promptIds is a copy made for this message: transferring its buffer or copying it sends the same ids)
      this.model.postMessage({ kind: "generate", id, request: { ...request, promptIds } } satisfies ToModelWorker, [promptIds.buffer]);
      const cancel = () => this.model.postMessage({ kind: "cancel", id } satisfies ToModelWorker);
      if (stream.signal.aborted) cancel();
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent (a signal's abort() fires "abort" once at most)
      else stream.signal.addEventListener("abort", cancel, { once: true });
    });
  }

  cancelAll(): void {
    if (!this.failure && this.loaded) this.model.postMessage({ kind: "cancel-all" } satisfies ToModelWorker);
  }

  /** Lets the model worker finish (it is idle after cancelAll), then stops both workers; from the call on, requests
   *  are refused (503). While loading it stops them at once, and `ready` rejects. Every call waits for the same end. */
  close(): Promise<void> {
    this.closeCall ??= this.closeOnce();
    return this.closeCall;
  }

  private async closeOnce(): Promise<void> {
    // Not after a worker failed or the load failed: the workers are being stopped already.
    if (this.loaded && !this.closing) {
      this.closing = true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.closeTimeoutMs ?? 10_000);
        this.closed = () => {
          clearTimeout(timer);
          resolve();
        };
        this.model.postMessage({ kind: "close" } satisfies ToModelWorker);
      });
    }
    await this.terminate();
  }

  /** Stops both workers (once). A load not done yet fails; requests still open fail with a 503 (after close() they are
   *  those the model worker did not answer in time, or preparations the prompt worker had not finished). */
  private terminate(): Promise<unknown> {
    if (!this.terminated) {
      this.closing = true;
      this.failLoad(new ModelLoadError({ message: "the model host was closed before the model loaded" }));
      this.failOpen(this.refusal()!);
      this.terminated = Promise.all([this.model.terminate(), this.prompt.terminate()]);
    }
    return this.terminated;
  }

  private applyUpdate(update: Extract<FromModelWorker, { kind: "update" }>): void {
    this.latestHealth = update.health;
    for (const id of update.accepted) this.generations.get(id)?.stream.onAccepted?.();
    for (const [id, text] of update.texts) this.generations.get(id)?.stream.onText?.(text);
    for (const { id, outcome, refusal, failure } of update.finished) {
      const pending = this.generations.get(id);
      this.generations.delete(id);
      if (!pending) continue;
      if (outcome) pending.resolve(outcome);
      else if (refusal) pending.reject(ApiError.fromData(refusal));
      else pending.reject(new Error(failure?.message ?? "the request failed"));
    }
  }

  /** Why a request is refused: the worker's failure, or the host being closed; undefined while it serves. */
  private refusal(): ApiError | undefined {
    const reason = this.failure ? this.failure.message : this.closing ? "the model host is closed" : undefined;
    return reason === undefined ? undefined : new ApiError(503, `the model is not available: ${reason}`, null, "server_error", "model_unavailable");
  }

  /** Fails every request still open with `error`. */
  private failOpen(error: Error): void {
    for (const pending of this.generations.values()) pending.reject(error);
    for (const pending of this.preparations.values()) pending.reject(error);
    this.generations.clear();
    this.preparations.clear();
  }

  /** A worker stopped: before loading that fails the load; after, unless closing, it fails everything open. */
  private stopped(reason: string): void {
    if (this.closing || this.failure) return;
    if (!this.loaded) {
      this.failLoad(new ModelLoadError({ message: reason }));
      return;
    }
    this.failure = new Error(reason);
    this.failOpen(this.failure);
    void this.terminate();
    this.options.onFailure?.(this.failure);
  }
}
