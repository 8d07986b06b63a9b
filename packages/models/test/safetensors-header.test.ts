// The safetensors header check, entry by entry, on hand-written headers: every malformed field named with the tensor
// and what was expected, the length prefix at its limits, __metadata__, and where each tensor's data starts.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { ModelFileError, readSafetensorsHeader } from "../src/index.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("safetensors-header");

/** A file of: u64 header length, the header text, `dataBytes` zero bytes. */
function writeRaw(header: string | Uint8Array, dataBytes: number, lengthPrefix?: bigint): string {
  const file = path.join(temporary(), "model.safetensors");
  const headerBytes = typeof header === "string" ? Buffer.from(header) : Buffer.from(header);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(lengthPrefix ?? BigInt(headerBytes.length));
  fs.writeFileSync(file, Buffer.concat([length, headerBytes, Buffer.alloc(dataBytes)]));
  return file;
}

function problemOf(file: string): string {
  try {
    readSafetensorsHeader(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    return (error as Error).message.slice(file.length + 2);
  }
  throw new Error("expected a ModelFileError");
}

describe("safetensors header entries", () => {
  it("reads each tensor's dtype, shape and absolute data position, and the metadata as strings", () => {
    const header = JSON.stringify({
      __metadata__: { format: "pt", layers: 2 },
      a: { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] },
      b: { dtype: "BF16", shape: [], data_offsets: [24, 26] },
      c: { dtype: "I64", shape: [0], data_offsets: [26, 26] },
      d: { dtype: "F8_E4M3", shape: [4], data_offsets: [26, 30] },
    });
    const file = writeRaw(header, 30);
    const parsed = readSafetensorsHeader(file);
    const dataOffset = 8 + Buffer.byteLength(header);
    expect(parsed).toEqual({
      file,
      metadata: { format: "pt", layers: "2" },
      tensors: [
        { name: "a", storedDType: "F32", shape: [2, 3], file, fileOffset: dataOffset, byteLength: 24 },
        { name: "b", storedDType: "BF16", shape: [], file, fileOffset: dataOffset + 24, byteLength: 2 },
        { name: "c", storedDType: "I64", shape: [0], file, fileOffset: dataOffset + 26, byteLength: 0 },
        { name: "d", storedDType: "F8_E4M3", shape: [4], file, fileOffset: dataOffset + 26, byteLength: 4 },
      ],
      dataOffset,
      fileSize: dataOffset + 30,
    });
    // A dtype it does not know is listed with whatever bytes it claims (loading it is refused later).
    expect(readSafetensorsHeader(writeRaw(JSON.stringify({ x: { dtype: "F4", shape: [3], data_offsets: [0, 5] } }), 5)).tensors[0]).toMatchObject({ storedDType: "F4", byteLength: 5 });
  });

  it("names the tensor and the field of every malformed entry", () => {
    const cases: Array<[entry: unknown, dataBytes: number, problem: string]> = [
      [5, 0, `tensor "w": header entry must be an object with dtype, shape and data_offsets, got 5`],
      [[1], 0, `tensor "w": header entry must be an object with dtype, shape and data_offsets, got [1]`],
      [null, 0, `tensor "w": header entry must be an object with dtype, shape and data_offsets, got null`],
      [{ dtype: 4, shape: [1], data_offsets: [0, 4] }, 4, `tensor "w": header field "dtype" must be a string, got 4`],
      [{ dtype: "F32", shape: 4, data_offsets: [0, 4] }, 4, `tensor "w": header field "shape" must be a list of integers ≥ 0, got 4`],
      [{ dtype: "F32", shape: [-1], data_offsets: [0, 4] }, 4, `tensor "w": header field "shape" must be a list of integers ≥ 0, got [-1]`],
      [{ dtype: "F32", shape: [1.5], data_offsets: [0, 4] }, 4, `tensor "w": header field "shape" must be a list of integers ≥ 0, got [1.5]`],
      [{ dtype: "F32", shape: ["1"], data_offsets: [0, 4] }, 4, `tensor "w": header field "shape" must be a list of integers ≥ 0, got ["1"]`],
      [{ dtype: "F32", shape: [1] }, 4, `tensor "w": header field "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end, got undefined`],
      [{ dtype: "F32", shape: [1], data_offsets: [0, 4, 8] }, 8, `tensor "w": header field "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end, got [0,4,8]`],
      [{ dtype: "F32", shape: [1], data_offsets: [4] }, 8, `tensor "w": header field "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end, got [4]`],
      [{ dtype: "F32", shape: [1], data_offsets: [8, 4] }, 8, `tensor "w": header field "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end, got [8,4]`],
      [{ dtype: "F32", shape: [1], data_offsets: [-4, 0] }, 8, `tensor "w": header field "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end, got [-4,0]`],
      [{ dtype: "F32", shape: [1], data_offsets: [0, 4.5] }, 8, `tensor "w": header field "data_offsets" must be [begin, end] with 0 ≤ begin ≤ end, got [0,4.5]`],
      [{ dtype: "F32", shape: [1], data_offsets: [4, 8] }, 7, `tensor "w": data [4, 8) lies past the end of the file: the data section holds 7 bytes (file truncated?)`],
      [{ dtype: "F32", shape: [2], data_offsets: [0, 4] }, 8, `tensor "w": data_offsets [0, 4) hold 4 bytes but F32 [2] needs 8 bytes`],
      [{ dtype: "F16", shape: [2, 2], data_offsets: [2, 12] }, 12, `tensor "w": data_offsets [2, 12) hold 10 bytes but F16 [2, 2] needs 8 bytes`],
    ];
    for (const [entry, dataBytes, problem] of cases) {
      expect(problemOf(writeRaw(JSON.stringify({ w: entry }), dataBytes)), problem).toBe(problem);
    }
    // Begin equal to end, and end equal to the data size, are fine.
    expect(readSafetensorsHeader(writeRaw(JSON.stringify({ w: { dtype: "F32", shape: [1, 0], data_offsets: [8, 8] }, v: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }), 8)).tensors).toHaveLength(2);
  });

  it("refuses __metadata__ that is not an object, naming the field", () => {
    expect(problemOf(writeRaw(JSON.stringify({ __metadata__: ["pt"] }), 0))).toBe(`field "__metadata__": expected an object of strings`);
    expect(problemOf(writeRaw(JSON.stringify({ __metadata__: "pt" }), 0))).toBe(`field "__metadata__": expected an object of strings`);
  });
});

