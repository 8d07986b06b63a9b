// A loader module (serving-loader.ts) for the worker tests: serves a tiny random Llama GGUF that the test wrote, on
// the reference kernel, optionally slowed down (each model step busy-waits, for wall time and CPU time) so a client can act while requests run,
// or made to stop its worker thread after some steps or while loading, or to fail loading the way a bad file does (the
// prompt worker too, once the model worker has loaded).

import { readFileSync } from "node:fs";

import type { PagedKvCache } from "@infer-recipes/cache";
import { Kernel, createReferenceBackend } from "@infer-recipes/kernel";
import { LlamaModel, ModelFileError, loadModelWeights, readGguf } from "@infer-recipes/models";
import { Scheduler, type BatchEntry, type BatchLanguageModel } from "@infer-recipes/scheduler";
import { chatTemplateFromGgufMetadata, compileChatTemplate, tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";

import type { LoadedPromptText, LoadFailure, ServedModel } from "../src/index.ts";

export interface TinyLoadOptions {
  /** The GGUF file to serve. */
  file: string;
  /** Busy-wait this long in every model step. */
  stepMilliseconds?: number;
  /** And until the thread has used this much CPU time in the step (Linux; on a loaded machine wall time is not CPU). */
  stepCpuMilliseconds?: number;
  /** End the worker thread (exit code 3) at this model step. */
  exitAtStep?: number;
  /** Fail loading the model: as a bad file does (a ModelFileError, which describeFailure knows) or as a bug. */
  failLoading?: "expected" | "bug";
  /** End the model worker thread (exit code 3) while it loads. */
  exitWhileLoading?: boolean;
  /** Fail loading the tokenizer (a ModelFileError), once the model worker has loaded: the model worker sets this
   *  flag (an Int32Array on a SharedArrayBuffer, which both workers share) to 1 then. */
  failPromptLoadingAfterModel?: Int32Array;
  blockCount?: number;
}

/** CPU time this thread has run, in milliseconds (Linux scheduler counters); NaN elsewhere (then never waited for). */
function threadCpuMilliseconds(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "latin1").split(" ")[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

class SlowModel implements BatchLanguageModel {
  private steps = 0;
  constructor(
    private readonly inner: LlamaModel,
    private readonly options: TinyLoadOptions,
  ) {}
  get config() {
    return this.inner.config;
  }
  forwardBatch(batch: readonly BatchEntry[], cache: PagedKvCache) {
    if (++this.steps === this.options.exitAtStep) process.exit(3);
    const until = performance.now() + (this.options.stepMilliseconds ?? 0);
    const cpuUntil = threadCpuMilliseconds() + (this.options.stepCpuMilliseconds ?? 0);
    while (performance.now() < until || threadCpuMilliseconds() < cpuUntil) {
      // a step of a bigger model
    }
    return this.inner.forwardBatch(batch, cache);
  }
}

function promptText(file: string): LoadedPromptText {
  const metadata = readGguf(file).metadata;
  const source = chatTemplateFromGgufMetadata(metadata);
  return { tokenizer: tokenizerFromGgufMetadata(metadata), chatTemplate: source ? compileChatTemplate(source) : undefined };
}

export function loadServedModel(options: TinyLoadOptions): ServedModel {
  if (options.failLoading === "expected") throw new ModelFileError({ file: options.file }, "bad magic: this is a test");
  if (options.failLoading === "bug") throw new TypeError("a bug while loading");
  if (options.exitWhileLoading) process.exit(3);
  const loaded = loadModelWeights(options.file);
  const model = LlamaModel.fromLoadedWeights(loaded, new Kernel(createReferenceBackend()));
  const scheduler = new Scheduler(new SlowModel(model, options), model.createPagedCache({ blockCount: options.blockCount ?? 64, blockSize: 4 }));
  const { tokenizer, chatTemplate } = promptText(options.file);
  if (options.failPromptLoadingAfterModel) {
    Atomics.store(options.failPromptLoadingAfterModel, 0, 1);
    Atomics.notify(options.failPromptLoadingAfterModel, 0);
  }
  return { id: "tiny-llama", scheduler, tokenizer, chatTemplate, stopTokenIds: loaded.config.eosTokenIds, defaultTemperature: 0.7, summary: "tiny model in a worker" };
}

export async function loadPromptText(options: TinyLoadOptions): Promise<LoadedPromptText> {
  if (options.failPromptLoadingAfterModel) {
    while (Atomics.load(options.failPromptLoadingAfterModel, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Give the model worker's "ready" time to arrive first.
    await new Promise((resolve) => setTimeout(resolve, 50));
    throw new ModelFileError({ file: options.file }, "no tokenizer: this is a test");
  }
  return promptText(options.file);
}

export function describeFailure(error: unknown): LoadFailure | undefined {
  return error instanceof ModelFileError ? { message: `error: ${error.message}`, exitCode: 1 } : undefined;
}
