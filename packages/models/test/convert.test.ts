// safetensors → GGUF conversion: metadata llama.cpp reads, Q/K rows permuted like convert_hf_to_gguf.py, matrices
// in the requested type (f16 fallback for partial blocks), vectors f32, llama3 scaling as rope_freqs.weight, and the
// command line.

import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { quantizeTensor, dequantizeTensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { convertSafetensorsToGguf, llama3RopeFactors, loadModelWeights, readGguf, reorderRopeRows } from "../src/index.ts";
import { expectSameTensor } from "../src/tiny-models/random-tensors.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { randomLlamaTensors, tinyLlamaConfig, writeHfModel } from "../src/tiny-models/tiny-llama.ts";

const temporaryDirectory = useTemporaryDirectories("convert");
const packageDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const llama3Scaling = { type: "llama3" as const, factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 64 };

describe("convertSafetensorsToGguf", () => {
  it("writes an f32 GGUF whose tensors are the HF tensors with Q/K permuted, and whose config matches", () => {
    const config = tinyLlamaConfig({ eosTokenIds: [2, 7] });
    const tensors = randomLlamaTensors(config, 4);
    const directory = temporaryDirectory();
    writeHfModel(directory, config, tensors, { shards: 2 });
    const output = path.join(directory, "model-f32.gguf");
    const result = convertSafetensorsToGguf(directory, output, { quant: "f32", name: "tiny" });
    expect(result.tensors).toHaveLength(2 + 9 * 2 + 1);

    const gguf = readGguf(output);
    expect(gguf.metadata.get("general.architecture")).toBe("llama");
    expect(gguf.metadata.get("general.name")).toBe("tiny");
    expect(gguf.metadata.get("general.file_type")).toBe(0);
    expect(gguf.metadataType("llama.rope.freq_base")).toEqual({ type: "float32" });
    expect(gguf.metadataType("llama.block_count")).toEqual({ type: "uint32" });
    expect(gguf.tensors.map((info) => info.name).slice(0, 4)).toEqual(["token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight"]);
    expect(gguf.tensors.at(-1)!.name).toBe("output.weight");

    const loaded = loadModelWeights(output);
    expect(loaded.config).toEqual({ ...config, ropeLayout: "interleaved", rmsNormEpsilon: Math.fround(1e-5) });
    for (const [name, tensor] of tensors) {
      const heads = name.endsWith("q_proj.weight") ? config.headCount : name.endsWith("k_proj.weight") ? config.keyValueHeadCount : undefined;
      const expected = heads === undefined ? tensor : reorderRopeRows(tensor, heads, "half", "interleaved");
      expectSameTensor(loaded.tensors.get(name)!, expected, name);
    }
    expect(loadModelWeights(output, { ropeLayout: "half" }).tensors.get("model.layers.1.self_attn.k_proj.weight")!.data).toEqual(
      tensors.get("model.layers.1.self_attn.k_proj.weight")!.data,
    );
  });

  it("quantizes 2-D weights exactly like quantizeTensor, keeps norms f32, and falls back to f16 for partial blocks", () => {
    const config = tinyLlamaConfig({ intermediateSize: 48, tiedEmbeddings: true });
    const tensors = randomLlamaTensors(config, 5, "bf16");
    const directory = temporaryDirectory();
    writeHfModel(directory, config, tensors);
    for (const quant of ["q8_0", "q4_0", "f16"] as const) {
      const output = path.join(directory, `model-${quant}.gguf`);
      convertSafetensorsToGguf(directory, output, { quant });
      const gguf = readGguf(output);
      expect(gguf.tensorInfo("output.weight")).toBeUndefined(); // tied: llama.cpp writes no output.weight
      expect(gguf.tensorInfo("blk.0.ffn_norm.weight")!.dtype).toBe("f32");
      expect(gguf.tensorInfo("blk.0.ffn_down.weight")!.dtype).toBe("f16"); // 48 columns: not whole blocks of 32
      expect(gguf.tensorInfo("blk.0.ffn_up.weight")!.dtype).toBe(quant);
      // The tied embedding/output matrix: Q8_0 in Q4_0 files as llama-quantize keeps it (Q6_K needs rows of 256).
      expect(gguf.tensorInfo("token_embd.weight")!.dtype).toBe(quant === "q4_0" ? "q8_0" : quant);
      const key = reorderRopeRows(tensors.get("model.layers.1.self_attn.k_proj.weight")!, config.keyValueHeadCount, "half", "interleaved");
      const expected = quantizeTensor(quant, key.shape, dequantizeTensor(key));
      expectSameTensor(gguf.loadTensor("blk.1.attn_k.weight"), expected);
      const loaded = loadModelWeights(output);
      expect(loaded.tensors.get("lm_head.weight")).toBe(loaded.tensors.get("model.embed_tokens.weight"));
      expect(gguf.metadata.get("general.file_type")).toBe({ q8_0: 7, q4_0: 2, f16: 1 }[quant]);
    }
  });

  it("writes llama3 rope scaling as rope_freqs.weight, giving the same RoPE frequencies as the HF config", () => {
    const config = tinyLlamaConfig({ ropeScaling: llama3Scaling, headDim: 16, headCount: 4, keyValueHeadCount: 2, rotaryDim: 16, ropeTheta: 500000 });
    const directory = temporaryDirectory();
    writeHfModel(directory, config, randomLlamaTensors(config, 6));
    const output = path.join(directory, "scaled.gguf");
    convertSafetensorsToGguf(directory, output, { quant: "f32" });
    const gguf = readGguf(output);
    expect(gguf.tensors[1].name).toBe("rope_freqs.weight");
    expect(gguf.loadTensor("rope_freqs.weight").data).toEqual(llama3RopeFactors(config));
    expect(gguf.metadata.get("llama.attention.key_length")).toBe(16);
    const fromGguf = loadModelWeights(output);
    const fromHf = loadModelWeights(directory);
    expect(fromGguf.config.ropeScaling).toBeUndefined();
    expect(fromGguf.config.headDim).toBe(16);
    for (let index = 0; index < 8; index++) {
      expect(fromGguf.ropeFrequencies[index]).toBeCloseTo(fromHf.ropeFrequencies[index], 6);
      expect(Math.abs(fromGguf.ropeFrequencies[index] / fromHf.ropeFrequencies[index] - 1)).toBeLessThan(1e-6);
    }
  });

  it("checks shapes against config.json before writing", () => {
    const config = tinyLlamaConfig();
    const tensors = randomLlamaTensors(config, 7);
    const directory = temporaryDirectory();
    writeHfModel(directory, { ...config, intermediateSize: 96 }, tensors);
    expect(() => convertSafetensorsToGguf(directory, path.join(directory, "x.gguf"), { quant: "q8_0" })).toThrow(
      /tensor "model\.layers\.0\.mlp\.gate_proj\.weight": shape \[64, 32\] contradicts config\.json: expected \[intermediateSize, hiddenSize\] = \[96, 32\]/,
    );
  });

  it("runs as a command line", () => {
    const config = tinyLlamaConfig();
    const directory = temporaryDirectory();
    writeHfModel(directory, config, randomLlamaTensors(config, 8));
    const output = path.join(directory, "cli.gguf");
    const stdout = execFileSync(process.execPath, ["--import", "tsx", "src/convert-cli.ts", directory, output, "--quant", "q4_0"], {
      cwd: packageDirectory,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(stdout).toMatch(/wrote .*cli\.gguf: 21 tensors \(/);
    expect(readGguf(output).tensorInfo("blk.0.attn_q.weight")!.dtype).toBe("q4_0");
    expect(() =>
      execFileSync(process.execPath, ["--import", "tsx", "src/convert-cli.ts", directory, output, "--quant", "q3"], { cwd: packageDirectory, stdio: "pipe" }),
    ).toThrow(/--quant must be one of f32, f16, bf16, q8_0, q4_0, q4_k_m/);
  });
});
