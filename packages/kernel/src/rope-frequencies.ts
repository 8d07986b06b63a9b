// Rotary-embedding inverse frequencies, optionally with Llama 3's long-context "llama3" rope_scaling.
// Computed in float64 and stored as float32; pass the result to Kernel.rope.

import { KernelError } from "./errors.ts";

/** Llama 3's `rope_scaling` (type "llama3"): low frequencies divided by `factor`, high ones kept, a ramp between. */
export interface Llama3RopeScaling {
  /** The scaling's name in config.json. */
  type: "llama3";
  /** Divisor for the low frequencies (rope_scaling.factor, e.g. 32 for Llama 3.2). */
  factor: number;
  /** rope_scaling.low_freq_factor (e.g. 1). */
  lowFrequencyFactor: number;
  /** rope_scaling.high_freq_factor (e.g. 4). */
  highFrequencyFactor: number;
  /** rope_scaling.original_max_position_embeddings (e.g. 8192). */
  originalMaxPositions: number;
}

/** What {@link ropeFrequencies} computes the inverse frequencies from. */
export interface RopeFrequencyOptions {
  /** Number of rotated dimensions of each head (usually headDim); even and > 0. */
  rotaryDim: number;
  /** Base of the frequencies (rope_theta, e.g. 10000 or 500000). */
  theta: number;
  /** Llama 3's long-context scaling (absent: plain RoPE). */
  scaling?: Llama3RopeScaling;
}

function requirePositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) throw new KernelError(`ropeFrequencies: ${name} must be a finite number > 0, got ${value}`);
}

function validate({ rotaryDim, theta, scaling }: RopeFrequencyOptions): void {
  if (!Number.isInteger(rotaryDim) || rotaryDim <= 0 || rotaryDim % 2 !== 0) {
    throw new KernelError(`ropeFrequencies: rotaryDim must be an even integer > 0, got ${rotaryDim}`);
  }
  requirePositive("theta", theta);
  if (scaling === undefined) return;
  if (scaling.type !== "llama3") throw new KernelError(`ropeFrequencies: unknown scaling type ${String(scaling.type)}`);
  requirePositive("scaling.factor", scaling.factor);
  requirePositive("scaling.lowFrequencyFactor", scaling.lowFrequencyFactor);
  requirePositive("scaling.highFrequencyFactor", scaling.highFrequencyFactor);
  requirePositive("scaling.originalMaxPositions", scaling.originalMaxPositions);
  if (scaling.highFrequencyFactor <= scaling.lowFrequencyFactor) {
    throw new KernelError(
      `ropeFrequencies: scaling.highFrequencyFactor (${scaling.highFrequencyFactor}) must exceed lowFrequencyFactor (${scaling.lowFrequencyFactor})`,
    );
  }
}

/** Hugging Face's llama3 adjustment of one inverse frequency (transformers' _compute_llama3_parameters). */
function llama3Scaled(frequency: number, scaling: Llama3RopeScaling): number {
  const { factor, lowFrequencyFactor, highFrequencyFactor, originalMaxPositions } = scaling;
  const wavelength = (2 * Math.PI) / frequency;
  const lowFrequencyWavelength = originalMaxPositions / lowFrequencyFactor;
  const highFrequencyWavelength = originalMaxPositions / highFrequencyFactor;
  if (wavelength < highFrequencyWavelength) return frequency; // high frequency: unchanged
  if (wavelength > lowFrequencyWavelength) return frequency / factor; // low frequency: slowed down by factor
  const smooth = (originalMaxPositions / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor);
  return ((1 - smooth) * frequency) / factor + smooth * frequency; // in between: interpolated
}

/** inverse frequency i = 1 / theta^(2i / rotaryDim), i < rotaryDim / 2, with the optional llama3 scaling. */
export function ropeFrequencies(options: RopeFrequencyOptions): Float32Array {
  validate(options);
  const { rotaryDim, theta, scaling } = options;
  const frequencies = new Float32Array(rotaryDim / 2); // [rotaryDim / 2]
  for (let index = 0; index < rotaryDim / 2; index++) {
    const frequency = 1 / Math.pow(theta, (2 * index) / rotaryDim);
    frequencies[index] = scaling ? llama3Scaled(frequency, scaling) : frequency;
  }
  return frequencies;
}
