// The published Llama 3.2 configurations (from their config.json files), for benchmarks and peer comparisons that
// build random-weight models of the exact shapes. `layers` shortens a model to fit a quick run.

import type { LlamaConfig } from "./llama-config.ts";

const llama3RopeScaling = { type: "llama3" as const, factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192 };

const common: Omit<LlamaConfig, "hiddenSize" | "layerCount" | "headCount" | "headDim" | "rotaryDim"> = {
  rmsNormEpsilon: 1e-5,
  ropeTheta: 500000,
  ropeScaling: llama3RopeScaling,
  ropeLayout: "half",
  contextLength: 131072,
  vocabSize: 128256,
  tiedEmbeddings: true,
  bosTokenId: 128000,
  eosTokenIds: [128001, 128008, 128009],
  keyValueHeadCount: 8,
  intermediateSize: 8192,
};

/** The configurations of Llama 3.2 1B and 3B, for benchmarks at the real shapes with random weights. */
export const llama32Presets: Record<"1b" | "3b", LlamaConfig> = {
  /** meta-llama/Llama-3.2-1B(-Instruct): 1.24 B parameters. */
  "1b": { ...common, hiddenSize: 2048, layerCount: 16, headCount: 32, headDim: 64, rotaryDim: 64 },
  /** meta-llama/Llama-3.2-3B(-Instruct): 3.21 B parameters. */
  "3b": { ...common, hiddenSize: 3072, layerCount: 28, headCount: 24, headDim: 128, rotaryDim: 128 },
};

/** "1b" or "3b". */
export type Llama32Size = keyof typeof llama32Presets;

/**
 * The configuration of Llama 3.2 `size`, optionally with fewer layers (a shorter model of the same layer shapes, for
 * benchmarks that must finish on the reference backend) or a shorter context.
 */
export function llama32Config(
  size: Llama32Size,
  options: {
    /** Keep only this many layers. */
    layers?: number;
    /** Context length in tokens (default the model's 131072). */
    contextLength?: number;
  } = {},
): LlamaConfig {
  const preset = llama32Presets[size];
  return {
    ...preset,
    ropeScaling: { ...llama3RopeScaling },
    eosTokenIds: [...preset.eosTokenIds],
    layerCount: options.layers ?? preset.layerCount,
    contextLength: options.contextLength ?? preset.contextLength,
  };
}
