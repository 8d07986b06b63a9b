// Where the real tiny models and tokenizers live: the `shared/models` folder beside the repository
// (<repository>/../shared/models), or the folder named by INFER_SHARED_MODELS. Tests that need them skip, naming the
// missing files, when they are absent (a fresh clone has no ../shared).
//
// The path is taken from this file's real location, so it also holds for tests running in a copy of a package (a
// StrykerJS sandbox under node_modules/.stryker-tmp links node_modules back here); scripts/mutate.mjs sets the
// variable as well.

import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root: this file is <root>/packages/test-support/src/shared-models.ts. */
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The shared models folder for an environment: INFER_SHARED_MODELS (relative to the working directory) or the default. */
export function sharedModelsDirectoryFor(environment: NodeJS.ProcessEnv): string {
  const chosen = environment.INFER_SHARED_MODELS;
  return chosen !== undefined && chosen !== "" ? path.resolve(chosen) : path.resolve(repositoryRoot, "../shared/models");
}

/** The shared models folder of this process: INFER_SHARED_MODELS, or `shared/models` beside the repository. */
export const sharedModelsDirectory = sharedModelsDirectoryFor(process.env);
