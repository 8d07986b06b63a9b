// Reads the ChatGLM golden files (chatglm-golden/glm{2,3,4}_model.data beside the repository's shared models: tiny
// one-layer GLM2/GLM3/GLM4 models with random weights and the outputs of THUDM's reference modeling_chatglm.py, from
// chatglm.cpp's tests) into GLM-named tensors, the model's config and the three steps to reproduce: a 3-token prefill,
// then two single-token decode steps over the cache. Raw little-endian arrays, no header:
//   f32 word_embeddings[5,32] · input_layernorm[32] · query_key_value.weight[48,32] (q 32 | k 8 | v 8) · bias[48] ·
//   dense[32,32] · post_attention_layernorm[32] · dense_h_to_4h[96,32] (gate 48 | up 48) · dense_4h_to_h[32,48] ·
//   final_layernorm[32] · then i32 x1[3] f32 y1[3,32] · i32 x2[1] f32 y2[32] · i32 x3[1] f32 y3[32].
// Hidden 32, 8 heads in 2 multi-query groups of head size 4 (RoPE on 2 of 4), ffn 48; RMSNorm epsilon 1e-5 (GLM2/3)
// or 1.5625e-7 (GLM4).
//
// The golden outputs are final RMS-normed hidden states [32], not logits. The model built here has an identity output
// layer (vocab padded from 5 to 32 rows, only the first 5 embedding rows used), so its "logits" are exactly those
// hidden states and the ordinary forward pass can be compared with them.

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";

import type { LlamaModel } from "../architectures/llama.ts";
import { glmLayerTensorNames, glmTensorNames } from "../glm-tensors.ts";
import type { LlamaConfig } from "../llama-config.ts";
import { tinyGlmConfig } from "./tiny-glm.ts";

/** Which golden file: the tiny ChatGLM2, ChatGLM3 or GLM-4 model (each has its own random weights; glm4 also its RMSNorm epsilon). */
export type ChatGlmGoldenModel = "glm2" | "glm3" | "glm4";
/** Every golden model, in order. */
export const chatGlmGoldenModels: readonly ChatGlmGoldenModel[] = ["glm2", "glm3", "glm4"];

/** The golden file of `model` in a chatglm-golden directory. */
export function chatGlmGoldenFile(directory: string, model: ChatGlmGoldenModel): string {
  return path.join(directory, `${model}_model.data`);
}

/** One forward step of a golden file: the tokens fed and the reference outputs they must give. */
export interface ChatGlmGoldenStep {
  /** Token ids of the step (positions continue from the previous steps). */
  tokens: Int32Array;
  /** Expected hidden states [tokens, 32]. */
  expected: Float32Array;
}

/** A parsed golden file: a tiny GLM model and the steps THUDM's reference ran on it. */
export interface ChatGlmGolden {
  /** The model's config: hidden 32, 8 heads in 2 groups of size 4, RoPE on 2 of 4, ffn 48, one layer, vocab 32 (padded). */
  config: LlamaConfig;
  /** GLM-named tensors as THUDM's checkpoint would hold them (output layer: identity). */
  tensors: Map<string, Tensor>;
  /** A 3-token prefill, then two single-token decode steps over the same cache. */
  steps: ChatGlmGoldenStep[];
}

const hidden = 32;
const vocab = 5;

