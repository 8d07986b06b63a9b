// Which errors are expected (a user can fix them: an option, a path, a file, a prompt) and so are printed as one
// message with an exit code instead of a stack trace. Anything else is a bug and keeps its stack.

import { CacheError } from "@infer-recipes/cache";
import { GenerationError, SamplingError } from "@infer-recipes/engine";
import { HubError } from "@infer-recipes/hub";
import { ImageError } from "@infer-recipes/image";
import { KernelError } from "@infer-recipes/kernel";
import { ModelFileError } from "@infer-recipes/models";
import { ModelLoadError, ServerListenError } from "@infer-recipes/server";
import { SentencePieceModelError } from "@infer-recipes/tokenizer";

import { UsageError } from "./generation-arguments.ts";
import { TokenizerNotFoundError } from "./load-text-model.ts";
import { VocabularyMismatchError } from "./vocabulary-match.ts";

/** An expected failure as the command line reports it. */
export interface Failure {
  /** The one line printed to stderr. */
  message: string;
  /** The process exit code: 2 for a usage mistake, 1 for a model, file or generation problem, 130 when cancelled. */
  exitCode: number;
}

/** The command-line option a listen failure is about: the port for "in use"/"permission denied", else the host. */
function listenOption(error: ServerListenError): string {
  return ["EADDRINUSE", "EACCES", "EPERM"].includes(error.code) ? `--port ${error.port}` : `--host ${error.host}`;
}

/**
 * How to report `error` if a user can fix it (a bad option, a missing or malformed file, a prompt past the context,
 * a cancelled run): one message and an exit code. Undefined for anything else, which is a bug and keeps its stack.
 *
 * @example
 * ```ts
 * import { describeFailure } from "@infer-recipes/cli";
 *
 * async function main(): Promise<void> {
 *   // ... load a model and generate ...
 * }
 *
 * main().catch((error: unknown) => {
 *   const failure = describeFailure(error);
 *   if (!failure) throw error;
 *   process.stderr.write(`${failure.message}\n`);
 *   process.exitCode = failure.exitCode;
 * });
 * ```
 */
export function describeFailure(error: unknown): Failure | undefined {
  if (error instanceof UsageError || error instanceof SamplingError) return { message: `error: ${error.message}`, exitCode: 2 };
  // Failures inside the server's model worker: the worker already described expected ones (serving-loader.ts).
  if (error instanceof ModelLoadError) {
    if (error.exitCode !== undefined) return { message: error.message, exitCode: error.exitCode };
    return { message: `error: loading the model failed: ${error.workerStack ?? error.message}`, exitCode: 1 };
  }
  if (error instanceof ServerListenError) return { message: `error: ${listenOption(error)}: cannot listen on ${error.host}:${error.port}: ${error.problem}`, exitCode: 2 };
  if (error instanceof HubError) return { message: error.message, exitCode: 1 };
  for (const expected of [ModelFileError, GenerationError, TokenizerNotFoundError, SentencePieceModelError, VocabularyMismatchError, CacheError, KernelError, ImageError]) {
    if (error instanceof expected) return { message: `error: ${error.message}`, exitCode: 1 };
  }
  if (error instanceof Error && error.name === "AbortError") return { message: "cancelled", exitCode: 130 };
  return undefined;
}
