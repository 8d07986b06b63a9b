// Test helper: locates the shared model/tokenizer data (<repo>/../shared/models, or INFER_SHARED_MODELS;
// @infer-recipes/test-support) and reports clearly when something a test needs is missing, so those tests skip.

import { existsSync } from "node:fs";
import { join } from "node:path";

import { sharedModelsDirectory } from "@infer-recipes/test-support";

export { sharedModelsDirectory };

export function sharedModelPath(...parts: string[]): string {
  return join(sharedModelsDirectory, ...parts);
}

/** True when every listed path (relative to shared/models) exists; otherwise warns naming what is missing. */
export function sharedModelsPresent(suite: string, ...relativePaths: string[]): boolean {
  const missing = relativePaths.filter((path) => !existsSync(sharedModelPath(path)));
  if (missing.length > 0) {
    console.warn(
      `[tokenizer tests] skipping "${suite}": missing ${missing.map((path) => sharedModelPath(path)).join(", ")}`,
    );
    return false;
  }
  return true;
}
