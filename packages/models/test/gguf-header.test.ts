// GGUF headers written byte by byte: every malformed header field is a ModelFileError naming the file, the key or
// tensor, and what was expected (version hints, counts the file cannot hold, value types, bools, alignment, tensor
// dimensions, block sizes, offsets, duplicates); valid edge values read back.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { ModelFileError, readGguf } from "../src/index.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { ggufString as text, u32, u64 } from "./helpers/little-endian.ts";

const temporary = useTemporaryDirectories("gguf-header");

/** A metadata entry: key, value type code, value bytes. */
const entry = (key: string, type: number, value: Buffer) => Buffer.concat([text(key), u32(type), value]);
/** A tensor info: name, dimensions (ggml order), type code, offset. */
const tensorInfo = (name: string, dimensions: Array<number | bigint>, type: number, offset: number | bigint) =>
  Buffer.concat([text(name), u32(dimensions.length), ...dimensions.map(u64), u32(type), u64(offset)]);

/** "GGUF", version, counts, entries, tensor infos, padding to 32 and `data` bytes. */
function gguf(options: { version?: number; metadata?: Buffer[]; tensors?: Buffer[]; data?: number; tensorCount?: number; metadataCount?: number }): string {
  const metadata = options.metadata ?? [];
  const tensors = options.tensors ?? [];
  const header = Buffer.concat([
    Buffer.from("GGUF"),
    u32(options.version ?? 3),
    u64(options.tensorCount ?? tensors.length),
    u64(options.metadataCount ?? metadata.length),
    ...metadata,
    ...tensors,
  ]);
  const padded = Math.ceil(header.length / 32) * 32;
  const file = path.join(temporary(), "model.gguf");
  fs.writeFileSync(file, Buffer.concat([header, Buffer.alloc(padded - header.length + (options.data ?? 0))]));
  return file;
}

