/**
 * Finding model weights the way the Hugging Face tools do: {@link resolveModel} takes a local path, a hub repository id
 * (`org/name`, `org/name:Q8_0`, `org/name:file.gguf`) or a cached snapshot, looks in the local Hugging Face cache, and
 * otherwise downloads the files (resumable, with progress, `HF_TOKEN` for gated repositories). When nothing is found
 * offline, its error lists every place it looked and how to get the files.
 *
 * @module @infer-recipes/hub
 */
export { resolveModel, type DownloadBehaviour, type ResolveModelOptions } from "./resolve-model.ts";
export { downloadFile, type DownloadFileOptions } from "./download-file.ts";
export type { ModelFormat, ModelSource, ResolvedModel } from "./resolved-model.ts";
export {
  formatModelSpecifier,
  isRepositoryId,
  parseModelSpecifier,
  type ModelSpecifier,
  type PathSpecifier,
  type RepositorySpecifier,
} from "./model-specifier.ts";
export { defaultEndpoint, hubSettings, type Environment, type HubSettings, type HubSettingsOptions } from "./hub-settings.ts";
export { repositoryCachePath } from "./hub-cache-layout.ts";
export {
  createProgressPrinter,
  formatBytes,
  formatDuration,
  silentProgress,
  type DownloadProgress,
  type ProgressListener,
  type ProgressPrinterOptions,
} from "./progress-printer.ts";
export {
  DownloadError,
  GatedRepositoryError,
  HubError,
  InvalidModelSpecifierError,
  ModelNotFoundError,
  RepositoryFileNotFoundError,
  RepositoryNotFoundError,
  type ModelNotFoundDetails,
  type SearchedPlace,
} from "./errors.ts";
