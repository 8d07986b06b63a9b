// Where the real tiny models and texts of <repo>/../shared/models are, and which of them are missing, so quality
// benchmarks and tests can skip with a message that names the missing files.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const sharedModelsDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shared/models");

export interface SharedModelFiles {
  stories260kGguf: string;
  tinyStories656kDirectory: string;
  evaluationText: string;
}

/** The files the benchmarks use, inside a shared models directory laid out like ../shared/models. */
export function sharedModelFilesIn(directory: string): SharedModelFiles {
  return {
    stories260kGguf: path.join(directory, "stories260K-gguf/stories260K.gguf"),
    tinyStories656kDirectory: path.join(directory, "tinystories-656k-hf"),
    evaluationText: path.join(directory, "eval-text/tinystories_validation_head.txt"),
  };
}

export const sharedModelFiles = sharedModelFilesIn(sharedModelsDirectory);

/** The files of `files` that do not exist. */
export function missingFiles(files: readonly string[]): string[] {
  return files.filter((file) => !fs.existsSync(file));
}
