// GGUF at the byte level, against the format as llama.cpp's docs/gguf.md lays it out (little-endian; "GGUF", u32
// version, u64 tensor count, u64 metadata count; key = u64 length + UTF-8, u32 value type, value; tensor infos; data
// aligned to general.alignment): the writer's exact bytes, values read back exactly at the edges of their ranges,
// the exact limits behind "the rest of the file can hold", loading by name with progress, the writer's remaining
// refusals, and the cursor's reads (in chunks, across short reads, and a file that shrinks while read).

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { afterEach, describe, expect, it, vi } from "vitest";

import { readGguf, writeGguf, type GgufMetadataInput, type GgufTensorSource } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { ggufString as text, u16, u32, u64 } from "./helpers/little-endian.ts";

const temporary = useTemporaryDirectories("gguf-bytes");

const u8 = (value: number) => Buffer.from([value]);
const i16 = (value: number) => {
  const bytes = Buffer.alloc(2);
  bytes.writeInt16LE(value);
  return bytes;
};
const i32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32LE(value);
  return bytes;
};
const f32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeFloatLE(value);
  return bytes;
};
/** GGUF value type codes (gguf.md: GGUF_METADATA_VALUE_TYPE_*). */
const type = { uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12 };

/** "GGUF", version 3, the counts, then `rest` as given (no padding added). */
function rawGguf(tensorCount: number, metadataCount: number, ...rest: Buffer[]): string {
  const file = path.join(temporary(), "raw.gguf");
  fs.writeFileSync(file, Buffer.concat([Buffer.from("GGUF"), u32(3), u64(tensorCount), u64(metadataCount), ...rest]));
  return file;
}

const problemOf = (file: string) => {
  const error = errorOf(() => readGguf(file));
  expect(error.file).toBe(file);
  return error.message.slice(file.length + 2);
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the writer's bytes", () => {
  it("are exactly the GGUF v3 layout: header, typed metadata, tensor infos in ggml order, aligned data", () => {
    const file = path.join(temporary(), "exact.gguf");
    const halves = new Uint16Array([0xaaaa, 0x0102, 0x0304]).subarray(1); // a view that does not start at byte 0
    const values = Float32Array.of(1, 2, 3, 4, 5, 6);
    writeGguf(file, {
      metadata: new Map<string, GgufMetadataInput>([
        ["u16", { type: "uint16", value: 0x1234 }],
        ["i16", { type: "int16", value: -2 }],
        ["u32", { type: "uint32", value: 0x01020304 }],
        ["i32", { type: "int32", value: -0x01020304 }],
        ["f32", { type: "float32", value: 1.5 }],
        ["zero", 0n],
        ["halves", halves],
        ["flags", [true, false]],
      ]),
      tensors: [{ name: "t", tensor: Tensor.fromFloat32([2, 3], values) }],
    });
    const header = Buffer.concat([
      Buffer.from("GGUF"),
      u32(3),
      u64(1),
      u64(8),
      text("u16"), u32(type.uint16), u16(0x1234),
      text("i16"), u32(type.int16), i16(-2),
      text("u32"), u32(type.uint32), u32(0x01020304),
      text("i32"), u32(type.int32), i32(-0x01020304),
      text("f32"), u32(type.float32), f32(1.5),
      text("zero"), u32(type.uint64), u64(0),
      text("halves"), u32(type.array), u32(type.uint16), u64(2), u16(0x0102), u16(0x0304),
      text("flags"), u32(type.array), u32(type.bool), u64(2), u8(1), u8(0),
      text("t"), u32(2), u64(3), u64(2), u32(0), u64(0), // ggml dimensions innermost first: [3, 2]; type F32; offset 0
    ]);
    const dataOffset = Math.ceil(header.length / 32) * 32;
    const expected = Buffer.concat([header, Buffer.alloc(dataOffset - header.length), Buffer.from(values.buffer), Buffer.alloc(32 - 24)]);
    expect(fs.readFileSync(file).equals(expected)).toBe(true);

    const gguf = readGguf(file);
    expect([...gguf.metadata]).toEqual([
      ["u16", 0x1234],
      ["i16", -2],
      ["u32", 0x01020304],
      ["i32", -0x01020304],
      ["f32", 1.5],
      ["zero", 0],
      ["halves", Uint16Array.of(0x0102, 0x0304)],
      ["flags", [true, false]],
    ]);
    expect(gguf.metadataType("zero")).toStrictEqual({ type: "uint64" });
    expect(gguf.metadataType("halves")).toStrictEqual({ type: "array", elementType: "uint16" });
    expect(gguf.metadataType("absent")).toBeUndefined();
    expect(gguf.dataOffset).toBe(dataOffset);
    expect(gguf.fileSize).toBe(expected.length);
    expect(gguf.tensorInfo("t")).toEqual({
      name: "t",
      dimensions: [3, 2],
      shape: [2, 3],
      ggmlType: 0,
      ggmlTypeName: "F32",
      dtype: "f32",
      offset: 0,
      fileOffset: dataOffset,
      byteLength: 24,
    });
    expect(gguf.tensorInfo("absent")).toBeUndefined();
  });

  it("with general.alignment 1 add no padding at all", () => {
    const file = path.join(temporary(), "packed.gguf");
    const a = Tensor.fromFloat32([3], Float32Array.of(1, 2, 3));
    const b = Tensor.fromFloat32([1], Float32Array.of(4));
    writeGguf(file, { metadata: { "general.alignment": { type: "uint32", value: 1 } }, tensors: [{ name: "a", tensor: a }, { name: "b", tensor: b }] });
    const gguf = readGguf(file);
    expect(gguf.tensors.map((info) => [info.name, info.offset])).toEqual([["a", 0], ["b", 12]]);
    expect(gguf.fileSize).toBe(gguf.dataOffset + 16);
    expect(Array.from(gguf.loadTensor("b").data as Float32Array)).toEqual([4]);
  });
});

