// What the PyTorch checkpoint writer (tiny-models/pytorch-writer.ts) must produce, read back without Python and
// without the package's own ZIP reader: the ZIP directory parsed here from its fixed-layout records (entry names
// under the file's base name as torch.save spells them, sizes, offsets, CRC-32 checked against zlib's), the entries'
// bytes, and data.pkl read by the package's restricted unpickler (storage type, key, element count, shape, strides)
// plus the persistent-id tuple torch.load's persistent_load requires.

import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { openPyTorchCheckpoint, restrictedUnpickle, stateDictPickle, writePyTorchCheckpoint, writeStoredZip } from "../src/index.ts";
import { bytesOf, expectSameTensor, randomTensor } from "../src/tiny-models/random-tensors.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("pytorch-writer");

interface ParsedEntry {
  name: string;
  crc: number;
  size: number;
  data: Buffer;
}

/** The archive's entries from its end record and central directory (APPNOTE 4.3.12, 4.3.16), each checked against
 *  its local header (4.3.7): the same CRC, sizes and name, stored (method 0). */
function parseZip(file: string): ParsedEntry[] {
  const bytes = fs.readFileSync(file);
  const end = bytes.length - 22;
  expect(bytes.readUInt32LE(end)).toBe(0x06054b50);
  const count = bytes.readUInt16LE(end + 10);
  expect(bytes.readUInt16LE(end + 8)).toBe(count);
  const directorySize = bytes.readUInt32LE(end + 12);
  const directoryOffset = bytes.readUInt32LE(end + 16);
  expect(directoryOffset + directorySize).toBe(end);
  const entries: ParsedEntry[] = [];
  let at = directoryOffset;
  for (let index = 0; index < count; index++) {
    expect(bytes.readUInt32LE(at)).toBe(0x02014b50);
    const method = bytes.readUInt16LE(at + 10);
    const crc = bytes.readUInt32LE(at + 16);
    const compressed = bytes.readUInt32LE(at + 20);
    const size = bytes.readUInt32LE(at + 24);
    const nameLength = bytes.readUInt16LE(at + 28);
    const extraLength = bytes.readUInt16LE(at + 30);
    const localOffset = bytes.readUInt32LE(at + 42);
    const name = bytes.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    expect([method, compressed]).toEqual([0, size]);
    expect(bytes.readUInt32LE(localOffset)).toBe(0x04034b50);
    expect([bytes.readUInt32LE(localOffset + 14), bytes.readUInt32LE(localOffset + 18), bytes.readUInt32LE(localOffset + 22)]).toEqual([crc, size, size]);
    const localNameLength = bytes.readUInt16LE(localOffset + 26);
    expect(bytes.subarray(localOffset + 30, localOffset + 30 + localNameLength).toString("utf8")).toBe(name);
    const dataStart = localOffset + 30 + localNameLength + bytes.readUInt16LE(localOffset + 28);
    entries.push({ name, crc, size, data: bytes.subarray(dataStart, dataStart + size) });
    at += 46 + nameLength + extraLength;
  }
  expect(at).toBe(end);
  return entries;
}

describe("writeStoredZip", () => {
  it("records each entry's CRC-32 (IEEE): 0xCBF43926 for \"123456789\", zlib's value for others, 0 for an empty entry", () => {
    const file = path.join(temporary(), "check.zip");
    const random = bytesOf(randomTensor("f32", [64], 3));
    writeStoredZip(file, [["check", new TextEncoder().encode("123456789")], ["random", random], ["empty", new Uint8Array(0)], ["ü/é", Uint8Array.of(0xff, 0x00, 0x80)]]);
    const entries = parseZip(file);
    expect(entries.map(({ name, crc, size }) => [name, crc, size])).toEqual([
      ["check", 0xcbf43926, 9],
      ["random", zlib.crc32(random), 256],
      ["empty", 0, 0],
      ["ü/é", zlib.crc32(Uint8Array.of(0xff, 0x00, 0x80)), 3],
    ]);
    expect([...entries[1].data]).toEqual([...random]);
  });
});

