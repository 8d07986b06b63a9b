// loadModelWeights: dispatch on what the path is, the common LoadedWeights shape for every format, tied
// embeddings, RoPE layout conversion and quantize-on-load.

import fs from "node:fs";
import path from "node:path";

import { ropeFrequencies } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { detectWeightFormat, getTensor, loadModelWeights, ModelFileError, type LoadedWeights } from "../src/index.ts";
import { bytesOf, expectSameTensor } from "../src/tiny-models/random-tensors.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { randomLlamaTensors, tinyLlamaConfig, writeGgufModel, writeHfModel, writeLlama2cModel } from "../src/tiny-models/tiny-llama.ts";

const temporaryDirectory = useTemporaryDirectories("load-model");

function expectTensorsEqual(actual: LoadedWeights, expected: LoadedWeights): void {
  expect([...actual.tensors.keys()].sort()).toEqual([...expected.tensors.keys()].sort());
  for (const [name, tensor] of expected.tensors) {
    expect(actual.tensors.get(name)!.shape, name).toEqual(tensor.shape);
    expectSameTensor(actual.tensors.get(name)!, tensor, name);
  }
}

describe("loadModelWeights", () => {
  const config = tinyLlamaConfig();
  const tensors = randomLlamaTensors(config, 1);

  it("loads a Hugging Face directory (single file and sharded) with the rotate-half layout", () => {
    for (const shards of [1, 3]) {
      const directory = temporaryDirectory();
      writeHfModel(directory, config, tensors, { shards });
      expect(detectWeightFormat(directory)).toBe("safetensors");
      const weights = loadModelWeights(directory);
      expect(weights.config).toEqual(config);
      expect(weights.source.format).toBe("safetensors");
      expect(weights.source.files).toHaveLength(1 + shards);
      expect(weights.metadata.get("format")).toBe("pt");
      for (const [name, tensor] of tensors) expectSameTensor(getTensor(weights, name), tensor, name);
      expect(weights.ropeFrequencies).toEqual(ropeFrequencies({ rotaryDim: 8, theta: 10000 }));
    }
  });

  it("loads the same model from GGUF (interleaved layout) and, on request, in the rotate-half layout", () => {
    const directory = temporaryDirectory();
    writeHfModel(directory, config, tensors);
    const file = path.join(directory, "model.gguf");
    writeGgufModel(file, config, tensors);
    expect(detectWeightFormat(file)).toBe("gguf");
    const fromHf = loadModelWeights(directory);
    const fromGguf = loadModelWeights(file);
    // GGUF stores the epsilon as float32
    expect(fromGguf.config).toEqual({ ...config, ropeLayout: "interleaved", rmsNormEpsilon: Math.fround(1e-5) });
    expect(fromGguf.metadata.get("general.architecture")).toBe("llama");
    const query = "model.layers.0.self_attn.q_proj.weight";
    expect(bytesOf(fromGguf.tensors.get(query)!)).not.toEqual(bytesOf(tensors.get(query)!));
    const asHalf = loadModelWeights(file, { ropeLayout: "half" });
    expect(asHalf.config).toEqual({ ...config, rmsNormEpsilon: Math.fround(1e-5) });
    expectTensorsEqual(asHalf, fromHf);
    const backToInterleaved = loadModelWeights(directory, { ropeLayout: "interleaved" });
    expectTensorsEqual(backToInterleaved, fromGguf);
  });

  it("loads a llama2.c .bin checkpoint", () => {
    const interleaved = { ...config, ropeLayout: "interleaved" as const, contextLength: 16 };
    const file = path.join(temporaryDirectory(), "model.bin");
    writeLlama2cModel(file, interleaved, tensors);
    expect(detectWeightFormat(file)).toBe("llama2c");
    const weights = loadModelWeights(file);
    expect(weights.config).toEqual(interleaved);
    for (const [name, tensor] of tensors) expectSameTensor(weights.tensors.get(name)!, tensor, name);
  });

  it("gives tied models both embedding names on one Tensor, whichever one the file stores", () => {
    const tied = tinyLlamaConfig({ tiedEmbeddings: true });
    const tiedTensors = randomLlamaTensors(tied, 2);
    const embedding = tiedTensors.get("model.embed_tokens.weight")!;
    // the file stores only lm_head.weight, like TinyStories-656K
    const storedAsOutput = new Map([...tiedTensors].map(([name, tensor]) => [name === "model.embed_tokens.weight" ? "lm_head.weight" : name, tensor]));
    const directory = temporaryDirectory();
    writeHfModel(directory, tied, storedAsOutput);
    const weights = loadModelWeights(directory);
    expect(weights.tensors.get("model.embed_tokens.weight")).toBe(weights.tensors.get("lm_head.weight"));
    expectSameTensor(weights.tensors.get("model.embed_tokens.weight")!, embedding);
    // GGUF without output.weight is tied
    const file = path.join(directory, "tied.gguf");
    writeGgufModel(file, tied, tiedTensors);
    const fromGguf = loadModelWeights(file);
    expect(fromGguf.config.tiedEmbeddings).toBe(true);
    expect(fromGguf.tensors.get("lm_head.weight")).toBe(fromGguf.tensors.get("model.embed_tokens.weight"));
  });

  it("quantizes matrices on load, keeps vectors f32, falls back to f16 for rows that are not whole blocks, keeps ties", () => {
    const shaped = tinyLlamaConfig({ tiedEmbeddings: true, intermediateSize: 48 });
    const directory = temporaryDirectory();
    writeHfModel(directory, shaped, randomLlamaTensors(shaped, 3, "bf16"));
    const weights = loadModelWeights(directory, { dtype: "q8_0" });
    expect(weights.tensors.get("model.layers.0.self_attn.q_proj.weight")!.dtype).toBe("q8_0");
    expect(weights.tensors.get("model.layers.0.mlp.down_proj.weight")!.dtype).toBe("f16"); // 48 columns
    expect(weights.tensors.get("model.norm.weight")!.dtype).toBe("f32");
    expect(weights.tensors.get("lm_head.weight")).toBe(weights.tensors.get("model.embed_tokens.weight"));
    const asStored = loadModelWeights(directory);
    expect(asStored.tensors.get("model.layers.0.self_attn.q_proj.weight")!.dtype).toBe("bf16");
    expect(asStored.tensors.get("model.layers.0.input_layernorm.weight")!.dtype).toBe("f32"); // vectors become f32
  });

  it("reports progress over all tensor bytes", () => {
    const directory = temporaryDirectory();
    writeHfModel(directory, config, tensors, { shards: 2 });
    const seen: Array<[number, number]> = [];
    loadModelWeights(directory, { onProgress: (read, total) => seen.push([read, total]) });
    const total = [...tensors.values()].reduce((sum, tensor) => sum + tensor.byteLength, 0);
    expect(seen.at(-1)).toEqual([total, total]);
  });

  it("says what it looked for when the path is not a model", () => {
    const directory = temporaryDirectory();
    expect(() => loadModelWeights(path.join(directory, "absent.gguf"))).toThrow(/absent\.gguf: not found/);
    expect(() => loadModelWeights(directory)).toThrow(/no config\.json with \*\.safetensors/);
    fs.writeFileSync(path.join(directory, "weights.pt"), "x");
    expect(() => loadModelWeights(path.join(directory, "weights.pt"))).toThrow(ModelFileError);
    const weights = loadModelWeights((() => {
      const model = temporaryDirectory();
      writeHfModel(model, config, tensors);
      return model;
    })());
    expect(() => getTensor(weights, "model.layers.9.mlp.up_proj.weight")).toThrow(/tensor "model\.layers\.9\.mlp\.up_proj\.weight": missing/);
  });
});

