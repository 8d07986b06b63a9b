// Tiny models of the exact ChatGLM3 architecture (q/k/v bias, 2 multi-query groups, RoPE on half of each head, fused
// query_key_value / dense_h_to_4h, untied output) with random weights, as the recipe's end-to-end tests run them:
// with ChatGLM3's real tokenizer.model (from ../shared/models, copied into the temporary folder) as THUDM's
// checkpoint in safetensors and in PyTorch .bin; and, needing no shared files, as a GGUF with a small ChatGLM-style
// vocabulary of the same special tokens.

import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  randomGlmTensors,
  tinyChatGlmGgufTokenizerMetadata,
  tinyGlmConfig,
  writeGlmGgufModel,
  writeGlmHfModel,
  type LlamaConfig,
} from "@infer-recipes/models";

export const sharedModels = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../shared/models");
export const chatGlm3TokenizerModel = path.join(sharedModels, "chatglm3-tokenizer/tokenizer.model");

const shape = { hiddenSize: 64, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 8, intermediateSize: 96, layerCount: 2, contextLength: 512 };

/** With ChatGLM3's vocabulary padded to 65024 rows, as ChatGLM3-6B's embedding is. */
export const tinyChatGlm3Config: LlamaConfig = tinyGlmConfig({ ...shape, vocabSize: 65024, eosTokenIds: [2] });
/** With the small synthetic vocabulary. */
export const tinySyntheticGlmConfig: LlamaConfig = tinyGlmConfig({ ...shape, vocabSize: 352, eosTokenIds: [2] });

export interface TinyChatGlmFiles {
  /** THUDM layout with the real tokenizer.model, safetensors (undefined without ../shared/models). */
  safetensorsDirectory?: string;
  /** The same weights as pytorch_model.bin. */
  pytorchDirectory?: string;
  /** A chatglm GGUF with the small ChatGLM-style vocabulary (always written). */
  syntheticGguf: string;
}

/** Writes the tiny models under `directory`. */
export function writeTinyChatGlm(directory: string, seed = 3): TinyChatGlmFiles {
  const syntheticGguf = path.join(directory, "tiny-chatglm-synthetic.gguf");
  writeGlmGgufModel(syntheticGguf, tinySyntheticGlmConfig, randomGlmTensors(tinySyntheticGlmConfig, seed), tinyChatGlmGgufTokenizerMetadata(tinySyntheticGlmConfig.vocabSize));
  if (!existsSync(chatGlm3TokenizerModel)) return { syntheticGguf };
  const tensors = randomGlmTensors(tinyChatGlm3Config, seed);
  const folders = { safetensorsDirectory: path.join(directory, "safetensors"), pytorchDirectory: path.join(directory, "pytorch") };
  for (const [format, folder] of [["safetensors", folders.safetensorsDirectory], ["pytorch", folders.pytorchDirectory]] as const) {
    mkdirSync(folder, { recursive: true });
    writeGlmHfModel(folder, tinyChatGlm3Config, tensors, { format });
    copyFileSync(chatGlm3TokenizerModel, path.join(folder, "tokenizer.model"));
  }
  return { ...folders, syntheticGguf };
}