describe("writePyTorchCheckpoint", () => {
  const tensors = new Map<string, Tensor>([
    ["model.embed_tokens.weight", randomTensor("f32", [2, 3], 1)],
    ["model.norm.weight", randomTensor("f16", [4], 2)],
    ["model.layers.0.mlp.up_proj.weight", randomTensor("bf16", [2, 1, 2], 3)],
  ]);

  it("writes torch.save's entries under the file's base name: data.pkl, byteorder \"little\", data/<key> per tensor, version \"3\\n\"", () => {
    const file = path.join(temporary(), "pytorch_model.bin");
    writePyTorchCheckpoint(file, tensors);
    const entries = parseZip(file);
    expect(entries.map((entry) => entry.name)).toEqual(["pytorch_model/data.pkl", "pytorch_model/byteorder", "pytorch_model/data/0", "pytorch_model/data/1", "pytorch_model/data/2", "pytorch_model/version"]);
    expect(entries[0].data.equals(Buffer.from(stateDictPickle(tensors)))).toBe(true);
    expect(entries[1].data.toString("latin1")).toBe("little");
    [...tensors.values()].forEach((tensor, key) => expect(entries[2 + key].data.equals(Buffer.from(bytesOf(tensor))), `data/${key}`).toBe(true));
    expect(entries[5].data.toString("latin1")).toBe("3\n");
    for (const entry of entries) expect(entry.crc, entry.name).toBe(zlib.crc32(entry.data));
    const loaded = openPyTorchCheckpoint(file).loadTensors();
    for (const [name, tensor] of tensors) expectSameTensor(loaded.get(name), tensor, name);
  });

  it.each([
    ["model.pt", "model"],
    ["consolidated.00.pth", "consolidated.00"],
    ["a.b.bin", "a.b"],
    ["checkpoint", "checkpoint"],
    [".bin", "archive"],
  ])("%s: entries under %s/", (fileName, prefix) => {
    const file = path.join(temporary(), fileName);
    writePyTorchCheckpoint(file, new Map([["w", Tensor.fromFloat32([1], Float32Array.of(1))]]));
    expect(parseZip(file).map((entry) => entry.name)).toEqual([`${prefix}/data.pkl`, `${prefix}/byteorder`, `${prefix}/data/0`, `${prefix}/version`]);
  });

  it("takes a given data.pkl as is", () => {
    const file = path.join(temporary(), "bad.bin");
    writePyTorchCheckpoint(file, tensors, { dataPickle: Uint8Array.of(0x80, 2, 0x4e, 0x2e) });
    const entries = parseZip(file);
    expect([...entries[0].data]).toEqual([0x80, 2, 0x4e, 0x2e]);
    expect(entries).toHaveLength(6);
  });

  it("refuses tensors a PyTorch storage cannot hold, by dtype", () => {
    const file = path.join(temporary(), "q.bin");
    expect(() => writePyTorchCheckpoint(file, new Map([["w", randomTensor("q8_0", [1, 32], 1)]]))).toThrow(new Error("a PyTorch checkpoint cannot hold q8_0 tensors"));
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe("stateDictPickle", () => {
  it("unpickles to an OrderedDict of tensors: storage type by dtype, keys \"0\", \"1\", …, element counts, shapes and row-major strides", () => {
    const tensors = new Map<string, Tensor>([
      ["a", randomTensor("f32", [2, 3], 1)],
      ["b", randomTensor("f16", [4], 2)],
      ["c", randomTensor("bf16", [2, 1, 3], 3)],
      ["d", Tensor.fromFloat32([], Float32Array.of(5))],
    ]);
    const state = restrictedUnpickle(stateDictPickle(tensors), "data.pkl") as Map<string, unknown>;
    expect([...state.keys()]).toEqual(["a", "b", "c", "d"]);
    expect(state.get("a")).toEqual({ kind: "tensor", storage: { kind: "storage", dtype: "F32", elementBytes: 4, key: "0", elementCount: 6 }, storageOffset: 0, shape: [2, 3], strides: [3, 1] });
    expect(state.get("b")).toEqual({ kind: "tensor", storage: { kind: "storage", dtype: "F16", elementBytes: 2, key: "1", elementCount: 4 }, storageOffset: 0, shape: [4], strides: [1] });
    expect(state.get("c")).toEqual({ kind: "tensor", storage: { kind: "storage", dtype: "BF16", elementBytes: 2, key: "2", elementCount: 6 }, storageOffset: 0, shape: [2, 1, 3], strides: [3, 3, 1] });
    expect(state.get("d")).toMatchObject({ shape: [], strides: [], storage: { key: "3", elementCount: 1 } });
  });

  it("each persistent id is torch.load's tuple (\"storage\", torch.<Class>, key, \"cpu\", numel), then BINPERSID", () => {
    const encoder = new TextEncoder();
    const text = (value: string) => [0x58, ...new Uint8Array(Uint32Array.of(encoder.encode(value).length).buffer), ...encoder.encode(value)];
    const persistentId = (storageClass: string, key: string, count: number) => [
      0x28, ...text("storage"), 0x63, ...encoder.encode(`torch\n${storageClass}\n`), ...text(key), ...text("cpu"), 0x4a, ...new Uint8Array(Int32Array.of(count).buffer), 0x74, 0x51,
    ];
    const pickle = Buffer.from(stateDictPickle(new Map([["x", randomTensor("f32", [3, 2], 1)], ["y", randomTensor("f16", [5], 2)], ["z", randomTensor("bf16", [2], 3)]])));
    expect([pickle[0], pickle[1], pickle.at(-1)]).toEqual([0x80, 2, 0x2e]);
    expect(pickle.indexOf(Buffer.from(persistentId("FloatStorage", "0", 6)))).toBeGreaterThan(0);
    expect(pickle.indexOf(Buffer.from(persistentId("HalfStorage", "1", 5)))).toBeGreaterThan(0);
    expect(pickle.indexOf(Buffer.from(persistentId("BFloat16Storage", "2", 2)))).toBeGreaterThan(0);
  });
});
