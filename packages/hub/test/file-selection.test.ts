// Tests for choosing a model's files from a repository listing: defaults, patterns, quantization tags, split GGUF.

import { describe, expect, it } from "vitest";
import { matchFiles } from "../src/file-pattern.ts";
import { ggufParts, selectModelFiles, shardsFromIndex } from "../src/file-selection.ts";

const ggufRepository = [
  "README.md",
  "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
  "Llama-3.2-3B-Instruct-Q4_K_S.gguf",
  "Llama-3.2-3B-Instruct-IQ4_XS.gguf",
  "Llama-3.2-3B-Instruct-Q8_0.gguf",
  "Q6_K/Llama-3.2-3B-Instruct-Q6_K-00001-of-00002.gguf",
  "Q6_K/Llama-3.2-3B-Instruct-Q6_K-00002-of-00002.gguf",
];

describe("matchFiles", () => {
  it("matches exact names, globs and quantization tags", () => {
    expect(matchFiles(ggufRepository, "Llama-3.2-3B-Instruct-Q8_0.gguf")).toEqual(["Llama-3.2-3B-Instruct-Q8_0.gguf"]);
    expect(matchFiles(ggufRepository, "*Q8_0.gguf")).toEqual(["Llama-3.2-3B-Instruct-Q8_0.gguf"]);
    expect(matchFiles(ggufRepository, "*q8_0.gguf")).toEqual(["Llama-3.2-3B-Instruct-Q8_0.gguf"]);
    expect(matchFiles(ggufRepository, "Q4_K_M")).toEqual(["Llama-3.2-3B-Instruct-Q4_K_M.gguf"]);
    expect(matchFiles(ggufRepository, "q4_k_m")).toEqual(["Llama-3.2-3B-Instruct-Q4_K_M.gguf"]);
    expect(matchFiles(ggufRepository, "Q4_K")).toEqual(["Llama-3.2-3B-Instruct-Q4_K_M.gguf", "Llama-3.2-3B-Instruct-Q4_K_S.gguf"]);
    expect(matchFiles(ggufRepository, "Q6_K/*")).toHaveLength(2);
    expect(matchFiles(ggufRepository, "README")).toEqual([]);
  });
});

describe("selectModelFiles", () => {
  it("selects a sharded safetensors model with its companions", () => {
    const files = ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "README.md", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "original/consolidated.00.pth"];
    const selection = selectModelFiles(files);
    expect(selection).toEqual({
      plan: {
        format: "safetensors",
        directory: "",
        weights: [],
        shardIndex: "model.safetensors.index.json",
        required: ["config.json", "model.safetensors.index.json"],
        optional: ["generation_config.json", "tokenizer.json", "tokenizer_config.json"],
      },
    });
  });

  it("prefers a single model.safetensors", () => {
    const selection = selectModelFiles(["config.json", "model.safetensors", "model.safetensors.index.json"]);
    expect("plan" in selection && selection.plan.weights).toEqual(["model.safetensors"]);
  });

  it("takes the only GGUF, and asks to choose among several", () => {
    expect(selectModelFiles(["a.gguf", "README.md"])).toMatchObject({ plan: { format: "gguf", weights: ["a.gguf"] } });
    const many = selectModelFiles(ggufRepository);
    expect(many).toMatchObject({ problem: expect.stringMatching(/5 GGUF models/) });
    expect("candidates" in many && many.candidates).toContain("Q6_K/Llama-3.2-3B-Instruct-Q6_K-00001-of-00002.gguf");
  });

  it("selects every part of a split GGUF from one matching part", () => {
    const selection = selectModelFiles(ggufRepository, "Q6_K");
    expect(selection).toMatchObject({
      plan: {
        format: "gguf",
        directory: "Q6_K",
        weights: ["Q6_K/Llama-3.2-3B-Instruct-Q6_K-00001-of-00002.gguf", "Q6_K/Llama-3.2-3B-Instruct-Q6_K-00002-of-00002.gguf"],
      },
    });
    expect(ggufParts("x-00002-of-00003.gguf")).toEqual(["x-00001-of-00003.gguf", "x-00002-of-00003.gguf", "x-00003-of-00003.gguf"]);
  });

  it("reports ambiguous and unmatched patterns with candidates", () => {
    expect(selectModelFiles(ggufRepository, "Q4_K")).toMatchObject({
      problem: expect.stringMatching(/matches 2 different models/),
      candidates: ["Llama-3.2-3B-Instruct-Q4_K_M.gguf", "Llama-3.2-3B-Instruct-Q4_K_S.gguf"],
    });
    expect(selectModelFiles(ggufRepository, "Q2_K")).toMatchObject({ problem: '"Q2_K" matches no file' });
    expect(selectModelFiles(ggufRepository, "README.md")).toMatchObject({ problem: expect.stringMatching(/only non-weight files/) });
  });

  it("treats .bin as llama2.c, but pytorch_model*.bin as a Hugging Face folder of PyTorch checkpoints", () => {
    expect(selectModelFiles(["stories15M.bin", "tokenizer.bin"], "stories15M.bin")).toMatchObject({ plan: { format: "llama2c", weights: ["stories15M.bin"] } });
    expect(selectModelFiles(["config.json", "pytorch_model.bin", "tokenizer.model", "training_args.bin"])).toMatchObject({
      plan: { format: "pytorch", weights: ["pytorch_model.bin"], required: ["config.json"], optional: ["tokenizer.model"] },
    });
    // THUDM's repositories hold both: safetensors win.
    const both = ["config.json", "model.safetensors.index.json", "pytorch_model.bin.index.json", "tokenizer.model"];
    expect(selectModelFiles(both)).toMatchObject({ plan: { format: "safetensors", shardIndex: "model.safetensors.index.json" } });
    expect(selectModelFiles(["config.json", "pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"])).toMatchObject({
      plan: { format: "pytorch", weights: [], shardIndex: "pytorch_model.bin.index.json", required: ["config.json", "pytorch_model.bin.index.json"] },
    });
    expect(selectModelFiles(both, "pytorch_model*.bin*")).toMatchObject({ plan: { format: "pytorch", shardIndex: "pytorch_model.bin.index.json" } });
  });

  it("adds requested extra files", () => {
    const selection = selectModelFiles(["stories15M.bin", "tok512.bin"], "stories15M.bin", ["tok512.bin", "missing.txt"]);
    expect("plan" in selection && selection.plan.required).toEqual(["tok512.bin", "missing.txt"]);
  });
});

