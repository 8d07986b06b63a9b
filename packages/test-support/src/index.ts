/**
 * What the packages' tests share (a devDependency of each package, never a dependency of their sources):
 * {@link sharedModelsDirectory}, where the real tiny models and tokenizers of `../shared/models` are (or the folder
 * `INFER_SHARED_MODELS` names), so tests that need them find them — also inside a StrykerJS sandbox — and skip, naming
 * what is missing, when they are absent. The packages' vitest configs import `@infer-recipes/test-support/vitest`
 * (src/mutation-test-settings.js): the order of test files under mutation testing.
 *
 * @module @infer-recipes/test-support
 */
export { sharedModelsDirectory, sharedModelsDirectoryFor } from "./shared-models.ts";
