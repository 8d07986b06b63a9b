// A tiny model of the exact Llama 3.2 architecture (GQA, head dim 16, rope_theta 500000, llama3 rope scaling, tied
// embeddings) with random weights, written as a Hugging Face folder (config.json, safetensors, tokenizer.json) and
// as a GGUF file with an embedded tokenizer: what the recipe's end-to-end tests run.

import path from "node:path";

import {
  randomLlamaTensors,
  tinyGgufTokenizerMetadata,
  tinyLlamaConfig,
  writeGgufModel,
  writeHfModel,
  writeTinyHfTokenizer,
  type LlamaConfig,
} from "@infer-recipes/models";

export const tinyLlama32Config: LlamaConfig = tinyLlamaConfig({
  hiddenSize: 64,
  intermediateSize: 192,
  layerCount: 2,
  headCount: 4,
  keyValueHeadCount: 2,
  headDim: 16,
  rotaryDim: 16,
  vocabSize: 352,
  contextLength: 256,
  ropeTheta: 500000,
  rmsNormEpsilon: 1e-5,
  tiedEmbeddings: true,
  ropeScaling: { type: "llama3", factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64 },
  bosTokenId: 1,
  eosTokenIds: [2],
});

/**
 * Writes the model into `directory`; returns the folder (safetensors) and the .gguf path. `contextLength` overrides
 * the 256-token context (the weights do not depend on it).
 */
export function writeTinyLlama32(directory: string, seed = 3, contextLength = tinyLlama32Config.contextLength): { hfDirectory: string; ggufFile: string } {
  const config: LlamaConfig = { ...tinyLlama32Config, contextLength };
  const tensors = randomLlamaTensors(config, seed);
  writeHfModel(directory, config, tensors);
  writeTinyHfTokenizer(directory, config.vocabSize);
  const ggufFile = path.join(directory, "tiny-llama-3.2.gguf");
  writeGgufModel(ggufFile, config, tensors, tinyGgufTokenizerMetadata(config.vocabSize));
  return { hfDirectory: directory, ggufFile };
}