describe("values at the edges of their ranges", () => {
  it("reads 64-bit integers as numbers while they are safe integers and as bigints beyond", () => {
    const file = path.join(temporary(), "edges.gguf");
    const safe = 2n ** 53n - 1n;
    writeGguf(file, {
      metadata: {
        "u.safe": { type: "uint64", value: safe },
        "u.beyond": { type: "uint64", value: safe + 1n },
        "i.safe": { type: "int64", value: -safe },
        "i.beyond": { type: "int64", value: -safe - 1n },
        "i.high": { type: "int64", value: safe },
        "i.higher": { type: "int64", value: safe + 1n },
      },
      tensors: [],
    });
    expect([...readGguf(file).metadata]).toEqual([
      ["u.safe", Number.MAX_SAFE_INTEGER],
      ["u.beyond", 2n ** 53n],
      ["i.safe", Number.MIN_SAFE_INTEGER],
      ["i.beyond", -(2n ** 53n)],
      ["i.high", Number.MAX_SAFE_INTEGER],
      ["i.higher", 2n ** 53n],
    ]);
  });

  it("accepts the largest safe dimension and offset as header values, then checks them against the data", () => {
    const largest = 2n ** 53n - 1n;
    const dimension = rawGguf(1, 0, text("t"), u32(1), u64(largest), u32(0 /* F32 */), u64(0));
    expect(problemOf(dimension)).toMatch(/^tensor "t": data \[\d+, \d+\) \(F32 \[9007199254740991\], \d+ bytes\) lies past the end of the file at byte \d+ \(file truncated\?\)$/);
    const offset = rawGguf(1, 0, text("t"), u32(1), u64(4), u32(0), u64(largest));
    expect(problemOf(offset)).toBe(`tensor "t": data offset 9007199254740991 is not a multiple of the alignment 32`);
  });
});

