// The central directory of a ZIP file (what torch.save writes since PyTorch 1.6): each entry's name, compression and
// where its bytes start, read from the end of the file without loading the data. ZIP64 records are followed, so
// archives and entries past 4 GiB work. Only the directory is read here; entries are read by position.
//
//   end of central directory (22 bytes + comment): signature 0x06054b50 … entry count (u16 @10), directory size
//   (u32 @12), directory offset (u32 @16); ZIP64 locator (0x07064b50) before it points at the ZIP64 end record
//   (0x06064b50: entry count u64 @32, directory size u64 @40, offset u64 @48).
//   central directory entry (0x02014b50): method u16 @10, compressed size u32 @20, size u32 @24, name length u16 @28,
//   extra length u16 @30, comment length u16 @32, local header offset u32 @42, then name, extra (ZIP64 id 0x0001).
//   local header (0x04034b50): name length u16 @26, extra length u16 @28; data follows name and extra.

import fs from "node:fs";

import { fileSizeOf, readExactly } from "../binary-file.ts";
import { ModelFileError } from "../errors.ts";

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Absolute position of the entry's data (after its local header). */
  dataOffset: number;
}

const signatures = { endOfDirectory: 0x06054b50, zip64Locator: 0x07064b50, zip64End: 0x06064b50, directoryEntry: 0x02014b50, localHeader: 0x04034b50 };

function bigToNumber(value: bigint, file: string, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelFileError({ file }, `${what} ${value} is too large`);
  return Number(value);
}

/** True when the file starts with a ZIP local header ("PK\x03\x04"). */
export function startsWithZipSignature(descriptor: number): boolean {
  const head = Buffer.alloc(4);
  return fs.readSync(descriptor, head, 0, 4, 0) === 4 && head.readUInt32LE(0) === signatures.localHeader;
}

/** Reads the central directory of the open ZIP file `file`. */
export function readZipDirectory(descriptor: number, file: string): ZipEntry[] {
  const fileSize = fileSizeOf(descriptor);
  const notZip = (problem: string): never => {
    throw new ModelFileError({ file }, `not a ZIP archive (a PyTorch checkpoint saved by torch.save since 1.6 is one): ${problem}`);
  };
  // The end-of-directory record is in the last 22 + 65535 bytes (its comment is at most 65535 bytes).
  const tailLength = Math.min(fileSize, 22 + 65535);
  const tail = Buffer.alloc(tailLength);
  readExactly(descriptor, tail, fileSize - tailLength, { file });
  let end = -1;
  for (let position = tailLength - 22; position >= 0; position--) {
    if (tail.readUInt32LE(position) === signatures.endOfDirectory) {
      end = position;
      break;
    }
  }
  if (end < 0) throw new ModelFileError({ file }, "file is truncated or damaged: a ZIP archive (what torch.save writes) ends with an end-of-central-directory record, and this file has none");
  let entryCount = tail.readUInt16LE(end + 10);
  let directorySize = tail.readUInt32LE(end + 12);
  let directoryOffset = tail.readUInt32LE(end + 16);
  const locator = end - 20;
  if (locator >= 0 && tail.readUInt32LE(locator) === signatures.zip64Locator) {
    const zip64EndOffset = bigToNumber(tail.readBigUInt64LE(locator + 8), file, "ZIP64 end record offset");
    const record = Buffer.alloc(56);
    readExactly(descriptor, record, zip64EndOffset, { file });
    if (record.readUInt32LE(0) !== signatures.zip64End) notZip("the ZIP64 locator does not point at a ZIP64 end record");
    entryCount = bigToNumber(record.readBigUInt64LE(32), file, "entry count");
    directorySize = bigToNumber(record.readBigUInt64LE(40), file, "central directory size");
    directoryOffset = bigToNumber(record.readBigUInt64LE(48), file, "central directory offset");
  }
  if (directoryOffset + directorySize > fileSize) notZip(`the central directory [${directoryOffset}, ${directoryOffset + directorySize}) lies past the end of the file (${fileSize} bytes; truncated?)`);
  const directory = Buffer.alloc(directorySize);
  readExactly(descriptor, directory, directoryOffset, { file });

  const entries: ZipEntry[] = [];
  let position = 0;
  const localHeader = Buffer.alloc(30);
  for (let index = 0; index < entryCount; index++) {
    if (position + 46 > directory.length || directory.readUInt32LE(position) !== signatures.directoryEntry) notZip(`central directory entry ${index} is damaged`);
    const method = directory.readUInt16LE(position + 10);
    let compressedSize = directory.readUInt32LE(position + 20);
    let size = directory.readUInt32LE(position + 24);
    const nameLength = directory.readUInt16LE(position + 28);
    const extraLength = directory.readUInt16LE(position + 30);
    const commentLength = directory.readUInt16LE(position + 32);
    let localOffset = directory.readUInt32LE(position + 42);
    if (position + 46 + nameLength + extraLength + commentLength > directory.length) notZip(`central directory entry ${index} is damaged`);
    const name = directory.toString("utf8", position + 46, position + 46 + nameLength);
    // ZIP64 extra field: the 64-bit values of the fields that hold 0xFFFFFFFF, in this order.
    let extra = position + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = directory.readUInt16LE(extra);
      const fieldEnd = extra + 4 + directory.readUInt16LE(extra + 2);
      if (fieldEnd > extraEnd) notZip(`entry "${name}" has an extra field that runs past its end`);
      if (id === 0x0001) {
        let field = extra + 4;
        const value = (what: string, label: string): number => {
          if (field + 8 > fieldEnd) notZip(`entry "${name}" needs its ${what} from a ZIP64 extra field too short to hold it`);
          field += 8;
          return bigToNumber(directory.readBigUInt64LE(field - 8), file, label);
        };
        if (size === 0xffffffff) size = value("size", "entry size");
        if (compressedSize === 0xffffffff) compressedSize = value("compressed size", "entry size");
        if (localOffset === 0xffffffff) localOffset = value("local header offset", "entry offset");
      }
      extra = fieldEnd;
    }
    readExactly(descriptor, localHeader, localOffset, { file });
    if (localHeader.readUInt32LE(0) !== signatures.localHeader) notZip(`entry "${name}" has no local header at byte ${localOffset}`);
    const dataOffset = localOffset + 30 + localHeader.readUInt16LE(26) + localHeader.readUInt16LE(28);
    if (dataOffset + compressedSize > fileSize) {
      throw new ModelFileError({ file }, `file is truncated: entry "${name}" needs bytes [${dataOffset}, ${dataOffset + compressedSize}) but the file has ${fileSize} bytes`);
    }
    entries.push({ name, method, compressedSize, size, dataOffset });
    position = extraEnd + commentLength;
  }
  return entries;
}
