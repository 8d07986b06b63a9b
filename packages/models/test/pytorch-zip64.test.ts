// PyTorch checkpoints past 4 GiB are ZIP64 archives. reference/zip64-reference.json holds a tiny one in which every
// record that may be ZIP64 is (written by Python's zipfile and pickle, see its script), with what zipfile reads back:
// the directory and the tensors must come out the same here, and each ZIP64 field, when damaged, must be refused
// with the file and the field named.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { ModelFileError, openPyTorchCheckpoint, readPyTorchCheckpointEntries } from "../src/index.ts";
import { readZipDirectory } from "../src/pytorch/zip-directory.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

interface ReferenceEntry {
  name: string;
  method: number;
  size: number;
  compressedSize: number;
  headerOffset: number;
  dataOffset: number;
  zip64Extra: boolean;
}

const referenceFile = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "reference", "zip64-reference.json");
const reference = JSON.parse(fs.readFileSync(referenceFile, "utf8")) as {
  archive: string;
  entries: ReferenceEntry[];
  tensors: Record<string, { shape: number[]; values: number[] }>;
};
const archive = Buffer.from(reference.archive, "base64");
const temporary = useTemporaryDirectories("pytorch-zip64");

const signature = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
};
/** Byte positions of the records in the reference archive. */
const zip64End = archive.lastIndexOf(signature(0x06064b50));
const zip64Locator = archive.lastIndexOf(signature(0x07064b50));
const classicEnd = archive.lastIndexOf(signature(0x06054b50));
const directoryOffset = Number(archive.readBigUInt64LE(zip64End + 48));
/** Position of central directory entry `index` (each: 46 bytes, name, extra, comment). */
function directoryEntryAt(index: number): number {
  let position = directoryOffset;
  for (let skipped = 0; skipped < index; skipped++) {
    position += 46 + archive.readUInt16LE(position + 28) + archive.readUInt16LE(position + 30) + archive.readUInt16LE(position + 32);
  }
  return position;
}
/** Position of the 64-bit values in entry `index`'s ZIP64 extra field (after its id and length). */
function zip64ValuesAt(index: number): number {
  const entry = directoryEntryAt(index);
  const extra = entry + 46 + archive.readUInt16LE(entry + 28);
  expect(archive.readUInt16LE(extra)).toBe(0x0001);
  return extra + 4;
}

/** Writes the reference archive, changed by `edit`, and returns its path. */
function writeArchive(edit: (bytes: Buffer) => Buffer | void = () => {}): string {
  const bytes = Buffer.from(archive);
  const file = path.join(temporary(), "pytorch_model.bin");
  fs.writeFileSync(file, edit(bytes) ?? bytes);
  return file;
}

function readDirectory(file: string) {
  const descriptor = fs.openSync(file, "r");
  try {
    return readZipDirectory(descriptor, file);
  } finally {
    fs.closeSync(descriptor);
  }
}

/** The problem a damaged archive is refused with (the error names the file). */
function refusal(file: string): string {
  try {
    readPyTorchCheckpointEntries(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).file).toBe(file);
    return (error as ModelFileError).problem;
  }
  throw new Error("the damaged archive was read");
}

const notZip = "not a ZIP archive (a PyTorch checkpoint saved by torch.save since 1.6 is one): ";

