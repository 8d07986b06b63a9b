// The contract between the server's worker threads and the code that knows how to load a model. A loader module
// (named by its file URL, so any package can provide one) exports these functions; the workers import it and call
// them with the load options exactly as the caller gave them — plain data (structured-cloneable: strings, numbers,
// booleans, arrays, plain objects), so options that other code adds later (a KV-cache type, another architecture's
// settings) reach the loader without the server knowing them. `@infer-recipes/cli`'s serving-loader.ts is the one
// `--serve` uses; benchmarks and tests provide their own.

import type { ChatTemplate, TextTokenizer } from "@infer-recipes/tokenizer";

import type { ImagePromptPreparer } from "./image-input.ts";
import type { ServedModel } from "./served-model.ts";

/** The text side of a model: what the prompt worker needs to turn requests into token ids. */
export interface LoadedPromptText {
  /** Turns the requests' prompts into token ids. */
  tokenizer: TextTokenizer;
  /** Renders chat messages into a prompt; absent for a model without one (chat requests are then refused). */
  chatTemplate?: ChatTemplate;
  /** How a vision-language model lays images out in prompts (image_url parts); absent for text models. */
  images?: ImagePromptPreparer;
}

/** How a loader describes a failure a user can fix (a bad file or option): one line and an exit code. */
export interface LoadFailure {
  /** One line naming the file or option and what was expected. */
  message: string;
  /** The exit code the server process ends with. */
  exitCode: number;
}

/**
 * What a loader module exports for {@link WorkerModelHost}: how to load the model in the model worker and the
 * tokenizer in the prompt worker, from the same plain-data `LoadOptions`.
 */
export interface ServingLoader<LoadOptions = unknown> {
  /** Loads the model and builds what serves it (a scheduler over a paged KV cache, tokenizer, chat template, stop
   *  tokens). Runs in the model worker, which owns the model and its kernel threads from then on. */
  loadServedModel(options: LoadOptions): Promise<ServedModel> | ServedModel;
  /** Loads only the tokenizer and chat template (no weights). Runs in the prompt worker, beside the model's load. */
  loadPromptText(options: LoadOptions): Promise<LoadedPromptText> | LoadedPromptText;
  /** The one-line message for an expected failure; undefined for a bug (its stack is kept). */
  describeFailure?(error: unknown): LoadFailure | undefined;
}
