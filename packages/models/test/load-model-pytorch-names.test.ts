// detectWeightFormat and loadModelWeights given the path of a PyTorch checkpoint file: pytorch_model.bin, a shard
// (pytorch_model-00001-of-00002.bin) or the shards' index (pytorch_model.bin.index.json) is "pytorch" and loads its
// directory; a name that only starts like one is not.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { detectWeightFormat, hfConfigJson, loadModelWeights, randomLlamaTensors, tinyLlamaConfig } from "../src/index.ts";
import { writeShardedPyTorchCheckpoint } from "../src/tiny-models/pytorch-writer.ts";
import { bytesOf } from "../src/tiny-models/random-tensors.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("load-model-pytorch-names");

describe("a PyTorch checkpoint file's path", () => {
  it("is 'pytorch' for the index and for a shard, and loads the whole directory", () => {
    const config = tinyLlamaConfig();
    const tensors = randomLlamaTensors(config, 6);
    const directory = temporaryDirectory();
    fs.writeFileSync(path.join(directory, "config.json"), JSON.stringify(hfConfigJson(config)));
    const shards = writeShardedPyTorchCheckpoint(directory, tensors, 2);
    const index = path.join(directory, "pytorch_model.bin.index.json");
    expect(path.basename(shards[0])).toBe("pytorch_model-00001-of-00002.bin");
    expect(detectWeightFormat(index)).toBe("pytorch");
    expect(detectWeightFormat(shards[0])).toBe("pytorch");
    expect(detectWeightFormat(directory)).toBe("pytorch");
    for (const location of [index, shards[1]]) {
      const loaded = loadModelWeights(location);
      expect(loaded.source).toEqual({ format: "pytorch", path: directory, files: [path.join(directory, "config.json"), ...shards] });
      for (const [name, tensor] of tensors) expect(bytesOf(loaded.tensors.get(name)!), name).toEqual(bytesOf(tensor));
    }
  });

  it("without a config.json beside it, says PyTorch checkpoints need one, for the index too", () => {
    const directory = temporaryDirectory();
    for (const name of ["pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model.bin"]) {
      const file = path.join(directory, name);
      fs.writeFileSync(file, "{}");
      expect(errorOf(() => detectWeightFormat(file)).message, name).toBe(`${file}: PyTorch checkpoints need a config.json beside them in ${directory}`);
    }
  });

  it("a name that only starts like a checkpoint's is not one", () => {
    const directory = temporaryDirectory();
    fs.writeFileSync(path.join(directory, "config.json"), "{}");
    fs.writeFileSync(path.join(directory, "pytorch_model.bin"), "x");
    for (const name of ["pytorch_model.bin.bak", "pytorch_model.bin.index.json.old"]) {
      const file = path.join(directory, name);
      fs.writeFileSync(file, "x");
      expect(errorOf(() => detectWeightFormat(file)).message, name).toBe(
        `${file}: unknown weight format (expected a model directory, a .gguf file or a llama2.c .bin file)`,
      );
    }
    const notCheckpoint = path.join(directory, "my_pytorch_model.bin");
    fs.writeFileSync(notCheckpoint, "x");
    expect(detectWeightFormat(notCheckpoint)).toBe("llama2c");
  });
});
