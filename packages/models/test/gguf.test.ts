// GGUF writer and reader: tensors of every kernel dtype and metadata of every value type survive a write → read
// round trip bit for bit; v2 files read like v3; lazily loaded tensors are written as declared.

import fs from "node:fs";
import path from "node:path";

import { allDTypes, interleaveTensor, plainDType, Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { ggmlTypeOfDType, readGguf, writeGguf, type GgufMetadataInput, type GgufTypedValue } from "../src/index.ts";
import { expectSameTensor, randomTensor } from "../src/tiny-models/random-tensors.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("gguf");

describe("GGUF tensors", () => {
  it("round-trips tensors of every dtype byte for byte, shape [rows, cols] ↔ ggml dims [cols, rows]", () => {
    const file = path.join(temporaryDirectory(), "all.gguf");
    const tensors = allDTypes.flatMap((dtype, index) => [
      { name: `${dtype}.matrix`, tensor: randomTensor(dtype, [3, 256], 10 + index) }, // [3, 256]
      { name: `${dtype}.stack`, tensor: randomTensor(dtype, [2, 2, 256], 20 + index) }, // [2, 2, 256]
    ]);
    tensors.push({ name: "vector", tensor: randomTensor("f32", [7], 99) }); // [7], ends unaligned
    writeGguf(file, { metadata: { "general.architecture": "test" }, tensors });
    const gguf = readGguf(file);
    expect(gguf.version).toBe(3);
    expect(gguf.alignment).toBe(32);
    expect(gguf.dataOffset % 32).toBe(0);
    expect(gguf.tensors.map((info) => info.name)).toEqual(tensors.map((entry) => entry.name));
    const loaded = gguf.loadTensors();
    for (const { name, tensor } of tensors) {
      const info = gguf.tensorInfo(name)!;
      expect(info.dimensions).toEqual([...tensor.shape].reverse());
      expect(info.ggmlType).toBe(ggmlTypeOfDType[plainDType(tensor.dtype)]);
      expect(info.offset % 32).toBe(0);
      const back = loaded.get(name)!;
      expect(back.dtype, name).toBe(tensor.dtype);
      expect(back.shape, name).toEqual(tensor.shape);
      expectSameTensor(back, tensor, name);
      expectSameTensor(gguf.loadTensor(name), tensor, name);
    }
    expect(gguf.tensorInfo("q4_k.matrix")).toMatchObject({ ggmlType: 12, ggmlTypeName: "Q4_K", dtype: "q4_k", byteLength: 3 * 144 });
    expect(gguf.tensorInfo("q6_k.matrix")).toMatchObject({ ggmlType: 14, byteLength: 3 * 210 });
    expect(gguf.tensorInfo("bf16.matrix")!.ggmlType).toBe(30);
  });

  it("writes lazily loaded tensors in order and reports progress", () => {
    const file = path.join(temporaryDirectory(), "lazy.gguf");
    const order: string[] = [];
    const first = randomTensor("q8_0", [4, 64], 1);
    const second = randomTensor("f16", [5], 2);
    const calls: number[] = [];
    writeGguf(
      file,
      {
        metadata: {},
        tensors: [
          { name: "first", dtype: "q8_0", shape: [4, 64], load: () => (order.push("first"), first) },
          { name: "second", dtype: "f16", shape: [5], load: () => (order.push("second"), second) },
        ],
      },
      { onProgress: (written, total) => calls.push(written / total) },
    );
    expect(order).toEqual(["first", "second"]);
    expect(calls.at(-1)).toBe(1);
    expectSameTensor(readGguf(file).loadTensor("second"), second);
  });

  it("rejects a lazy tensor that does not match its declaration, leaving no file behind", () => {
    const file = path.join(temporaryDirectory(), "mismatch.gguf");
    const wrong = () => writeGguf(file, { metadata: {}, tensors: [{ name: "w", dtype: "f32", shape: [2, 4], load: () => randomTensor("f32", [4, 2], 1) }] });
    expect(wrong).toThrow(/tensor "w": load\(\) returned f32 \[4, 2\], declared f32 \[2, 4\]/);
    expect(fs.readdirSync(path.dirname(file))).toEqual([]);
  });

  it("refuses the in-memory interleaved matmul layouts, naming the plain dtype to write instead", () => {
    const file = path.join(temporaryDirectory(), "packed.gguf");
    const packed = interleaveTensor(randomTensor("q4_0", [16, 64], 3));
    expect(() => writeGguf(file, { metadata: {}, tensors: [{ name: "w", tensor: packed }] })).toThrow(/tensor "w": q4_0x16 is an in-memory matmul layout.*write the q4_0 tensor/);
  });

  it("honours general.alignment", () => {
    const file = path.join(temporaryDirectory(), "aligned.gguf");
    const tensors = [
      { name: "a", tensor: randomTensor("f32", [3], 1) },
      { name: "b", tensor: randomTensor("f32", [5], 2) },
    ];
    writeGguf(file, { metadata: { "general.alignment": { type: "uint32", value: 64 } }, tensors });
    const gguf = readGguf(file);
    expect(gguf.alignment).toBe(64);
    expect(gguf.dataOffset % 64).toBe(0);
    expect(gguf.tensorInfo("b")!.offset).toBe(64);
    expectSameTensor(gguf.loadTensor("b"), tensors[1].tensor);
  });
});

describe("GGUF metadata", () => {
  const metadata = new Map<string, GgufMetadataInput>([
    ["uint8", { type: "uint8", value: 255 }],
    ["int8", { type: "int8", value: -128 }],
    ["uint16", { type: "uint16", value: 65535 }],
    ["int16", { type: "int16", value: -32768 }],
    ["uint32", { type: "uint32", value: 4294967295 }],
    ["int32", { type: "int32", value: -2147483648 }],
    ["float32", { type: "float32", value: 1e-5 }],
    ["float64", { type: "float64", value: Math.PI }],
    ["bool.true", true],
    ["bool.false", { type: "bool", value: false }],
    ["string", "héllo ▁wörld 🦙"],
    ["uint64.small", { type: "uint64", value: 123456789012 }],
    ["uint64.large", 18446744073709551615n],
    ["int64.negative", -9007199254740993n],
    ["int64.small", { type: "int64", value: -5 }],
    ["array.uint8", new Uint8Array([0, 1, 255])],
    ["array.int8", new Int8Array([-128, 0, 127])],
    ["array.uint16", new Uint16Array([0, 65535])],
    ["array.int16", new Int16Array([-32768, 32767])],
    ["array.uint32", new Uint32Array([0, 4294967295])],
    ["array.int32", new Int32Array([-1, 2, -3])],
    ["array.float32", new Float32Array([0.5, -1.25, 1e-30])],
    ["array.float64", new Float64Array([Math.E, -0])],
    ["array.uint64", new BigUint64Array([0n, 18446744073709551615n])],
    ["array.int64", new BigInt64Array([-9223372036854775808n, 1n])],
    ["array.string", ["<unk>", "<s>", "▁the", ""]],
    ["array.bool", [true, false, true]],
    ["array.from.numbers", { type: "array", elementType: "int32", value: [4, 5, 6] }],
    ["array.empty", { type: "array", elementType: "string", value: [] }],
    [
      "array.nested",
      {
        type: "array",
        elementType: "array",
        value: [
          { type: "array", elementType: "string", value: ["a", "b"] },
          { type: "array", elementType: "uint16", value: new Uint16Array([7]) },
        ],
      },
    ],
  ]);

  function writeAndRead() {
    const file = path.join(temporaryDirectory(), "metadata.gguf");
    writeGguf(file, { metadata, tensors: [{ name: "t", tensor: Tensor.fromFloat32([2], new Float32Array([1, 2])) }] });
    return { file, gguf: readGguf(file) };
  }

  it("reads every value type back as the documented JavaScript value", () => {
    const values = writeAndRead().gguf.metadata;
    expect([...values.keys()]).toEqual([...metadata.keys()]);
    expect(values.get("uint8")).toBe(255);
    expect(values.get("int8")).toBe(-128);
    expect(values.get("uint16")).toBe(65535);
    expect(values.get("int16")).toBe(-32768);
    expect(values.get("uint32")).toBe(4294967295);
    expect(values.get("int32")).toBe(-2147483648);
    expect(values.get("float32")).toBe(Math.fround(1e-5));
    expect(values.get("float64")).toBe(Math.PI);
    expect(values.get("bool.true")).toBe(true);
    expect(values.get("bool.false")).toBe(false);
    expect(values.get("string")).toBe("héllo ▁wörld 🦙");
    expect(values.get("uint64.small")).toBe(123456789012);
    expect(values.get("uint64.large")).toBe(18446744073709551615n);
    expect(values.get("int64.negative")).toBe(-9007199254740993n);
    expect(values.get("int64.small")).toBe(-5);
    expect(values.get("array.uint8")).toEqual(new Uint8Array([0, 1, 255]));
    expect(values.get("array.int8")).toEqual(new Int8Array([-128, 0, 127]));
    expect(values.get("array.uint16")).toEqual(new Uint16Array([0, 65535]));
    expect(values.get("array.int16")).toEqual(new Int16Array([-32768, 32767]));
    expect(values.get("array.uint32")).toEqual(new Uint32Array([0, 4294967295]));
    expect(values.get("array.int32")).toEqual(new Int32Array([-1, 2, -3]));
    expect(values.get("array.float32")).toEqual(new Float32Array([0.5, -1.25, 1e-30]));
    expect(values.get("array.float64")).toEqual(new Float64Array([Math.E, -0]));
    expect(values.get("array.uint64")).toEqual(new BigUint64Array([0n, 18446744073709551615n]));
    expect(values.get("array.int64")).toEqual(new BigInt64Array([-9223372036854775808n, 1n]));
    expect(values.get("array.string")).toEqual(["<unk>", "<s>", "▁the", ""]);
    expect(values.get("array.bool")).toEqual([true, false, true]);
    expect(values.get("array.from.numbers")).toEqual(new Int32Array([4, 5, 6]));
    expect(values.get("array.empty")).toEqual([]);
    expect(values.get("array.nested")).toEqual([["a", "b"], new Uint16Array([7])]);
  });

  it("keeps the value types, so typedMetadata() rewrites a byte-identical file", () => {
    const { file, gguf } = writeAndRead();
    expect(gguf.metadataType("uint64.small")).toEqual({ type: "uint64" });
    expect(gguf.metadataType("array.string")).toEqual({ type: "array", elementType: "string" });
    const copy = path.join(temporaryDirectory(), "copy.gguf");
    writeGguf(copy, { metadata: gguf.typedMetadata(), tensors: gguf.tensors.map((info) => ({ name: info.name, tensor: gguf.loadTensor(info.name) })) });
    expect(fs.readFileSync(copy).equals(fs.readFileSync(file))).toBe(true);
  });

  it("writes and reads headers larger than the writer's and reader's buffers (a tokenizer-sized vocabulary)", () => {
    const file = path.join(temporaryDirectory(), "big-header.gguf");
    const tokens = Array.from({ length: 50_000 }, (_, index) => `▁token${index}`);
    const scores = new Float32Array(tokens.length).map((_, index) => -index / 7);
    const tensor = randomTensor("q8_0", [2, 32], 3);
    writeGguf(file, { metadata: { "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.scores": scores }, tensors: [{ name: "t", tensor }] });
    expect(fs.statSync(file).size).toBeGreaterThan(1 << 20);
    const gguf = readGguf(file);
    expect(gguf.metadata.get("tokenizer.ggml.tokens")).toEqual(tokens);
    expect(gguf.metadata.get("tokenizer.ggml.scores")).toEqual(scores);
    expectSameTensor(gguf.loadTensor("t"), tensor);
  });

  it("reads GGUF version 2 files", () => {
    const { file } = writeAndRead();
    const bytes = fs.readFileSync(file);
    bytes.writeUInt32LE(2, 4);
    const version2 = path.join(temporaryDirectory(), "v2.gguf");
    fs.writeFileSync(version2, bytes);
    const gguf = readGguf(version2);
    expect(gguf.version).toBe(2);
    expect(gguf.metadata.get("array.int64")).toEqual(new BigInt64Array([-9223372036854775808n, 1n]));
    expect(gguf.loadTensor("t").data).toEqual(new Float32Array([1, 2]));
  });

  it("refuses ambiguous or invalid values, naming the key", () => {
    const file = path.join(temporaryDirectory(), "bad.gguf");
    const write = (value: unknown) => () => writeGguf(file, { metadata: { "some.key": value as GgufMetadataInput }, tensors: [] });
    expect(write(5)).toThrow(/field "some.key": the plain number 5 is ambiguous/);
    expect(write([])).toThrow(/field "some.key": cannot infer the element type/);
    expect(write({ type: "uint8", value: 256 } satisfies GgufTypedValue)).toThrow(/256 is outside the uint8 range/);
    expect(write({ type: "uint32", value: 1.5 })).toThrow(/must be an integer/);
    expect(write({ type: "array", elementType: "float32", value: new Int32Array(1) })).toThrow(/must be a Float32Array/);
    expect(write({ type: "complex", value: 1 })).toThrow(/unknown GGUF value type "complex"/);
  });
});