describe("what the rest of the file can hold", () => {
  // Header (24 bytes), key "k" (9), value type (4): the value starts at byte 37.
  const arrayOf = (elementType: number, count: number, ...elements: Buffer[]) =>
    rawGguf(0, 1, text("k"), u32(type.array), u32(elementType), u64(count), ...elements);

  it("bounds an array's element count by its smallest element: 4 bytes for uint32, 8 for a string, 12 for an array", () => {
    const words = [u32(7), u32(8), u32(9)];
    expect(readGguf(arrayOf(type.uint32, 3, ...words)).metadata.get("k")).toEqual(Uint32Array.of(7, 8, 9));
    expect(problemOf(arrayOf(type.uint32, 4, ...words))).toBe("file is truncated or corrupt: element count of value of k is 4 at byte 41, more than the 3 the rest of the file can hold");

    const strings = [text(""), text(""), text("")];
    expect(readGguf(arrayOf(type.string, 3, ...strings)).metadata.get("k")).toEqual(["", "", ""]);
    expect(problemOf(arrayOf(type.string, 4, ...strings))).toBe("file is truncated or corrupt: element count of value of k is 4 at byte 41, more than the 3 the rest of the file can hold");

    const empty = Buffer.concat([u32(type.uint8), u64(0)]);
    expect(readGguf(arrayOf(type.array, 2, empty, empty)).metadata.get("k")).toEqual([new Uint8Array(0), new Uint8Array(0)]);
    expect(problemOf(arrayOf(type.array, 3, empty, empty))).toBe("file is truncated or corrupt: element count of value of k is 3 at byte 41, more than the 2 the rest of the file can hold");
  });

  it("bounds a string's length by the bytes after it, and the metadata count by the file size", () => {
    const string = (length: number) => rawGguf(0, 1, text("k"), u32(type.string), u64(length), Buffer.from("hello"));
    expect(readGguf(string(5)).metadata.get("k")).toBe("hello");
    expect(problemOf(string(6))).toBe("file is truncated or corrupt: length of value of k is 6 at byte 37, more than the 5 the rest of the file can hold");
    const size = 24 + 9 + 4 + 4;
    expect(problemOf(rawGguf(0, size + 1, text("k"), u32(type.uint32), u32(1)))).toBe(
      `file is truncated or corrupt: metadata count is ${size + 1} at byte 16, more than the ${size} the rest of the file can hold`,
    );
  });

  it("names what a truncated header needed, where, and where the file ends", () => {
    const magicOnly = path.join(temporary(), "magic.gguf");
    fs.writeFileSync(magicOnly, "GGUF");
    expect(problemOf(magicOnly)).toBe("file is truncated: version needs 4 bytes at byte 4 but the file ends at byte 4");
    expect(problemOf(rawGguf(0, 1, text("k"), u32(type.uint64), u32(0)))).toBe("file is truncated: value of k needs 8 bytes at byte 37 but the file ends at byte 41");
    const magic = path.join(temporary(), "magic-bytes.gguf");
    fs.writeFileSync(magic, Buffer.from([0x00, 0x0a, 0x47, 0xff, 3, 0, 0, 0]));
    expect(problemOf(magic)).toBe(`bad magic: expected "GGUF" (47 47 55 46) at byte 0, got 00 0a 47 ff — not a GGUF file`);
  });
});

