// The GGUF writer's checks and layout: every metadata value it cannot write unambiguously is refused naming the key
// and what was expected; tensors it cannot write are refused naming the tensor; data offsets follow the alignment,
// a 0-D tensor is written as [1], and progress counts the tensor bytes without padding.

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { ModelFileError, readGguf, writeGguf, type GgufMetadataInput, type GgufTensorSource } from "../src/index.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("gguf-writer");

function problemOf(action: (file: string) => void): string {
  const file = path.join(temporary(), "out.gguf");
  try {
    action(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    expect(fs.readdirSync(path.dirname(file))).toEqual([]);
    return (error as Error).message.slice(file.length + 2);
  }
  throw new Error("expected a ModelFileError");
}

const withValue = (value: unknown) => (file: string) => writeGguf(file, { metadata: { k: value as GgufMetadataInput }, tensors: [] });
const typeNames = "uint8, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64";

describe("metadata the writer refuses", () => {
  it("names the key and what was expected", () => {
    const cases: Array<[unknown, string]> = [
      [{ type: "string", value: 5 }, "a string value must be a string, got number"],
      [{ type: "bool", value: 1 }, "a bool value must be a boolean, got number"],
      [{ type: "float32", value: "1" }, "a float32 value must be a number, got string"],
      [{ type: "float64", value: 1n }, "a float64 value must be a number, got bigint"],
      [{ type: "uint8", value: "1" }, "a uint8 value must be a number or bigint, got string"],
      [{ type: "int32", value: 2 ** 53 }, "a int32 value must be an integer, got 9007199254740992"],
      [{ type: "int8", value: -129 }, "-129 is outside the int8 range [-128, 127]"],
      [{ type: "int8", value: 128 }, "128 is outside the int8 range [-128, 127]"],
      [{ type: "uint16", value: 65536 }, "65536 is outside the uint16 range [0, 65535]"],
      [{ type: "int16", value: -32769 }, "-32769 is outside the int16 range [-32768, 32767]"],
      [{ type: "uint32", value: -1 }, "-1 is outside the uint32 range [0, 4294967295]"],
      [{ type: "int32", value: 2147483648 }, "2147483648 is outside the int32 range [-2147483648, 2147483647]"],
      [{ type: "uint64", value: -1n }, "-1 is outside the uint64 range [0, 18446744073709551615]"],
      [{ type: "int64", value: 2n ** 63n }, "9223372036854775808 is outside the int64 range [-9223372036854775808, 9223372036854775807]"],
      [{ type: "array", value: [] }, `an array needs an elementType (one of ${typeNames})`],
      [{ type: "array", elementType: "complex", value: [] }, `an array needs an elementType (one of ${typeNames})`],
      [{ type: "array", elementType: "uint16", value: new Uint8Array(2) }, "an array of uint16 must be a Uint16Array, got Uint8Array"],
      [{ type: "array", elementType: "string", value: "abc" }, "an array value must be an array or typed array, got string"],
      [{ type: "array", elementType: "string", value: ["a", 5] }, "a string value must be a string, got number"],
      [{ type: "array", elementType: "array", value: [5] }, `elements of an array of arrays must be { type: "array", elementType, value }`],
      [{ type: "array", elementType: "array", value: [{ type: "array", value: [] }] }, `elements of an array of arrays must be { type: "array", elementType, value }`],
      [5, `the plain number 5 is ambiguous in GGUF; write it as { type: "uint32" | "int32" | "float32" | ..., value: 5 }`],
      [new DataView(new ArrayBuffer(4)), "DataView is not a GGUF array type"],
      [["a", true], `cannot infer the element type of this array (empty or mixed); write it as { type: "array", elementType, value }`],
      [[], `cannot infer the element type of this array (empty or mixed); write it as { type: "array", elementType, value }`],
      [{ value: 1 }, "unsupported metadata value [object Object]"],
      [null, "unsupported metadata value null"],
    ];
    for (const [value, problem] of cases) expect(problemOf(withValue(value)), problem).toBe(`field "k": ${problem}`);
  });

  it("writes the edges of each integer range and infers the types it can", () => {
    const file = path.join(temporary(), "edges.gguf");
    writeGguf(file, {
      metadata: {
        int8: { type: "int8", value: -128 },
        uint8: { type: "uint8", value: 255 },
        int64: { type: "int64", value: -(2n ** 63n) },
        uint64: { type: "uint64", value: 2n ** 64n - 1n },
        negative: -3n,
        positive: 3n,
        flags: [true, false],
        nested: { type: "array", elementType: "array", value: [{ type: "array", elementType: "bool", value: [true] }] },
      },
      tensors: [],
    });
    const gguf = readGguf(file);
    expect(gguf.metadata.get("int8")).toBe(-128);
    expect(gguf.metadata.get("uint8")).toBe(255);
    expect(gguf.metadata.get("int64")).toBe(-(2n ** 63n));
    expect(gguf.metadata.get("uint64")).toBe(2n ** 64n - 1n);
    expect(gguf.metadataType("negative")).toEqual({ type: "int64" });
    expect(gguf.metadataType("positive")).toEqual({ type: "uint64" });
    expect(gguf.metadata.get("flags")).toEqual([true, false]);
    expect(gguf.metadata.get("nested")).toEqual([[true]]);
  });

  it("accepts general.alignment only as a uint32 power of two", () => {
    for (const value of [0, 24, -8]) {
      expect(problemOf((file) => writeGguf(file, { metadata: { "general.alignment": { type: "int32", value } }, tensors: [] }))).toBe(
        `field "general.alignment": expected a uint32 power of two, got int32 ${value}`,
      );
    }
    for (const value of [0, 24]) {
      expect(problemOf((file) => writeGguf(file, { metadata: { "general.alignment": { type: "uint32", value } }, tensors: [] }))).toBe(
        `field "general.alignment": expected a uint32 power of two, got uint32 ${value}`,
      );
    }
  });
});

describe("tensors the writer refuses", () => {
  const f32 = (shape: number[]) => Tensor.zeros("f32", shape);
  const write = (tensors: GgufTensorSource[]) => (file: string) => writeGguf(file, { metadata: {}, tensors });

  it("names the tensor and what is wrong", () => {
    const long = "x".repeat(64);
    const cases: Array<[GgufTensorSource[], string]> = [
      [[{ name: "t", tensor: f32([2]) }, { name: "t", tensor: f32([2]) }], `tensor "t": tensor name given twice`],
      [[{ name: long, tensor: f32([2]) }], `tensor "${long}": name is longer than the 63 bytes ggml allows`],
      [[{ name: "é".repeat(32), tensor: f32([2]) }], `tensor "${"é".repeat(32)}": name is longer than the 63 bytes ggml allows`],
      [[{ name: "t", tensor: f32([1, 1, 1, 1, 2]) }], `tensor "t": GGUF tensors have at most 4 dimensions, got [1, 1, 1, 1, 2]`],
      [[{ name: "t", tensor: f32([2, 3]).transpose() }], `tensor "t": must be contiguous, got strides [1, 3]`],
      [[{ name: "t", dtype: "q8_0", shape: [2, 31], load: () => f32([2, 31]) }], `tensor "t": q8_0 [2, 31]: `],
    ];
    for (const [tensors, problem] of cases) expect(problemOf(write(tensors)).startsWith(problem), problem).toBe(true);
  });

  it("accepts names of exactly 63 bytes and four dimensions", () => {
    const file = path.join(temporary(), "edges.gguf");
    writeGguf(file, { metadata: {}, tensors: [{ name: "y".repeat(63), tensor: f32([1, 2, 1, 2]) }] });
    expect(readGguf(file).tensors[0]).toMatchObject({ name: "y".repeat(63), shape: [1, 2, 1, 2] });
  });
});

describe("tensor layout", () => {
  it("aligns each tensor's data, writes a 0-D tensor as [1], and counts progress without padding", () => {
    for (const alignment of [32, 64]) {
      const file = path.join(temporary(), `aligned-${alignment}.gguf`);
      const progress: Array<[number, number]> = [];
      writeGguf(
        file,
        {
          metadata: alignment === 32 ? {} : { "general.alignment": { type: "uint32", value: alignment } },
          tensors: [
            { name: "three", tensor: Tensor.fromFloat32([3], Float32Array.of(1, 2, 3)) },
            { name: "scalar", tensor: Tensor.fromFloat32([], Float32Array.of(7)) },
            { name: "last", dtype: "f32", shape: [2], load: () => Tensor.fromFloat32([2], Float32Array.of(8, 9)) },
          ],
        },
        { onProgress: (done, total) => progress.push([done, total]) },
      );
      const gguf = readGguf(file);
      expect(gguf.tensors.map((info) => [info.name, info.offset, info.dimensions])).toEqual([
        ["three", 0, [3]],
        ["scalar", alignment, [1]],
        ["last", 2 * alignment, [2]],
      ]);
      expect(gguf.dataOffset % alignment).toBe(0);
      expect(fs.statSync(file).size).toBe(gguf.dataOffset + 3 * alignment);
      expect(Array.from(gguf.loadTensor("last").data as Float32Array)).toEqual([8, 9]);
      expect(Array.from(gguf.loadTensor("scalar").data as Float32Array)).toEqual([7]);
      expect(progress).toEqual([[12, 24], [16, 24], [24, 24]]);
    }
  });
});
