// Names the real tiny models of <repo>/../shared/models (or INFER_SHARED_MODELS; @infer-recipes/test-support) and
// reports which files are missing, so tests that need them skip with a clear message.

import fs from "node:fs";
import path from "node:path";

import { sharedModelsDirectory } from "@infer-recipes/test-support";

export { sharedModelsDirectory };

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