describe("detectWeightFormat", () => {
  /** A directory holding `names` (config.json written as {}, other files as "x"). */
  const directoryWith = (...names: string[]) => {
    const directory = temporaryDirectory();
    for (const name of names) fs.writeFileSync(path.join(directory, name), name === "config.json" ? "{}" : "x");
    return directory;
  };
  const messageOf = (location: string) => {
    try {
      detectWeightFormat(location);
    } catch (error) {
      expect(error).toBeInstanceOf(ModelFileError);
      return (error as Error).message;
    }
    throw new Error("expected a ModelFileError");
  };

  it("tells a Hugging Face directory's format: safetensors whenever there are any, else PyTorch checkpoints", () => {
    const cases: Array<[string[], string]> = [
      [["config.json", "model.safetensors"], "safetensors"],
      [["config.json", "model.safetensors.index.json"], "safetensors"],
      [["config.json", "model.safetensors", "pytorch_model.bin"], "safetensors"],
      [["config.json", "model.safetensors.index.json", "pytorch_model.bin"], "safetensors"],
      [["config.json", "pytorch_model.bin"], "pytorch"],
      [["config.json", "pytorch_model-00001-of-00002.bin"], "pytorch"],
      [["config.json", "pytorch_model.bin.index.json"], "pytorch"],
    ];
    for (const [names, format] of cases) expect(detectWeightFormat(directoryWith(...names)), names.join(" ")).toBe(format);
    for (const names of [[], ["config.json"], ["model.safetensors"], ["config.json", "model.bin"], ["config.json", "weights.safetensors.json"]]) {
      const directory = directoryWith(...names);
      expect(messageOf(directory), names.join(" ")).toBe(
        `${directory}: this directory has no config.json with *.safetensors, model.safetensors.index.json or pytorch_model*.bin beside it`,
      );
    }
  });

  it("tells a file's format by its magic, then by its name and what is beside it", () => {
    const withConfig = directoryWith("config.json", "model.safetensors", "pytorch_model.bin", "stories.bin", "tiny.gguf", "ggufmagic.bin", "model.safetensors.index.json", "notes.txt");
    fs.writeFileSync(path.join(withConfig, "ggufmagic.bin"), "GGUF and then anything");
    fs.writeFileSync(path.join(withConfig, "short.bin"), "GG");
    const bare = directoryWith("model.safetensors", "pytorch_model.bin", "index.json", "mypytorch_model.bin");
    const cases: Array<[string, string]> = [
      [path.join(withConfig, "ggufmagic.bin"), "gguf"],
      [path.join(withConfig, "tiny.gguf"), "gguf"],
      [path.join(withConfig, "stories.bin"), "llama2c"],
      [path.join(withConfig, "short.bin"), "llama2c"],
      [path.join(withConfig, "pytorch_model.bin"), "pytorch"],
      [path.join(withConfig, "model.safetensors"), "safetensors"],
      [path.join(withConfig, "model.safetensors.index.json"), "safetensors"],
      [path.join(bare, "mypytorch_model.bin"), "llama2c"],
    ];
    for (const [file, format] of cases) expect(detectWeightFormat(file), file).toBe(format);
    expect(messageOf(path.join(bare, "pytorch_model.bin"))).toBe(`${path.join(bare, "pytorch_model.bin")}: PyTorch checkpoints need a config.json beside them in ${bare}`);
    expect(messageOf(path.join(bare, "model.safetensors"))).toBe(`${path.join(bare, "model.safetensors")}: safetensors weights need a config.json beside them in ${bare}`);
    expect(messageOf(path.join(bare, "index.json"))).toBe(`${path.join(bare, "index.json")}: safetensors weights need a config.json beside them in ${bare}`);
    expect(messageOf(path.join(withConfig, "notes.txt"))).toBe(
      `${path.join(withConfig, "notes.txt")}: unknown weight format (expected a model directory, a .gguf file or a llama2.c .bin file)`,
    );
    const missing = path.join(bare, "absent.gguf");
    expect(messageOf(missing)).toBe(`${missing}: not found (expected a model directory, a .gguf file or a llama2.c .bin file)`);
  });

  it("loads a Hugging Face model from the path of its weight file or its directory alike", () => {
    const config = tinyLlamaConfig();
    const tensors = randomLlamaTensors(config, 4);
    const directory = temporaryDirectory();
    writeHfModel(directory, config, tensors);
    const fromFile = loadModelWeights(path.join(directory, "model.safetensors"));
    expect(fromFile.source).toEqual({ format: "safetensors", path: directory, files: [path.join(directory, "config.json"), path.join(directory, "model.safetensors")] });
    expectTensorsEqual(fromFile, loadModelWeights(directory));
  });
});