describe("shardsFromIndex", () => {
  it("lists shards once, in the index's folder", () => {
    const index = JSON.stringify({ weight_map: { a: "m-1.safetensors", b: "m-2.safetensors", c: "m-1.safetensors" } });
    expect(shardsFromIndex(index, "sub/model.safetensors.index.json")).toEqual(["sub/m-1.safetensors", "sub/m-2.safetensors"]);
    expect(() => shardsFromIndex("{", "model.safetensors.index.json")).toThrow(/not valid JSON/);
    expect(() => shardsFromIndex("{}", "model.safetensors.index.json")).toThrow(/no "weight_map"/);
  });
});

describe("vision projectors (mmproj-*.gguf) beside a language model", () => {
  const repository = ["README.md", "SmolVLM-500M-Instruct-Q8_0.gguf", "SmolVLM-500M-Instruct-f16.gguf", "mmproj-SmolVLM-500M-Instruct-Q8_0.gguf", "mmproj-SmolVLM-500M-Instruct-f16.gguf"];

  it("are never taken for the model: a quantization tag or the only model picks the language model", () => {
    expect(selectModelFiles(repository, "Q8_0")).toMatchObject({ plan: { format: "gguf", weights: ["SmolVLM-500M-Instruct-Q8_0.gguf"] } });
    expect(selectModelFiles(repository.filter((file) => !file.includes("f16")))).toMatchObject({ plan: { weights: ["SmolVLM-500M-Instruct-Q8_0.gguf"] } });
  });

  it("are selected when the pattern names one, and can be asked for beside the model", () => {
    expect(selectModelFiles(repository, "mmproj-SmolVLM-500M-Instruct-f16.gguf")).toMatchObject({ plan: { weights: ["mmproj-SmolVLM-500M-Instruct-f16.gguf"] } });
    expect(selectModelFiles(repository, "SmolVLM-500M-Instruct-Q8_0.gguf", ["mmproj-SmolVLM-500M-Instruct-f16.gguf"])).toMatchObject({
      plan: { weights: ["SmolVLM-500M-Instruct-Q8_0.gguf"], required: ["mmproj-SmolVLM-500M-Instruct-f16.gguf"] },
    });
  });
});

