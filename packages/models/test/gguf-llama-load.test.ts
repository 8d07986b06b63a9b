// loadGgufModel on a Llama GGUF: from a path or an already parsed file alike, with its source described, progress
// over every tensor byte, and rope scaling refused for any type but none or linear at factor 1.

import path from "node:path";

import { describe, expect, it } from "vitest";

import { ggufToLlamaConfig, loadGgufModel, readGguf, writeGgufModel, randomLlamaTensors, tinyLlamaConfig, writeGguf } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("gguf-llama-load");

describe("loadGgufModel", () => {
  it("loads a parsed GgufFile like its path, names the source, and reports progress over every tensor byte", () => {
    const config = tinyLlamaConfig();
    const file = path.join(temporary(), "tiny.gguf");
    writeGgufModel(file, config, randomLlamaTensors(config, 1));
    const parsed = readGguf(file);
    const totalBytes = parsed.tensors.reduce((total, info) => total + info.byteLength, 0);
    const progress: Array<[number, number]> = [];
    const fromFile = loadGgufModel(parsed, { onProgress: (done, total) => progress.push([done, total]) });
    const fromPath = loadGgufModel(file);
    expect(fromFile.source).toEqual({ format: "gguf", path: file, files: [file] });
    expect(fromPath.source).toEqual({ format: "gguf", path: file, files: [file] });
    expect(fromFile.config).toEqual(fromPath.config);
    expect([...fromFile.tensors.keys()]).toEqual([...fromPath.tensors.keys()]);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual([totalBytes, totalBytes]);
    expect(progress.every(([, total]) => total === totalBytes)).toBe(true);
  });
});

describe("rope scaling in a Llama GGUF", () => {
  it("refuses a YaRN type even at factor 1 (its other parameters are not read)", () => {
    const file = path.join(temporary(), "yarn.gguf");
    writeGguf(file, {
      metadata: {
        "general.architecture": "llama",
        "llama.embedding_length": { type: "uint32", value: 32 },
        "llama.feed_forward_length": { type: "uint32", value: 64 },
        "llama.block_count": { type: "uint32", value: 2 },
        "llama.attention.head_count": { type: "uint32", value: 4 },
        "llama.attention.layer_norm_rms_epsilon": { type: "float32", value: 1e-5 },
        "llama.context_length": { type: "uint32", value: 128 },
        "llama.vocab_size": { type: "uint32", value: 10 },
        "llama.rope.scaling.type": "yarn",
        "llama.rope.scaling.factor": { type: "float32", value: 1 },
      },
      tensors: [],
    });
    expect(errorOf(() => ggufToLlamaConfig(readGguf(file))).message).toBe(
      `${file}: field "llama.rope.scaling.type": rope scaling "yarn" (factor 1) is not supported; llama3 scaling is read from the rope_freqs.weight tensor`,
    );
  });
});
