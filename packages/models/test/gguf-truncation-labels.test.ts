// Every field of a GGUF header names itself when the file ends inside it: the file is cut after each byte of the
// header in turn, and the messages name the fields in file order (metadata keys, value types, array element types
// and items, tensor names, dimension counts, dimensions, types and data offsets). Tensor data that ends early when
// read names the tensor.

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { afterEach, describe, expect, it, vi } from "vitest";

import { readGguf, writeGguf } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("gguf-truncation-labels");

afterEach(() => {
  vi.restoreAllMocks();
});

function smallGguf(): string {
  const file = path.join(temporary(), "small.gguf");
  writeGguf(file, {
    metadata: new Map<string, unknown>([["k", new Uint32Array([7, 8])], ["t", ["ab", "c"]], ["s", "x"]]) as never,
    tensors: [{ name: "w", tensor: Tensor.fromFloat32([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6)) }],
  });
  return file;
}

describe("a GGUF file cut inside its header", () => {
  it("names each field where it ends, in file order", () => {
    const file = smallGguf();
    const bytes = fs.readFileSync(file);
    const dataStart = readGguf(file).tensors[0].fileOffset;
    const cut = path.join(temporary(), "cut.gguf");
    const labels: string[] = [];
    for (let length = 0; length < dataStart; length++) {
      fs.writeFileSync(cut, bytes.subarray(0, length));
      const message = errorOf(() => readGguf(cut)).message.slice(cut.length + 2);
      const label = /^file is truncated(?: or corrupt)?: (.*?) (?:needs \d+ bytes at byte|is \d+ at byte|ends past byte)/.exec(message)?.[1] ?? message;
      if (labels.at(-1) !== label) labels.push(label);
    }
    const header = labels.slice(labels.indexOf("version"), labels.indexOf("data offset of tensor w") + 1);
    expect(header).toEqual([
      "version", "tensor count", "metadata count",
      "length of key of metadata entry 0", "value type of k", "element type of value of k", "element count of value of k",
      "length of key of metadata entry 1", "value type of t", "element type of value of t", "element count of value of t", "length of value of t[1]",
      "length of key of metadata entry 2", "value type of s", "length of value of s",
      "length of name of tensor 0", "dimension count of tensor w", "dimension 0 of tensor w", "dimension 1 of tensor w", "type of tensor w", "data offset of tensor w",
    ]);
  });
});

describe("tensor data that ends early when read", () => {
  it("names the file and the tensor, loaded alone or with the others", () => {
    const file = smallGguf();
    const gguf = readGguf(file);
    const offset = gguf.tensors[0].fileOffset;
    const realReadSync = fs.readSync;
    vi.spyOn(fs, "readSync").mockImplementation(((descriptor: number, buffer: Uint8Array, at: number, length: number, position: number) =>
      position >= offset ? 0 : realReadSync(descriptor, buffer, at, length, position)) as typeof fs.readSync);
    const message = `${file}: tensor "w": file is truncated: needed bytes [${offset}, ${offset + 24}) but the file ends at byte ${offset}`;
    expect(errorOf(() => gguf.loadTensor("w")).message).toBe(message);
    expect(errorOf(() => gguf.loadTensors()).message).toBe(message);
  });
});
