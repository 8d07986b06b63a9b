// Safetensors reader: single files and sharded models written by the test writer read back bit for bit, dtypes
// kept as stored, each tensor in its own buffer, progress reported in bytes.

import path from "node:path";

import type { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { openSafetensors, readSafetensors, readSafetensorsHeader } from "../src/index.ts";
import { expectSameTensor, randomTensor } from "../src/tiny-models/random-tensors.ts";
import { writeSafetensors, writeShardedSafetensors } from "../src/safetensors-writer.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("safetensors");

function sampleTensors(): Map<string, Tensor> {
  return new Map([
    ["embed.weight", randomTensor("f32", [16, 8], 1)], // [16, 8] f32
    ["proj.weight", randomTensor("f16", [4, 8], 2)], // [4, 8] f16
    ["gate.weight", randomTensor("bf16", [6, 8], 3)], // [6, 8] bf16
    ["norm.weight", randomTensor("f32", [8], 4)], // [8]
    ["scalar", randomTensor("f32", [], 5)], // []
  ]);
}

function expectSameTensors(actual: Map<string, Tensor>, expected: Map<string, Tensor>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [name, tensor] of expected) {
    const loaded = actual.get(name)!;
    expect(loaded.dtype, name).toBe(tensor.dtype);
    expect(loaded.shape, name).toEqual(tensor.shape);
    expectSameTensor(loaded, tensor, name);
  }
}

describe("single .safetensors file", () => {
  it("reads every tensor back bit for bit, F16/BF16 kept as f16/bf16, with __metadata__", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    const tensors = sampleTensors();
    writeSafetensors(file, tensors, { format: "pt", note: "tiny" });
    const { tensors: loaded, metadata } = readSafetensors(file);
    expectSameTensors(loaded, tensors);
    expect(metadata).toEqual({ format: "pt", note: "tiny" });
    expect(loaded.get("proj.weight")!.data).toBeInstanceOf(Uint16Array);
    expect(loaded.get("gate.weight")!.dtype).toBe("bf16");
  });

  it("gives every tensor its own ArrayBuffer", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    writeSafetensors(file, sampleTensors());
    for (const tensor of readSafetensors(file).tensors.values()) {
      expect(tensor.data.byteOffset).toBe(0);
      expect(tensor.data.buffer.byteLength).toBe(tensor.data.byteLength);
    }
  });

  it("lists the header without reading data, and loads single tensors and subsets", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    const tensors = sampleTensors();
    writeSafetensors(file, tensors);
    const header = readSafetensorsHeader(file);
    expect(header.tensors.map((info) => info.name)).toEqual([...tensors.keys()]);
    expect(header.tensors[1]).toMatchObject({ storedDType: "F16", shape: [4, 8], byteLength: 64 });
    expect(header.dataOffset % 8).toBe(0);
    const archive = openSafetensors(file);
    expectSameTensor(archive.loadTensor("gate.weight"), tensors.get("gate.weight")!);
    const subset = archive.loadTensors({ names: ["norm.weight", "embed.weight"] });
    expect([...subset.keys()]).toEqual(["norm.weight", "embed.weight"]);
  });

  it("reports progress in bytes, ending at the total", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    writeSafetensors(file, sampleTensors());
    const calls: Array<[number, number]> = [];
    readSafetensors(file, { onProgress: (read, total) => calls.push([read, total]) });
    const total = 16 * 8 * 4 + 4 * 8 * 2 + 6 * 8 * 2 + 8 * 4 + 4;
    expect(calls.at(-1)).toEqual([total, total]);
    for (let index = 1; index < calls.length; index++) expect(calls[index][0]).toBeGreaterThan(calls[index - 1][0]);
  });
});

describe("sharded safetensors", () => {
  it("reads a model.safetensors.index.json model from the index, the directory, or the same as one file", () => {
    const directory = temporaryDirectory();
    const tensors = sampleTensors();
    const files = writeShardedSafetensors(directory, tensors, 3, { format: "pt" });
    for (const location of [directory, path.join(directory, "model.safetensors.index.json")]) {
      const archive = openSafetensors(location);
      expect(archive.files).toEqual(files);
      expect(archive.metadata).toEqual({ format: "pt" });
      expectSameTensors(archive.loadTensors(), tensors);
    }
    expect(openSafetensors(directory).info("norm.weight").file).toBe(files[1]);
  });

  it("opens a directory of .safetensors files without an index", () => {
    const directory = temporaryDirectory();
    const tensors = sampleTensors();
    const names = [...tensors.keys()];
    writeSafetensors(path.join(directory, "a.safetensors"), new Map(names.slice(0, 2).map((name) => [name, tensors.get(name)!])));
    writeSafetensors(path.join(directory, "b.safetensors"), new Map(names.slice(2).map((name) => [name, tensors.get(name)!])));
    expectSameTensors(readSafetensors(directory).tensors, tensors);
  });
});
