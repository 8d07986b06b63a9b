// Random-weight GGUF files of exact Llama 3.2 (and ChatGLM3-6B, llama.cpp's chatglm architecture) shapes for the
// side-by-side comparison with llama.cpp. This project's GGUF writer and quantizer (kernel.quantize) write F16, BF16,
// Q8_0, Q4_0 and Q4_K_M files, each tensor in the type llama-quantize would give it (packages/models
// quantization-plan.ts: Q4_0 files keep the output matrix — the tied token_embd/output for Llama 3.2 — in Q6_K, as
// BASELINES.md's llama.cpp files did; Q4_K_M mixes Q4_K and Q6_K). Given a llama.cpp build, the Q4_K_M file is instead
// made by its llama-quantize from the F16 file (the way users' Q4_K_M files are made); the file name and `madeBy` say
// which. Values are uniform with the standard deviation 0.02 of the N(0, 0.02) initialisation (speed does not depend
// on the values); norms are 1. Files are cached (benchmarks/.cache/peers/) and reused; a file only appears under its
// final name once complete. The tiny case is not written but read: stories260K's real F32 GGUF from ../shared/models
// (tinyPeerModelFile; skipped with the reason when that folder or the file is absent), its sha256 checked against the
// published file's.

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { spawnSync } from "node:child_process";

import { Tensor, createKernel, rowBytes, type DType, type Kernel } from "@infer-recipes/kernel";
import {
  expectedGlmTensorShapes,
  expectedLlamaTensorShapes,
  ggufToLlamaConfig,
  glmToGgufTensorName,
  hfToGgufTensorName,
  llamaTensorNames,
  llama3RopeFactors,
  llamaGgufMetadata,
  plannedTensorDType,
  readGguf,
  writeGguf,
  type GgufMetadataInput,
  type GgufTensorSource,
  type LlamaConfig,
} from "@infer-recipes/models";

import { peerShapeConfig, peerShapeFileStem, type RandomPeerShape } from "./peer-shapes.ts";
import { sharedModelFiles } from "./shared-models.ts";

export type PeerFormat = "f16" | "bf16" | "q8_0" | "q4_0" | "q4_k_m";
export const peerFormats: readonly PeerFormat[] = ["f16", "bf16", "q8_0", "q4_0", "q4_k_m"];

export const peerCacheDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.cache/peers");

/** Uniform on [−a, a] has standard deviation a / √3. */
const uniformHalfWidth = 0.02 * Math.sqrt(3);
/** Rows generated and quantized at a time: bounds the f32 scratch to a few tens of MB. */
const rowsPerChunk = 2048;


export interface PlannedTensor {
  /** GGUF name. */
  name: string;
  dtype: DType;
  shape: readonly number[];
  bytes: number;
}

/** The tensors of the file in llama.cpp's order: token_embd, rope_freqs, then each layer's, then output_norm. */
export function planPeerModelTensors(config: LlamaConfig, format: PeerFormat): PlannedTensor[] {
  const planned: PlannedTensor[] = [];
  // GLM files hold THUDM's fused matrices (query_key_value with its bias, dense_h_to_4h), as llama.cpp's chatglm does.
  const tensors: Array<[hfName: string, shape: number[], ggufName: string]> =
    config.architecture === "chatglm"
      ? [...expectedGlmTensorShapes(config)].map(([name, shape]) => [name, shape, glmToGgufTensorName(name)!])
      : [...expectedLlamaTensorShapes(config)].map(([name, { shape }]) => [name, shape, hfToGgufTensorName(name)!]);
  for (const [hfName, shape, name] of tensors) {
    if (config.tiedEmbeddings && hfName === llamaTensorNames.output) continue;
    const dtype = plannedTensorDType(format, name, shape, config);
    const bytes = shape.length === 1 ? shape[0] * 4 : shape[0] * rowBytes(dtype, shape[1]);
    planned.push({ name, dtype, shape, bytes });
  }
  if (config.ropeScaling) planned.splice(1, 0, { name: "rope_freqs.weight", dtype: "f32", shape: [config.rotaryDim / 2], bytes: config.rotaryDim * 2 });
  return planned;
}

/** A small deterministic seed per tensor name, so every run writes the same file. */
function seedOf(name: string): number {
  let hash = 2166136261;
  for (let index = 0; index < name.length; index++) hash = Math.imul(hash ^ name.charCodeAt(index), 16777619);
  return hash >>> 0 || 1;
}

