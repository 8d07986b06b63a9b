// PyTorch checkpoints past 4 GiB are ZIP64 archives. reference/zip64-reference.json holds a tiny one in which every
// record that may be ZIP64 is (written by Python's zipfile and pickle, see its script), with what zipfile reads back:
// the directory and the tensors must come out the same here. (Each ZIP64 field damaged in turn, on archives built
// from the specification: zip-directory.test.ts.)

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { openPyTorchCheckpoint, readPyTorchCheckpointEntries } from "../src/index.ts";
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
/** Writes the reference archive and returns its path. */
function writeArchive(): string {
  const file = path.join(temporary(), "pytorch_model.bin");
  fs.writeFileSync(file, archive);
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
});