describe("a ZIP64 PyTorch checkpoint (Python's zipfile)", () => {
  it("holds ZIP64 records only: the classic end record's count, size and offset are 0xFFFF / 0xFFFFFFFF", () => {
    expect(archive.readUInt16LE(classicEnd + 10)).toBe(0xffff);
    expect(archive.readUInt32LE(classicEnd + 12)).toBe(0xffffffff);
    expect(archive.readUInt32LE(classicEnd + 16)).toBe(0xffffffff);
    expect(zip64Locator).toBe(classicEnd - 20);
    expect(reference.entries.every((entry) => entry.zip64Extra)).toBe(true);
    // Sizes (and, past the first entry, offsets) live in the ZIP64 extra field only.
    expect(archive.readUInt32LE(directoryEntryAt(1) + 20)).toBe(0xffffffff);
    expect(archive.readUInt32LE(directoryEntryAt(1) + 24)).toBe(0xffffffff);
    expect(archive.readUInt32LE(directoryEntryAt(1) + 42)).toBe(0xffffffff);
    expect(archive.readUInt32LE(directoryEntryAt(0) + 42)).toBe(0);
  });

  it("reads the directory zipfile reads: names, methods, sizes and where each entry's data starts", () => {
    const entries = readDirectory(writeArchive());
    expect(entries).toEqual(reference.entries.map(({ name, method, size, compressedSize, dataOffset }) => ({ name, method, size, compressedSize, dataOffset })));
    const version = entries.find((entry) => entry.name === "archive/version")!;
    expect(archive.toString("latin1", version.dataOffset, version.dataOffset + version.size)).toBe("3\n");
  });

  it("loads the tensors Python pickled", () => {
    const file = writeArchive();
    expect(readPyTorchCheckpointEntries(file).map((entry) => [entry.name, entry.shape])).toEqual(
      Object.entries(reference.tensors).map(([name, tensor]) => [name, tensor.shape]),
    );
    const tensors = openPyTorchCheckpoint(file).loadTensors();
    for (const [name, expected] of Object.entries(reference.tensors)) {
      expect(Array.from(tensors.get(name)!.data as Float32Array), name).toEqual(expected.values);
    }
  });

  it("refuses a ZIP64 locator that does not point at a ZIP64 end record", () => {
    const file = writeArchive((bytes) => void bytes.writeBigUInt64LE(BigInt(zip64End - 4), zip64Locator + 8));
    expect(refusal(file)).toBe(`${notZip}the ZIP64 locator does not point at a ZIP64 end record`);
  });

  it("refuses ZIP64 values past 2^53 by name", () => {
    const tooLarge = 2n ** 53n;
    expect(refusal(writeArchive((bytes) => void bytes.writeBigUInt64LE(tooLarge, zip64Locator + 8)))).toBe(`ZIP64 end record offset ${tooLarge} is too large`);
    expect(refusal(writeArchive((bytes) => void bytes.writeBigUInt64LE(tooLarge, zip64End + 32)))).toBe(`entry count ${tooLarge} is too large`);
    expect(refusal(writeArchive((bytes) => void bytes.writeBigUInt64LE(tooLarge, zip64End + 40)))).toBe(`central directory size ${tooLarge} is too large`);
    expect(refusal(writeArchive((bytes) => void bytes.writeBigUInt64LE(tooLarge, zip64End + 48)))).toBe(`central directory offset ${tooLarge} is too large`);
    const values = zip64ValuesAt(1); // size, compressed size, local header offset
    expect(refusal(writeArchive((bytes) => void bytes.writeBigUInt64LE(tooLarge, values)))).toBe(`entry size ${tooLarge} is too large`);
    expect(refusal(writeArchive((bytes) => void bytes.writeBigUInt64LE(tooLarge, values + 8)))).toBe(`entry size ${tooLarge} is too large`);
    expect(refusal(writeArchive((bytes) => void bytes.writeBigUInt64LE(tooLarge, values + 16)))).toBe(`entry offset ${tooLarge} is too large`);
    // 2^53 − 1 is still a number: the offset then points past the file.
    const largest = Number.MAX_SAFE_INTEGER;
    expect(refusal(writeArchive((bytes) => void bytes.writeBigUInt64LE(tooLarge - 1n, values + 16)))).toBe(
      `file is truncated: needed bytes [${largest}, ${largest + 30}) but the file ends at byte ${largest}`,
    );
  });

  it("takes each entry's sizes and offset from its ZIP64 field, in the field's order", () => {
    const values = zip64ValuesAt(1);
    const size = Number(archive.readBigUInt64LE(values));
    // A compressed size one byte past the end of the file, from the second value of the field.
    const file = writeArchive((bytes) => void bytes.writeBigUInt64LE(BigInt(archive.length - reference.entries[1].dataOffset + 1), values + 8));
    expect(refusal(file)).toBe(
      `file is truncated: entry "archive/data/0" needs bytes [${reference.entries[1].dataOffset}, ${archive.length + 1}) but the file has ${archive.length} bytes`,
    );
    // A compressed size that ends exactly at the end of the file is read.
    const exact = writeArchive((bytes) => void bytes.writeBigUInt64LE(BigInt(archive.length - reference.entries[1].dataOffset), values + 8));
    expect(readDirectory(exact)[1]).toMatchObject({ size, compressedSize: archive.length - reference.entries[1].dataOffset });
    // The third value is the local header's offset.
    const moved = writeArchive((bytes) => void bytes.writeBigUInt64LE(BigInt(reference.entries[2].headerOffset + 1), values + 16));
    expect(refusal(moved)).toBe(`${notZip}entry "archive/data/0" has no local header at byte ${reference.entries[2].headerOffset + 1}`);
  });

  it("refuses a central directory that lies past the end of the file", () => {
    const size = Number(archive.readBigUInt64LE(zip64End + 40));
    const file = writeArchive((bytes) => void bytes.writeBigUInt64LE(BigInt(archive.length - directoryOffset + 1), zip64End + 40));
    expect(refusal(file)).toBe(`${notZip}the central directory [${directoryOffset}, ${archive.length + 1}) lies past the end of the file (${archive.length} bytes; truncated?)`);
    expect(size).toBeLessThan(archive.length - directoryOffset);
    // A size reaching exactly to the end of the file is read (what follows the entries is not looked at).
    const exact = writeArchive((bytes) => void bytes.writeBigUInt64LE(BigInt(archive.length - directoryOffset), zip64End + 40));
    expect(readDirectory(exact).map((entry) => entry.name)).toEqual(reference.entries.map((entry) => entry.name));
  });

  it("refuses more entries than the central directory holds, and a damaged entry", () => {
    const more = writeArchive((bytes) => void bytes.writeBigUInt64LE(BigInt(reference.entries.length + 1), zip64End + 32));
    expect(refusal(more)).toBe(`${notZip}central directory entry ${reference.entries.length} is damaged`);
    const damaged = writeArchive((bytes) => void bytes.writeUInt32LE(0, directoryEntryAt(2)));
    expect(refusal(damaged)).toBe(`${notZip}central directory entry 2 is damaged`);
  });

  it("refuses an archive cut before its end records", () => {
    const file = writeArchive((bytes) => bytes.subarray(0, zip64End));
    expect(refusal(file)).toBe(
      "file is truncated or damaged: a ZIP archive (what torch.save writes) ends with an end-of-central-directory record, and this file has none",
    );
  });
});