/** A matrix of `dtype` [rows, cols] holding uniform random values, generated and quantized in row chunks. */
function randomMatrix(kernel: Kernel, dtype: DType, rows: number, cols: number, seed: number): Tensor {
  const out = Tensor.zeros(dtype, [rows, cols]);
  const chunkRows = Math.min(rows, rowsPerChunk);
  const scratch = new Float32Array(chunkRows * cols); // [chunkRows, cols]
  const scale = uniformHalfWidth / 2147483648;
  let state = seed | 1;
  for (let start = 0; start < rows; start += chunkRows) {
    const count = Math.min(chunkRows, rows - start);
    const values = scratch.subarray(0, count * cols);
    for (let index = 0; index < values.length; index++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      values[index] = state * scale; // state is a signed 32-bit integer here
    }
    kernel.quantize(out.slice(start, start + count), Tensor.fromFloat32([count, cols], values));
  }
  return out;
}

export interface PeerModelFile {
  path: string;
  config: LlamaConfig;
  /** The written format, or f32 for the tiny real model's file. */
  format: PeerFormat | "f32";
  bytes: number;
  /** True when the file was already in the cache. */
  reused: boolean;
  /** How the file was made (this project's writer, or llama-quantize from the F16 file). */
  madeBy: string;
  /** dtype of the output matrix (the tied token_embd/output for Llama 3.2), as stored in the file. */
  embeddingDType: DType;
}

export interface WritePeerModelOptions {
  /** Tokenizer metadata to embed (tokenizer.ggml.*). */
  vocabulary: ReadonlyMap<string, GgufMetadataInput>;
  /** (bytesWritten, totalBytes). */
  onProgress?: (written: number, total: number) => void;
  kernel?: Kernel;
  name?: string;
}

/** Writes a random-weight GGUF of `config` (Llama or chatglm) in `format` at `file` (replacing any file there). */
export function writeRandomLlamaGguf(file: string, config: LlamaConfig, format: PeerFormat, options: WritePeerModelOptions): void {
  const kernel = options.kernel ?? createKernel();
  const metadata = llamaGgufMetadata(config, options.name ?? "random-weights", format);
  for (const [key, value] of options.vocabulary) if (!metadata.has(key)) metadata.set(key, value);
  const tensors: GgufTensorSource[] = planPeerModelTensors(config, format).map((planned) => ({
    name: planned.name,
    dtype: planned.dtype,
    shape: planned.shape,
    load: () => {
      if (planned.name === "rope_freqs.weight") return Tensor.fromFloat32(planned.shape, llama3RopeFactors(config));
      if (planned.shape.length === 1) return Tensor.fromFloat32(planned.shape, new Float32Array(planned.shape[0]).fill(1));
      return randomMatrix(kernel, planned.dtype, planned.shape[0], planned.shape[1], seedOf(planned.name));
    },
  }));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeGguf(file, { metadata, tensors }, { onProgress: options.onProgress });
}

/** Bytes the file of `config` in `format` will take, tensor data only (metadata adds a few MB with a vocabulary). */
export function peerModelDataBytes(config: LlamaConfig, format: PeerFormat): number {
  return planPeerModelTensors(config, format).reduce((total, tensor) => total + Math.ceil(tensor.bytes / 32) * 32, 0);
}

/** Free bytes on the file system holding `directory` (or its closest existing parent). */
export function freeDiskBytes(directory: string): number {
  let existing = path.resolve(directory);
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  const stats = fs.statfsSync(existing);
  return stats.bavail * stats.bsize;
}

export interface EnsurePeerModelOptions extends WritePeerModelOptions {
  /** Part of the file name telling which vocabulary is embedded ("llama3", "synthetic"). */
  vocabularyKind: string;
  directory?: string;
  /** Keep this many bytes free after writing (default 1 GiB). */
  diskMargin?: number;
  /** llama.cpp's llama-quantize: when given, Q4_K_M files are made by it from the F16 file. */
  llamaQuantize?: string;
}

export type EnsurePeerModelResult = PeerModelFile | { skipped: string };

const writerDescription = "this project's GGUF writer and quantizer, each tensor in llama-quantize's type for the format";

/** The stored dtype of the output (LM head) matrix in a GGUF file: output.weight, or the tied token_embd.weight. */
function outputDTypeOf(file: string): DType {
  const gguf = readGguf(file);
  return (gguf.tensorInfo("output.weight") ?? gguf.tensorInfo("token_embd.weight"))?.dtype ?? "f32";
}

