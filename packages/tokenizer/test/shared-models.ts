// Test helper: locates the shared model/tokenizer data (<repo>/../shared/models) and reports clearly when
// something a test needs is missing, so those tests skip instead of failing.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const sharedModelsDirectory = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/models");

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