describe("the safetensors length prefix", () => {
  it("accepts a header that ends exactly at the end of the file", () => {
    const file = writeRaw("{}", 0);
    expect(readSafetensorsHeader(file)).toEqual({ file, metadata: {}, tensors: [], dataOffset: 10, fileSize: 10 });
  });

  it("says the file is truncated when the header runs one byte past its end", () => {
    const file = writeRaw("{}", 0, 3n);
    expect(problemOf(file)).toBe("file is truncated: the header needs 3 bytes after byte 8 but the file has 10 bytes");
  });

  it("takes a length over 100 MB as a sign of another format", () => {
    expect(problemOf(writeRaw("{}", 0, 100_000_001n))).toBe("not a safetensors file: the first 8 bytes give a header length of 100000001 bytes (limit 100000000)");
    expect(problemOf(writeRaw("{}", 0, 100_000_000n))).toBe("file is truncated: the header needs 100000000 bytes after byte 8 but the file has 10 bytes");
  });

  it("refuses files of fewer than 8 bytes, and headers that are not UTF-8 JSON objects", () => {
    const short = path.join(temporary(), "short.safetensors");
    fs.writeFileSync(short, Buffer.alloc(7));
    expect(problemOf(short)).toBe("file is truncated: 7 bytes, a safetensors file starts with an 8-byte header length");
    expect(problemOf(writeRaw("", 0))).toMatch(/^invalid header JSON \(0 bytes after the length prefix\): /);
    expect(problemOf(writeRaw(Uint8Array.of(0x7b, 0xff, 0x7d), 0))).toMatch(/^invalid header JSON \(3 bytes after the length prefix\): /);
    expect(problemOf(writeRaw("null", 0))).toBe("invalid header JSON: expected an object mapping tensor names to entries");
    expect(problemOf(writeRaw('"text"', 0))).toBe("invalid header JSON: expected an object mapping tensor names to entries");
  });
});
