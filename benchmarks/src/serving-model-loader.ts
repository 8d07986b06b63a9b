// The loader module (see @infer-recipes/server's serving-loader.ts) the serving benchmark starts its worker thread
// with: the same random-weight Llama-3.2-1B-shape model at Q8_0 the in-process rows use (the weights are seeded, so
// both are identical), on the native kernels inside the worker, with the scheduler settings of the run; its
// vocabulary is the peer benchmark's (the Llama 3 tokenizer when ../shared has it, else a synthetic one of the same
// size), which the server needs to turn tokens into streamed text.

import { createKernel } from "@infer-recipes/kernel";
import { LlamaModel, llama32Config, randomLlamaWeights, type GgufMetadataInput } from "@infer-recipes/models";
import { Scheduler } from "@infer-recipes/scheduler";
import type { LoadedPromptText, ServedModel } from "@infer-recipes/server";
import { tokenizerFromGgufMetadata } from "@infer-recipes/tokenizer";

import { peerVocabulary } from "./peer-vocabulary.ts";

export interface ServingModelOptions {
  contextLength: number;
  blockCount: number;
  blockSize: number;
  maxBatchSize: number;
  maxBatchTokens: number;
}

/** GGUF metadata as the tokenizer reads it (typed values unwrapped). */
function plainMetadata(metadata: Map<string, GgufMetadataInput>): Map<string, unknown> {
  return new Map([...metadata].map(([key, value]) => [key, typeof value === "object" && value !== null && "type" in value && "value" in value ? value.value : value]));
}

export function servingPromptText(vocabSize: number): LoadedPromptText {
  return { tokenizer: tokenizerFromGgufMetadata(plainMetadata(peerVocabulary(vocabSize).metadata)) };
}

/** The benchmark's model: Llama-3.2-1B shape, random Q8_0 weights, native kernels. */
export function servingModel(contextLength: number): LlamaModel {
  const kernel = createKernel({ backend: "native" });
  const config = llama32Config("1b", { contextLength });
  return LlamaModel.fromLoadedWeights(randomLlamaWeights(config, "q8_0", { packFor: kernel }), kernel);
}

/** A served model over `model` with the run's scheduler settings. */
export function servedBenchmarkModel(model: LlamaModel, text: LoadedPromptText, options: ServingModelOptions): ServedModel {
  const cache = model.createPagedCache({ blockCount: options.blockCount, blockSize: options.blockSize, prefixCaching: false });
  const scheduler = new Scheduler(model, cache, { maxBatchSize: options.maxBatchSize, maxBatchTokens: options.maxBatchTokens });
  return { id: "llama-3.2-1b-shape-q8_0", scheduler, tokenizer: text.tokenizer, stopTokenIds: [], defaultTemperature: 0 };
}

export function loadServedModel(options: ServingModelOptions): ServedModel {
  const model = servingModel(options.contextLength);
  return servedBenchmarkModel(model, servingPromptText(model.config.vocabSize), options);
}

export function loadPromptText(options: ServingModelOptions): LoadedPromptText {
  return servingPromptText(llama32Config("1b", { contextLength: options.contextLength }).vocabSize);
}
