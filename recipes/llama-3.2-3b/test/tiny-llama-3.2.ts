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

/** Writes the model into `directory`; returns the folder (safetensors) and the .gguf path. */
export function writeTinyLlama32(directory: string, seed = 3): { hfDirectory: string; ggufFile: string } {
  const tensors = randomLlamaTensors(tinyLlama32Config, seed);
  writeHfModel(directory, tinyLlama32Config, tensors);
  writeTinyHfTokenizer(directory, tinyLlama32Config.vocabSize);
  const ggufFile = path.join(directory, "tiny-llama-3.2.gguf");
  writeGgufModel(ggufFile, tinyLlama32Config, tensors, tinyGgufTokenizerMetadata(tinyLlama32Config.vocabSize));
  return { hfDirectory: directory, ggufFile };
}
