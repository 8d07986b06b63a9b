// Locates the real tiny models of <repo>/../shared/models (relative to this package: ../../../shared/models) and
// reports which files are missing, so tests that need them skip with a clear message.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const packageDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const sharedModelsDirectory = path.resolve(packageDirectory, "../../../shared/models");

export const sharedModelFiles = {
  stories260kGguf: path.join(sharedModelsDirectory, "stories260K-gguf/stories260K.gguf"),
  stories260kLlama2c: path.join(sharedModelsDirectory, "stories260K-llama2c/stories260K.bin"),
  tinyStories656kDirectory: path.join(sharedModelsDirectory, "tinystories-656k-hf"),
  tinyStories656kWeights: path.join(sharedModelsDirectory, "tinystories-656k-hf/model.safetensors"),
  tinyStories656kConfig: path.join(sharedModelsDirectory, "tinystories-656k-hf/config.json"),
};

/** The given files that do not exist; warns once with their paths when any are missing. */
export function missingSharedFiles(files: readonly string[], suite: string): string[] {
  const missing = files.filter((file) => !fs.existsSync(file));
  if (missing.length > 0) {
    console.warn(`[${suite}] skipped: missing ${missing.join(", ")} (expected the shared tiny models in ${sharedModelsDirectory})`);
  }
  return missing;
}

/** The ChatGLM golden outputs (THUDM reference code, via chatglm.cpp's tests). */
export const chatGlmGoldenDirectory = path.join(sharedModelsDirectory, "chatglm-golden");