/** Parses the golden file of `model` (glm4 uses GLM-4's RMSNorm epsilon). */
export function readChatGlmGolden(file: string, model: ChatGlmGoldenModel): ChatGlmGolden {
  const bytes = fs.readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  const floats = (count: number) => {
    const values = new Float32Array(count);
    for (let index = 0; index < count; index++) values[index] = view.getFloat32(offset + 4 * index, true);
    offset += 4 * count;
    return values;
  };
  const ints = (count: number) => {
    const values = new Int32Array(count);
    for (let index = 0; index < count; index++) values[index] = view.getInt32(offset + 4 * index, true);
    offset += 4 * count;
    return values;
  };
  const config = tinyGlmConfig({
    hiddenSize: hidden, headCount: 8, keyValueHeadCount: 2, headDim: 4, rotaryDim: 2, intermediateSize: 48, layerCount: 1,
    vocabSize: hidden, contextLength: 16, rmsNormEpsilon: model === "glm4" ? 1.5625e-7 : 1e-5, eosTokenIds: [],
  });
  const names = glmLayerTensorNames(0);
  const embedding = new Float32Array(hidden * hidden); // [32 (padded vocab), hidden]
  embedding.set(floats(vocab * hidden));
  const tensors = new Map<string, Tensor>([[glmTensorNames.tokenEmbedding, Tensor.fromFloat32([hidden, hidden], embedding)]]);
  tensors.set(names.attentionNorm, Tensor.fromFloat32([hidden], floats(hidden)));
  tensors.set(names.queryKeyValue, Tensor.fromFloat32([48, hidden], floats(48 * hidden)));
  tensors.set(names.queryKeyValueBias, Tensor.fromFloat32([48], floats(48)));
  tensors.set(names.attentionOutput, Tensor.fromFloat32([hidden, hidden], floats(hidden * hidden)));
  tensors.set(names.feedForwardNorm, Tensor.fromFloat32([hidden], floats(hidden)));
  tensors.set(names.gateUp, Tensor.fromFloat32([96, hidden], floats(96 * hidden)));
  tensors.set(names.down, Tensor.fromFloat32([hidden, 48], floats(hidden * 48)));
  tensors.set(glmTensorNames.finalNorm, Tensor.fromFloat32([hidden], floats(hidden)));
  const identity = new Float32Array(hidden * hidden); // [32, hidden]
  for (let index = 0; index < hidden; index++) identity[index * hidden + index] = 1;
  tensors.set(glmTensorNames.output, Tensor.fromFloat32([hidden, hidden], identity));
  const steps: ChatGlmGoldenStep[] = [];
  for (const count of [3, 1, 1]) {
    const tokens = ints(count);
    steps.push({ tokens, expected: floats(count * hidden) });
  }
  if (offset !== bytes.length) throw new Error(`${file}: ${bytes.length} bytes, but the golden layout holds ${offset}: not a ChatGLM golden file`);
  return { config, tensors, steps };
}

/** Largest |a[i] − b[i]| (Infinity when the lengths differ). */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let largest = 0;
  for (let index = 0; index < a.length; index++) largest = Math.max(largest, Math.abs(a[index] - b[index]));
  return largest;
}

/** Largest difference from the golden hidden states, per step (prefill, decode, decode). */
export interface ChatGlmGoldenDifferences {
  /** LlamaModel.forward over a dense cache: the prefill in one pass (every row compared), then one token per step. */
  dense: number[];
  /** LlamaModel.forwardBatch over a paged cache: the prefill as one batch of three sequences holding its 1-, 2- and
   *  3-token prefixes (each compared on its last row), then the decode steps on the full one. */
  paged: number[];
}

/** Runs the golden steps through `model` (built from the golden tensors) on both cache paths. */
export function chatGlmGoldenDifferences(model: LlamaModel, golden: ChatGlmGolden): ChatGlmGoldenDifferences {
  const width = golden.config.hiddenSize;
  const cache = model.createCache(16);
  const dense = golden.steps.map((step, index) => {
    const logits = model.forward(step.tokens, cache, { allLogits: index === 0 }).data as Float32Array;
    return maxAbsDifference(logits, step.expected);
  });

  const paged = model.createPagedCache({ blockCount: 8, blockSize: 2 });
  const [prefill, ...decodes] = golden.steps;
  const prefixes = [1, 2, 3].map((length) => ({ tokens: prefill.tokens.subarray(0, length), sequence: paged.createSequence() }));
  for (const entry of prefixes) paged.reserve(entry.sequence, entry.tokens.length);
  const prefillLogits = model.forwardBatch(prefixes, paged);
  const prefillDifference = Math.max(
    ...prefillLogits.map((logits, row) => maxAbsDifference(logits!, prefill.expected.subarray(row * width, (row + 1) * width))),
  );
  const full = prefixes[2].sequence;
  const decodeDifferences = decodes.map((step) => {
    paged.reserve(full, step.tokens.length);
    const [logits] = model.forwardBatch([{ tokens: step.tokens, sequence: full }], paged);
    return maxAbsDifference(logits!, step.expected);
  });
  return { dense, paged: [prefillDifference, ...decodeDifferences] };
}
