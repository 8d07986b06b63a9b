// The decode profile on a tiny random Llama file: every kernel op call is attributed to its entry (each projection and
// the LM head once per layer and token, one argmax per token), the matmuls' weight bytes per token are the file's
// matrices, the entries and the engine's own time add up to the token, and the kernel's methods are put back.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Tensor, createKernel, nativeAvailability } from "@infer-recipes/kernel";
import { readGguf, tinyLlamaConfig } from "@infer-recipes/models";
import { afterAll, describe, expect, it } from "vitest";

import { profileDecode, timeKernelOps, type OpTotals } from "../src/decode-profile.ts";
import { writeRandomLlamaGguf } from "../src/peer-model-files.ts";
import { syntheticByteLevelVocabulary } from "../src/synthetic-vocabulary.ts";

// FFN width 768, so that no projection shares the LM head's shape (512 × 256).
const config = tinyLlamaConfig({ hiddenSize: 256, intermediateSize: 768, headCount: 4, keyValueHeadCount: 2, headDim: 64, rotaryDim: 64, vocabSize: 512, contextLength: 256, tiedEmbeddings: true, bosTokenId: 510, eosTokenIds: [511] });
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "decode-profile-"));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

describe("timeKernelOps", () => {
  it("counts each call under its entry (matmuls by weight dtype and shape, with their bytes) and puts the methods back", () => {
    const kernel = createKernel({ backend: "reference" });
    const original = kernel.matmul;
    const totals = new Map<string, OpTotals>();
    const restore = timeKernelOps(kernel, totals);
    const weight = Tensor.zeros("f32", [3, 4]);
    kernel.matmul(Tensor.zeros("f32", [2, 3]), Tensor.zeros("f32", [2, 4]), weight);
    kernel.matmul(Tensor.zeros("f32", [1, 3]), Tensor.zeros("f32", [1, 4]), weight);
    kernel.add(Tensor.zeros("f32", [4]), Tensor.zeros("f32", [4]), Tensor.zeros("f32", [4]));
    restore();
    kernel.add(Tensor.zeros("f32", [4]), Tensor.zeros("f32", [4]), Tensor.zeros("f32", [4]));
    expect(kernel.matmul).toBe(original);
    expect(totals.get("matmul f32 3×4")).toMatchObject({ calls: 2, weightBytes: 2 * 48 });
    expect(totals.get("add")).toMatchObject({ calls: 1, weightBytes: 0 });
  });
});

describe.skipIf(!nativeAvailability().available)("profileDecode", () => {
  it("attributes every op of a decode step, and the entries add up to the token", () => {
    const file = path.join(directory, "tiny-q8_0.gguf");
    writeRandomLlamaGguf(file, config, "q8_0", { vocabulary: syntheticByteLevelVocabulary(config.vocabSize).metadata, name: "tiny random" });
    const streamBuffer = new Uint8Array(1 << 20);
    const profile = profileDecode({ modelPath: file, threads: 1, promptTokens: 4, decodeTokens: 3, repetitions: 1 }, streamBuffer);
    const entry = (name: string) => profile.entries.find((candidate) => candidate.name === name);
    // Per layer: q, k, v, o, gate, up, down; the tied embedding/output once more as the LM head.
    const layer = config.layerCount;
    expect(profile.entries.filter((candidate) => candidate.name.startsWith("matmul")).reduce((sum, candidate) => sum + candidate.calls_per_token, 0)).toBe(7 * layer + 1);
    expect(entry(`matmul q8_0x16 ${config.vocabSize}×${config.hiddenSize}`) ?? entry(`matmul q8_0 ${config.vocabSize}×${config.hiddenSize}`)).toMatchObject({ calls_per_token: 1 });
    expect(entry("argmax")).toMatchObject({ calls_per_token: 1 });
    expect(entry("attention")?.calls_per_token ?? entry("pagedAttention")?.calls_per_token).toBe(layer);
    // Every matrix of the file is streamed once per token (the tied embedding as the LM head).
    const matrices = readGguf(file).tensors.filter((tensor) => tensor.shape.length === 2);
    const matrixBytes = matrices.reduce((sum, tensor) => sum + tensor.byteLength, 0);
    expect(profile.weight_bytes_per_token).toBe(matrixBytes);
    const total = profile.entries.reduce((sum, candidate) => sum + candidate.ms_per_token, 0);
    expect(total).toBeCloseTo(Math.max(profile.token_ms, profile.ops_ms), 6);
    expect(profile.entries.reduce((sum, candidate) => sum + candidate.share, 0)).toBeCloseTo(Math.max(1, profile.ops_ms / profile.token_ms), 6);
  });
});
