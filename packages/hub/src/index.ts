// Public entry point of @infer-recipes/hub: resolve a model from a path, the Hugging Face cache or the hub.

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
  type SearchedPlace,
} from "./errors.ts";
