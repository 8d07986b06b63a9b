// What the packages' tests share (a devDependency of each package, never of their sources). Their vitest configs
// import "@infer-recipes/test-support/vitest" (src/mutation-test-settings.js).
export { sharedModelsDirectory, sharedModelsDirectoryFor } from "./shared-models.ts";