function fileResult(file: string, config: LlamaConfig, format: PeerModelFile["format"], reused: boolean, madeBy: string): PeerModelFile {
  return { path: file, config, format, bytes: fs.statSync(file).size, reused, madeBy, embeddingDType: outputDTypeOf(file) };
}

/** Whether `needed` bytes fit on the disk holding `directory` with `margin` to spare; else the reason. */
function diskShortage(file: string, needed: number, directory: string, margin: number): string | undefined {
  const free = freeDiskBytes(directory);
  if (free >= needed + margin) return undefined;
  return `${path.basename(file)} needs ${(needed / 1e9).toFixed(1)} GB but only ${(free / 1e9).toFixed(1)} GB is free in ${directory} (keeping ${(margin / 1e9).toFixed(1)} GB spare)`;
}

/** The cached random-weight file of the Llama 3.2 `shape` in `format`, written first when absent (or a reason to skip). */
export function ensurePeerModelFile(shape: RandomPeerShape, format: PeerFormat, options: EnsurePeerModelOptions): EnsurePeerModelResult {
  const directory = options.directory ?? peerCacheDirectory;
  const config = peerShapeConfig(shape);
  const margin = options.diskMargin ?? 1024 ** 3;
  const byLlamaQuantize = format === "q4_k_m" && options.llamaQuantize !== undefined;
  const maker = byLlamaQuantize ? "-llama-quantize" : "";
  const file = path.join(directory, `${peerShapeFileStem(shape)}-random-${format}${maker}-${options.vocabularyKind}-vocabulary.gguf`);
  if (byLlamaQuantize) {
    const madeBy = `llama-quantize (${options.llamaQuantize}) Q4_K_M from the F16 file`;
    if (fs.existsSync(file)) return fileResult(file, config, format, true, madeBy);
    const source = ensurePeerModelFile(shape, "f16", options);
    if ("skipped" in source) return source;
    const shortage = diskShortage(file, peerModelDataBytes(config, format), directory, margin);
    if (shortage) return { skipped: shortage };
    const partial = `${file}.partial`;
    const result = spawnSync(options.llamaQuantize!, [source.path, partial, "Q4_K_M", "2"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (result.status !== 0) {
      fs.rmSync(partial, { force: true });
      const output = `${result.stderr ?? ""}${result.error ? String(result.error) : ""}`.trim().split("\n").slice(-3).join(" | ");
      throw new Error(`llama-quantize ${options.llamaQuantize} failed to make ${path.basename(file)} (exit ${result.status}): ${output}`);
    }
    fs.renameSync(partial, file);
    return fileResult(file, config, format, false, madeBy);
  }
  if (fs.existsSync(file)) return fileResult(file, config, format, true, writerDescription);
  const shortage = diskShortage(file, peerModelDataBytes(config, format), directory, margin);
  if (shortage) return { skipped: shortage };
  writeRandomLlamaGguf(file, config, format, { ...options, name: `${peerShapeFileStem(shape)} shape, random weights` });
  return fileResult(file, config, format, false, writerDescription);
}

/** sha256 of the published stories260K.gguf (ggml-org's tinyllamas/stories260K.gguf; ../shared/models/PROVENANCE.md). */
export const stories260kSha256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

/** Where the tiny case's file comes from, for the report. */
export function tinyModelSource(sha256: string): string {
  const check = sha256 === stories260kSha256 ? `sha256 ${sha256.slice(0, 12)}…, the published file's` : `sha256 ${sha256.slice(0, 12)}…, NOT the published file's ${stories260kSha256.slice(0, 12)}…`;
  return `real weights, not written by this run: stories260K (Karpathy's llama2.c tinyllamas, MIT; ~260K parameters, F32), ggml-org's tinyllamas/stories260K.gguf as vendored by GitHub cozy-creator/python-gen-worker (../shared/models/PROVENANCE.md); ${check}`;
}

/** The tiny case's file: stories260K's GGUF in ../shared/models (or `file`), or the reason it is skipped. */
export function tinyPeerModelFile(file: string = sharedModelFiles.stories260kGguf): EnsurePeerModelResult {
  if (!fs.existsSync(file)) return { skipped: `the tiny case's model ${file} is missing (stories260K comes from ../shared/models beside the repository; see its PROVENANCE.md)` };
  const contents = fs.readFileSync(file);
  const sha256 = createHash("sha256").update(contents).digest("hex");
  return fileResult(file, ggufToLlamaConfig(readGguf(file)), "f32", true, tinyModelSource(sha256));
}
