// The published GLM configurations (from THUDM's config.json files), for benchmarks and peer comparisons that build
// random-weight models of the exact shapes. `layers` shortens a model to fit a quick run.

import type { LlamaConfig } from "./llama-config.ts";

/** The configurations of ChatGLM3-6B and GLM-4-9B-Chat, for benchmarks at the real shapes with random weights. */
export const glmPresets: Record<"chatglm3-6b" | "glm-4-9b-chat", LlamaConfig> = {
  /** THUDM/chatglm3-6b: 6.24 B parameters; 2 key/value groups of 128, RoPE on 64 of 128 dimensions, vocab 65024. */
  "chatglm3-6b": {
    architecture: "chatglm",
    attentionBias: true,
    hiddenSize: 4096,
    intermediateSize: 13696,
    layerCount: 28,
    headCount: 32,
    keyValueHeadCount: 2,
    headDim: 128,
    rotaryDim: 64,
    rmsNormEpsilon: 1e-5,
    ropeTheta: 10000,
    ropeLayout: "interleaved",
    contextLength: 8192,
    vocabSize: 65024,
    tiedEmbeddings: false,
    eosTokenIds: [2, 64795, 64797],
  },
  /** THUDM/glm-4-9b-chat: 9.4 B parameters; rope_ratio 500, vocab 151552. */
  "glm-4-9b-chat": {
    architecture: "chatglm",
    attentionBias: true,
    hiddenSize: 4096,
    intermediateSize: 13696,
    layerCount: 40,
    headCount: 32,
    keyValueHeadCount: 2,
    headDim: 128,
    rotaryDim: 64,
    rmsNormEpsilon: 1.5625e-7,
    ropeTheta: 5000000,
    ropeLayout: "interleaved",
    contextLength: 131072,
    vocabSize: 151552,
    tiedEmbeddings: false,
    eosTokenIds: [151329, 151336, 151338],
  },
};

/** "chatglm3-6b" or "glm-4-9b-chat". */
export type GlmPresetName = keyof typeof glmPresets;

/** A copy of a published GLM config, optionally with fewer layers or a shorter context. */
export function glmConfig(name: GlmPresetName, options: { layers?: number; contextLength?: number } = {}): LlamaConfig {
  const preset = glmPresets[name];
  return {
    ...preset,
    eosTokenIds: [...preset.eosTokenIds],
    layerCount: options.layers ?? preset.layerCount,
    contextLength: options.contextLength ?? preset.contextLength,
  };
}