function problemOf(file: string): string {
  try {
    readGguf(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    return (error as Error).message.slice(file.length + 2);
  }
  throw new Error("expected a ModelFileError");
}

describe("GGUF header fields", () => {
  it("reads a minimal file and tensors at aligned offsets", () => {
    const file = gguf({ tensors: [tensorInfo("a", [4, 2], 0, 0), tensorInfo("b", [32], 8, 32)], data: 32 + 34 });
    const parsed = readGguf(file);
    expect(parsed.version).toBe(3);
    expect(parsed.alignment).toBe(32);
    expect(parsed.tensors.map(({ name, shape, ggmlTypeName, byteLength, offset }) => ({ name, shape, ggmlTypeName, byteLength, offset }))).toEqual([
      { name: "a", shape: [2, 4], ggmlTypeName: "F32", byteLength: 32, offset: 0 },
      { name: "b", shape: [32], ggmlTypeName: "Q8_0", byteLength: 34, offset: 32 },
    ]);
    expect(parsed.tensors[1].fileOffset).toBe(parsed.dataOffset + 32);
    expect(parsed.dataOffset % 32).toBe(0);
    const aligned64 = gguf({ metadata: [entry("general.alignment", 4, u32(64))], tensors: [tensorInfo("a", [4], 0, 0), tensorInfo("b", [4], 0, 64)], data: 80 });
    const wide = readGguf(aligned64);
    expect(wide.alignment).toBe(64);
    expect(wide.dataOffset % 64).toBe(0);
  });

  it("names the version with a hint for big-endian and v1 files", () => {
    expect(problemOf(gguf({ version: 0x03000000 }))).toBe(`field "version": expected GGUF version 2 or 3, got 50331648 (a big-endian GGUF file?)`);
    expect(problemOf(gguf({ version: 0x10000 }))).toBe(`field "version": expected GGUF version 2 or 3, got 65536 (a big-endian GGUF file?)`);
    expect(problemOf(gguf({ version: 0xffff }))).toBe(`field "version": expected GGUF version 2 or 3, got 65535`);
    expect(problemOf(gguf({ version: 1 }))).toBe(`field "version": expected GGUF version 2 or 3, got 1 (GGUF v1 is obsolete; reconvert the model)`);
    expect(problemOf(gguf({ version: 4 }))).toBe(`field "version": expected GGUF version 2 or 3, got 4`);
    const tiny = path.join(temporary(), "tiny.gguf");
    fs.writeFileSync(tiny, "GGU");
    expect(problemOf(tiny)).toBe("file is truncated: 3 bytes, too short for the GGUF magic");
  });

  it("refuses counts the rest of the file cannot hold", () => {
    const file = gguf({ tensorCount: 1000 });
    const size = fs.statSync(file).size;
    expect(problemOf(file)).toBe(`file is truncated or corrupt: tensor count is 1000 at byte 8, more than the ${size} the rest of the file can hold`);
    expect(problemOf(gguf({ metadataCount: 2 ** 40 }))).toMatch(/^file is truncated or corrupt: metadata count is 1099511627776 at byte 16, more than the \d+ the rest of the file can hold$/);
    const array = gguf({ metadata: [entry("k", 9, Buffer.concat([u32(4), u64(1000)]))] });
    expect(problemOf(array)).toMatch(/^file is truncated or corrupt: element count of value of k is 1000 at byte \d+, more than the \d+ the rest of the file can hold$/);
    const strings = gguf({ metadata: [entry("k", 8, u64(5000))] });
    expect(problemOf(strings)).toMatch(/^file is truncated or corrupt: length of value of k is 5000 at byte \d+/);
  });

  it("names the key of a bad metadata value", () => {
    expect(problemOf(gguf({ metadata: [entry("k", 13, u32(0))] }))).toBe(`field "k": unknown metadata value type 13 (expected 0..12)`);
    expect(problemOf(gguf({ metadata: [entry("k", 9, Buffer.concat([u32(14), u64(0)]))] }))).toBe(`field "k": unknown metadata value type 14 (expected 0..12)`);
    expect(problemOf(gguf({ metadata: [entry("k", 7, Buffer.from([2]))] }))).toBe("value of k: a bool must be 0 or 1, got 2");
    expect(readGguf(gguf({ metadata: [entry("k", 7, Buffer.from([1])), entry("j", 7, Buffer.from([0]))] })).metadata).toEqual(new Map<string, unknown>([["k", true], ["j", false]]));
    expect(problemOf(gguf({ metadata: [entry("k", 4, u32(1)), entry("k", 4, u32(2))] }))).toBe(`field "k": metadata key appears twice`);
  });

  it("accepts general.alignment only as a uint32 power of two", () => {
    const cases: Array<[Buffer, string]> = [
      [entry("general.alignment", 10, u64(32)), "uint64 32"],
      [entry("general.alignment", 4, u32(0)), "uint32 0"],
      [entry("general.alignment", 4, u32(48)), "uint32 48"],
    ];
    for (const [alignment, got] of cases) {
      expect(problemOf(gguf({ metadata: [alignment] }))).toBe(`field "general.alignment": expected a uint32 power of two, got ${got}`);
    }
    expect(readGguf(gguf({ metadata: [entry("general.alignment", 4, u32(1))] })).alignment).toBe(1);
  });

  it("names the tensor of a bad tensor info", () => {
    const cases: Array<[Buffer[], string]> = [
      [[tensorInfo("t", [], 0, 0)], `tensor "t": dimension count must be 1..4, got 0`],
      [[tensorInfo("t", [1, 1, 1, 1, 1], 0, 0)], `tensor "t": dimension count must be 1..4, got 5`],
      [[tensorInfo("t", [2n ** 53n], 0, 0)], `tensor "t": dimension 0 is 9007199254740992, too large`],
      [[tensorInfo("t", [4], 0, 2n ** 53n)], `tensor "t": data offset 9007199254740992 is too large`],
      [[tensorInfo("t", [4], 4, 0)], `tensor "t": has unknown type 4, which is not a ggml type this reader knows`],
      [[tensorInfo("t", [31, 2], 8, 0)], `tensor "t": rows of 31 values are not a whole number of Q8_0 blocks of 32`],
      [[tensorInfo("t", [4], 0, 16)], `tensor "t": data offset 16 is not a multiple of the alignment 32`],
      [[tensorInfo("t", [4], 0, 0), tensorInfo("t", [4], 0, 32)], `tensor "t": tensor name appears twice`],
    ];
    for (const [tensors, problem] of cases) expect(problemOf(gguf({ tensors, data: 64 })), problem).toBe(problem);
    // Four dimensions and the largest safe dimension and offset are fine as header values.
    expect(readGguf(gguf({ tensors: [tensorInfo("t", [2, 1, 1, 2], 0, 0)], data: 16 })).tensors[0].shape).toEqual([2, 1, 1, 2]);
  });
});
