// assembleLoadedWeights and LlamaModel.fromLoadedWeights at the edges loaded-weights.test.ts leaves open: a tied model
// whose file stores both the embedding and lm_head.weight (PyTorch checkpoints save both) uses the embedding for both,
// as transformers' tie_weights and the GGUF converter do; packing while loading reuses the loaded tensors' storage
// and packs only the layers the config has; an incomplete LoadedWeights is refused naming the missing tensor.

import path from "node:path";

import { Kernel, Tensor, createKernel, createReferenceBackend, nativeAvailability } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  LlamaModel,
  assembleLoadedWeights,
  convertSafetensorsToGguf,
  llamaLayerTensorNames,
  loadModelWeights,
  randomLlamaTensors,
  tinyLlamaConfig,
  writeHfModel,
  type LlamaConfig,
  type LoadedWeights,
} from "../src/index.ts";
import { bytesOf } from "../src/tiny-models/random-tensors.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("loaded-weights-tied");
const source = { format: "random" as const, path: "(test)", files: [] };
const embeddingName = "model.embed_tokens.weight";
const outputName = "lm_head.weight";

/** Random tensors of `config` holding both an embedding and a different lm_head.weight. */
function withBothEmbeddings(config: LlamaConfig): { tensors: Map<string, Tensor>; embedding: Tensor; output: Tensor } {
  const tensors = randomLlamaTensors({ ...config, tiedEmbeddings: false }, 1);
  return { tensors, embedding: tensors.get(embeddingName)!, output: tensors.get(outputName)! };
}

describe("a tied model whose file stores both the embedding and lm_head.weight", () => {
  it("uses the embedding as the output matrix (the stored lm_head is not used)", () => {
    const tied = tinyLlamaConfig({ tiedEmbeddings: true });
    const { tensors, embedding, output } = withBothEmbeddings(tied);
    expect(bytesOf(output)).not.toEqual(bytesOf(embedding));
    const loaded = assembleLoadedWeights({ config: tied, tensors, source, metadata: new Map() });
    expect(loaded.tensors.get(embeddingName)).toBe(embedding);
    expect(loaded.tensors.get(outputName)).toBe(embedding);
  });

  it("an untied model keeps both as stored", () => {
    const untied = tinyLlamaConfig({ tiedEmbeddings: false });
    const { tensors, embedding, output } = withBothEmbeddings(untied);
    const loaded = assembleLoadedWeights({ config: untied, tensors, source, metadata: new Map() });
    expect(loaded.tensors.get(embeddingName)).toBe(embedding);
    expect(loaded.tensors.get(outputName)).toBe(output);
  });

  it("loading the directory and loading its GGUF conversion give the same output matrix", () => {
    const tied = tinyLlamaConfig({ tiedEmbeddings: true });
    const { tensors, embedding } = withBothEmbeddings(tied);
    const directory = temporaryDirectory();
    writeHfModel(directory, tied, tensors);
    const fromDirectory = loadModelWeights(directory);
    const file = path.join(directory, "model.gguf");
    convertSafetensorsToGguf(directory, file, { quant: "f32" });
    const fromGguf = loadModelWeights(file, { ropeLayout: "half" });
    expect(bytesOf(fromDirectory.tensors.get(outputName)!)).toEqual(bytesOf(embedding));
    expect(bytesOf(fromGguf.tensors.get(outputName)!)).toEqual(bytesOf(embedding));
    expect(fromDirectory.tensors.get(outputName)).toBe(fromDirectory.tensors.get(embeddingName));
  });
});

describe("packing", () => {
  const native = nativeAvailability().available ? createKernel({ backend: "native", threads: 1 }) : undefined;
  const packs = native !== undefined && native.packWeight(Tensor.zeros("f32", [16, 32])).dtype === "f32x16";

  it.skipIf(!packs)("while loading, in the loaded tensors' own storage, only the layers the config has (skipped without packing)", () => {
    const config = tinyLlamaConfig({ layerCount: 1 });
    const tensors = randomLlamaTensors({ ...config, layerCount: 2 }, 2); // a file with one more layer than the config uses
    const stored = new Map(tensors);
    const loaded = assembleLoadedWeights({ config, tensors, source, metadata: new Map() }, { packFor: native });
    const inConfig = llamaLayerTensorNames(0), beyond = llamaLayerTensorNames(1);
    for (const name of [inConfig.query, inConfig.down, outputName]) {
      expect(loaded.tensors.get(name)!.dtype, name).toBe("f32x16");
      expect(loaded.tensors.get(name)!.data.buffer, name).toBe(stored.get(name)!.data.buffer);
    }
    expect(loaded.tensors.get(beyond.query)).toBe(stored.get(beyond.query));
    expect(loaded.tensors.get(beyond.query)!.dtype).toBe("f32");
  });

  it.skipIf(!packs)("LlamaModel.fromLoadedWeights packs copies and leaves the loaded tensors as they were (skipped without packing)", () => {
    const config = tinyLlamaConfig();
    const loaded = assembleLoadedWeights({ config, tensors: randomLlamaTensors(config, 3), source, metadata: new Map() });
    const query = loaded.tensors.get(llamaLayerTensorNames(0).query)!;
    const before = bytesOf(query).slice();
    const model = LlamaModel.fromLoadedWeights(loaded, native!);
    expect(model.weights.layers[0].query.dtype).toBe("f32x16");
    expect(model.weights.layers[0].query.data.buffer).not.toBe(query.data.buffer);
    expect(loaded.tensors.get(llamaLayerTensorNames(0).query)).toBe(query);
    expect(query.dtype).toBe("f32");
    expect(bytesOf(query)).toEqual(before);
  });
});

describe("LlamaModel.fromLoadedWeights on an incomplete LoadedWeights", () => {
  it("names the missing tensor and the source", () => {
    const config = tinyLlamaConfig();
    const loaded: LoadedWeights = assembleLoadedWeights({ config, tensors: randomLlamaTensors(config, 4), source, metadata: new Map() });
    for (const name of [llamaLayerTensorNames(1).up, outputName]) {
      const tensors = new Map(loaded.tensors);
      tensors.delete(name);
      const error = errorOf(() => LlamaModel.fromLoadedWeights({ ...loaded, tensors }, new Kernel(createReferenceBackend())));
      expect(error.message).toBe(`(test): tensor "${name}": missing from the loaded weights`);
    }
  });
});
