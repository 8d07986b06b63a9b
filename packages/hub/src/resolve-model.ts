// The entry point: find a model's files the way users hold them. In order: an explicit path; the local Hugging
// Face cache; a download from the hub into that cache. When all fail, the error lists every place searched and how
// to get the weights.

import { resolve } from "node:path";
import { findCachedModel } from "./cached-model.ts";
import { ModelNotFoundError, type SearchedPlace } from "./errors.ts";
import { explainHubFailure, offlineFailure, type FailureContext } from "./failure-explanations.ts";
import { downloadModel, type HubDownloadOptions } from "./hub-download.ts";
import { expandHome, hubSettings, type HubSettings, type HubSettingsOptions } from "./hub-settings.ts";
import { resolveLocalPath } from "./local-model.ts";
import { formatModelSpecifier, isPathSpecifier, parseModelSpecifier, type ModelSpecifier } from "./model-specifier.ts";
import { createProgressPrinter, silentProgress, type ProgressListener } from "./progress-printer.ts";
import type { ResolvedModel } from "./resolved-model.ts";

/** How downloads behave: cancellation, progress, retries and checksums. */
export interface DownloadBehaviour {
  /** Aborting stops the download (the partial file is kept for resuming). */
  signal?: AbortSignal;
  /** Progress listener; default: a progress bar (or periodic lines) on stderr; `false`: none. */
  progress?: ProgressListener | false;
  /** Further attempts, resuming where the last stopped, after a dropped or stalled connection; default 3. */
  retries?: number;
  /** Wait before the first retry, doubling each time; default 1000 ms. */
  retryDelayMs?: number;
  /** Check the SHA-256 of files the hub names by it (LFS files); default true. */
  verifyChecksums?: boolean;
}

/** {@link resolveModel}'s options: hub settings, download behaviour, and which files to pick. */
export interface ResolveModelOptions extends HubSettingsOptions, DownloadBehaviour {
  /** File pattern when the specifier has none (exact name, glob, or quantization tag such as Q4_K_M). */
  file?: string;
  /** Revision when the specifier has none; default `main`. */
  revision?: string;
  /** Further repository files (names or globs) the caller needs beside the model, e.g. `tokenizer.bin`. */
  additionalFiles?: string[];
}

/**
 * Finds a model given a path or a repository id (see model-specifier.ts for the string syntax), downloading it into
 * the Hugging Face cache when it is neither at a path nor cached. Throws `ModelNotFoundError` (or a subclass) when it
 * cannot be found, `DownloadError` when a download fails part-way, and the signal's reason when aborted.
 *
 * @example
 * ```ts
 * import { resolveModel } from "@infer-recipes/hub";
 *
 * const model = await resolveModel("bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M");
 * console.log(model.format, model.source, model.path); // gguf cache /home/me/.cache/huggingface/hub/models--.../snapshots/<commit>/...
 * ```
 */
export async function resolveModel(specifier: string | ModelSpecifier, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const environment = options.environment ?? process.env;
  const settings = hubSettings(options);
  const parsed = typeof specifier === "string" ? parseModelSpecifier(specifier, environment) : specifier;
  const file = parsed.file ?? options.file;
  const additionalPatterns = options.additionalFiles ?? [];
  const label = formatModelSpecifier({ ...parsed, file });

  if (isPathSpecifier(parsed)) {
    const local = await resolveLocalPath(parsed.path, file, additionalPatterns, environment);
    if ("model" in local) return local.model;
    const candidates = local.candidates.length > 0 ? [`choose one of: ${local.candidates.join(", ")} (add :<file> or the file option)`] : [];
    throw new ModelNotFoundError({
      specifier: label,
      summary: `No usable model at ${parsed.path}.`,
      searched: [{ place: `local path ${expandHome(parsed.path, environment)}`, outcome: local.outcome }],
      hints: [
        ...candidates,
        "pass a directory with config.json and model.safetensors (or model.safetensors.index.json and its shards), a .gguf file, or a llama2.c .bin file",
        "or a Hugging Face repository id such as org/name or org/name:Q4_K_M to use the cache or download",
      ],
    });
  }

  const revision = parsed.revision ?? options.revision ?? "main";
  const searched: SearchedPlace[] = [];
  if (typeof specifier === "string") searched.push({ place: `local path ${resolve(specifier)}`, outcome: "does not exist" });
  const cached = await findCachedModel({ cacheDirectory: settings.cacheDirectory, repo: parsed.repo, revision, pattern: file, additionalPatterns });
  if ("model" in cached) return cached.model;
  searched.push({ place: `Hugging Face cache ${cached.place} (${describeCacheSource(settings)})`, outcome: cached.outcome });

  const context: FailureContext = { specifier: label, repo: parsed.repo, revision, file, settings, searched };
  if (settings.offline) throw offlineFailure(context);
  try {
    return await downloadModel(
      { repo: parsed.repo, revision, pattern: file, additionalPatterns },
      downloadOptions(settings, options),
    );
  } catch (error) {
    throw explainHubFailure(error, context);
  }
}

/** Download settings with their defaults filled in. */
export function downloadOptions(settings: HubSettings, behaviour: DownloadBehaviour): HubDownloadOptions {
  return {
    settings,
    signal: behaviour.signal,
    onProgress: behaviour.progress === false ? silentProgress : (behaviour.progress ?? createProgressPrinter()),
    retries: behaviour.retries ?? 3,
    retryDelayMs: behaviour.retryDelayMs ?? 1000,
    verifyChecksums: behaviour.verifyChecksums ?? true,
  };
}

function describeCacheSource(settings: HubSettings): string {
  switch (settings.cacheDirectorySource) {
    case "HF_HUB_CACHE":
      return "from HF_HUB_CACHE";
    case "$HF_HOME/hub":
      return "from HF_HOME";
    case "option":
      return "from the cacheDirectory option";
    default:
      return "the default; set HF_HUB_CACHE or HF_HOME to use another";
  }
}