describe("loading tensors by name", () => {
  it("loads only the named tensors, in the order asked, counting only their bytes, and names a missing one", () => {
    const file = path.join(temporary(), "named.gguf");
    const tensors: GgufTensorSource[] = [
      { name: "a", tensor: Tensor.fromFloat32([4], Float32Array.of(1, 2, 3, 4)) },
      { name: "b", tensor: Tensor.fromFloat32([2], Float32Array.of(5, 6)) },
      { name: "c", tensor: Tensor.fromFloat32([1], Float32Array.of(7)) },
    ];
    writeGguf(file, { metadata: {}, tensors });
    const gguf = readGguf(file);
    const progress: Array<[number, number]> = [];
    const loaded = gguf.loadTensors({ names: ["c", "a"], onProgress: (done, total) => progress.push([done, total]) });
    expect([...loaded.keys()]).toEqual(["c", "a"]);
    expect(Array.from(loaded.get("c")!.data as Float32Array)).toEqual([7]);
    expect(Array.from(loaded.get("a")!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(progress).toEqual([[4, 20], [20, 20]]);
    expect(errorOf(() => gguf.loadTensors({ names: ["a", "nope"] })).message).toBe(`${file}: tensor "nope": missing: the file has 3 tensors and none by this name`);
    expect(errorOf(() => gguf.loadTensor("nope")).message).toBe(`${file}: tensor "nope": missing: the file has 3 tensors and none by this name`);
  });
});

describe("metadata and tensors the writer refuses", () => {
  const refusal = (write: (file: string) => void) => {
    const directory = temporary();
    const file = path.join(directory, "out.gguf");
    const error = errorOf(() => write(file));
    expect(fs.readdirSync(directory)).toEqual([]);
    return error.message.slice(file.length + 2);
  };

  it("names the key of values it cannot type", () => {
    const withValue = (value: unknown) => (file: string) => writeGguf(file, { metadata: { k: value as GgufMetadataInput }, tensors: [] });
    expect(refusal(withValue({ type: "uint32" }))).toBe(`field "k": unsupported metadata value [object Object]`);
    expect(refusal(withValue({ type: "array", elementType: "string", value: Uint8Array.of(1) }))).toBe(`field "k": an array value must be an array or typed array, got object`);
    expect(refusal(withValue({ type: "array", elementType: "bool", value: [true, 1] }))).toBe(`field "k": a bool value must be a boolean, got number`);
    const alignment = (value: number) => (file: string) => writeGguf(file, { metadata: { "general.alignment": { type: "uint32", value } }, tensors: [] });
    expect(refusal(alignment(2.5))).toBe(`field "general.alignment": expected a uint32 power of two, got uint32 2.5`);
    expect(refusal(alignment(-8))).toBe(`field "general.alignment": expected a uint32 power of two, got uint32 -8`);
  });

  it("names the tensor whose load() returns another dtype, rank or a non-contiguous tensor", () => {
    const lazy = (load: () => Tensor) => (file: string) => writeGguf(file, { metadata: {}, tensors: [{ name: "w", dtype: "f32", shape: [2, 1], load }] });
    expect(refusal(lazy(() => Tensor.zeros("f16", [2, 1])))).toBe(`tensor "w": load() returned f16 [2, 1], declared f32 [2, 1]`);
    expect(refusal(lazy(() => Tensor.zeros("f32", [2])))).toBe(`tensor "w": load() returned f32 [2], declared f32 [2, 1]`);
    const square = (file: string) =>
      writeGguf(file, { metadata: {}, tensors: [{ name: "w", dtype: "f32", shape: [2, 2], load: () => Tensor.fromFloat32([2, 2], Float32Array.of(1, 2, 3, 4)).transpose() }] });
    expect(refusal(square)).toBe(`tensor "w": load() returned f32 [2, 2] (not contiguous), declared f32 [2, 2]`);
  });
});

describe("the cursor's reads", () => {
  it("read a header that fits in one chunk with one read call", () => {
    const file = rawGguf(0, 1, text("k"), u32(type.array), u32(type.uint32), u64(2), u32(1), u32(2));
    const reads = vi.spyOn(fs, "readSync");
    expect(readGguf(file).metadata.get("k")).toEqual(Uint32Array.of(1, 2));
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it("read a header of more than 1 MiB in 1 MiB chunks", () => {
    const file = path.join(temporary(), "big.gguf");
    const tokens = Array.from({ length: 80_000 }, (_, index) => `token${index}`); // about 1.4 MiB of strings
    writeGguf(file, { metadata: { "tokenizer.ggml.tokens": tokens }, tensors: [] });
    const size = fs.statSync(file).size;
    const reads = vi.spyOn(fs, "readSync");
    expect(readGguf(file).metadata.get("tokenizer.ggml.tokens")).toEqual(tokens);
    const requested = reads.mock.calls.map((call) => (call as unknown[])[3] as number); // (descriptor, buffer, offset, length, position)
    expect(Math.max(...requested)).toBe(1 << 20);
    expect(reads.mock.calls.length).toBeLessThanOrEqual(Math.ceil(size / ((1 << 20) - 64)));
  });

  it("carry on across short reads, and call a file that shrinks while read truncated", () => {
    const file = rawGguf(0, 2, text("k"), u32(type.string), text("value"), text("n"), u32(type.int16), i16(-300));
    const readSync = fs.readSync;
    vi.spyOn(fs, "readSync").mockImplementation(((descriptor: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
      readSync(descriptor, buffer, offset, Math.min(length, 7), position)) as typeof fs.readSync); // 7 does not divide the 65-byte file
    expect([...readGguf(file).metadata]).toEqual([["k", "value"], ["n", -300]]);
    vi.restoreAllMocks();
    let calls = 0;
    vi.spyOn(fs, "readSync").mockImplementation(((descriptor: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
      calls++ === 0 ? readSync(descriptor, buffer, offset, 10, position) : 0) as typeof fs.readSync);
    expect(problemOf(file)).toBe("file is truncated: magic ends past byte 10");
  });
});
