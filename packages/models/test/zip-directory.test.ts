// readZipDirectory on ZIP files built byte by byte from the ZIP specification (APPNOTE 4.3.12–4.3.16, 4.5.3): entry
// names, sizes and data positions (past the local header's name and extra field), entry and archive comments, ZIP64
// end records and the ZIP64 extra field with any subset of its three values, an empty archive, a comment long enough
// that the ZIP64 locator starts the searched tail; and every refusal by its whole message, including reads that find
// the file shorter than its size said.

import fs from "node:fs";
import path from "node:path";

import { afterEach, describe, expect, it, vi } from "vitest";

import { withOpenFile } from "../src/binary-file.ts";
import { readZipDirectory, type ZipEntry } from "../src/pytorch/zip-directory.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { u16, u32, u64 } from "./helpers/little-endian.ts";

const temporary = useTemporaryDirectories("zip-directory");

afterEach(() => {
  vi.restoreAllMocks();
});

const MAX32 = 0xffffffff;

/** A local file header (30 bytes, then the name and `extra` bytes of extra field). */
function localHeader(name: string, extra = 0): Buffer {
  const nameBytes = Buffer.from(name);
  return Buffer.concat([u32(0x04034b50), u16(20), u16(0), u16(0), u32(0), u32(0), u32(0), u32(0), u16(nameBytes.length), u16(extra), nameBytes, Buffer.alloc(extra)]);
}

interface CentralEntry {
  name: string;
  method?: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  extra?: Buffer;
  comment?: string;
}

/** A central directory entry (46 bytes, then name, extra field, comment). */
function centralEntry(entry: CentralEntry): Buffer {
  const name = Buffer.from(entry.name), extra = entry.extra ?? Buffer.alloc(0), comment = Buffer.from(entry.comment ?? "");
  return Buffer.concat([
    u32(0x02014b50), u16(45), u16(45), u16(0), u16(entry.method ?? 0), u32(0), u32(0),
    u32(entry.compressedSize), u32(entry.size), u16(name.length), u16(extra.length), u16(comment.length),
    u16(0), u16(0), u32(0), u32(entry.localOffset), name, extra, comment,
  ]);
}

/** An extra field: id, data length, data. */
const extraField = (id: number, data: Buffer) => Buffer.concat([u16(id), u16(data.length), data]);

/** The end-of-central-directory record (22 bytes, then `comment` zero bytes). */
function endOfDirectory(count: number, size: number, offset: number, comment = 0): Buffer {
  return Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(count), u16(count), u32(size), u32(offset), u16(comment), Buffer.alloc(comment)]);
}

/** A ZIP64 end-of-central-directory record (56 bytes) and its locator (20 bytes) pointing at `recordOffset`. */
function zip64End(count: number, size: number, offset: number): Buffer {
  return Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(count), u64(count), u64(size), u64(offset)]);
}
const zip64Locator = (recordOffset: bigint | number) => Buffer.concat([u32(0x07064b50), u32(0), u64(recordOffset), u32(1)]);

function write(bytes: Buffer): string {
  const file = path.join(temporary(), "archive.zip");
  fs.writeFileSync(file, bytes);
  return file;
}

const read = (file: string): ZipEntry[] => withOpenFile(file, (descriptor) => readZipDirectory(descriptor, file));
const problem = (file: string): string => errorOf(() => read(file)).message.slice(file.length + 2);

/** Two stored entries ("a/data.pkl" 5 bytes with a 3-byte local extra field, "a/data/0" 8 bytes) and their directory. */
function twoEntries(options: { zip64?: boolean; directoryExtra?: (index: number) => Buffer; sizes?: (index: number) => [number, number, number]; comment?: string } = {}) {
  const first = Buffer.concat([localHeader("a/data.pkl", 3), Buffer.from("PKL!.")]);
  const second = Buffer.concat([localHeader("a/data/0"), Buffer.from("01234567")]);
  const entries: CentralEntry[] = [
    { name: "a/data.pkl", compressedSize: 5, size: 5, localOffset: 0 },
    { name: "a/data/0", method: 8, compressedSize: 8, size: 8, localOffset: first.length },
  ].map((entry, index) => {
    const sizes = options.sizes?.(index);
    return {
      ...entry,
      ...(sizes === undefined ? {} : { compressedSize: sizes[0], size: sizes[1], localOffset: sizes[2] }),
      extra: options.directoryExtra?.(index),
      comment: index === 0 ? options.comment : undefined,
    };
  });
  const directory = Buffer.concat(entries.map(centralEntry));
  const directoryOffset = first.length + second.length;
  const expected: ZipEntry[] = [
    { name: "a/data.pkl", method: 0, compressedSize: 5, size: 5, dataOffset: 30 + 10 + 3 },
    { name: "a/data/0", method: 8, compressedSize: 8, size: 8, dataOffset: first.length + 30 + 8 },
  ];
  return { body: Buffer.concat([first, second, directory]), directory, directoryOffset, expected };
}

describe("readZipDirectory reads", () => {
  it("each entry's name, method, sizes and data position, past entry comments", () => {
    const { body, directory, directoryOffset, expected } = twoEntries({ comment: "first entry's comment" });
    const file = write(Buffer.concat([body, endOfDirectory(2, directory.length, directoryOffset, 5)]));
    expect(read(file)).toEqual(expected);
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(expected[1].dataOffset, expected[1].dataOffset + 8).toString()).toBe("01234567");
  });

  it("an empty archive (the end record alone)", () => {
    const file = write(endOfDirectory(0, 0, 0));
    expect(fs.statSync(file).size).toBe(22);
    expect(read(file)).toEqual([]);
  });

  it("a ZIP64 archive: counts and positions from the ZIP64 end record, entry values from the ZIP64 extra field after other fields", () => {
    const { body, directory, directoryOffset, expected } = twoEntries({
      sizes: () => [MAX32, MAX32, MAX32],
      directoryExtra: (index) => Buffer.concat([
        extraField(0x5455, Buffer.from([1, 2, 3, 4, 5])), // extended timestamp, skipped
        extraField(0x0001, Buffer.concat([u64(expected0[index][1]), u64(expected0[index][0]), u64(expected0[index][2])])),
      ]),
    });
    const recordOffset = body.length;
    const file = write(Buffer.concat([body, zip64End(2, directory.length, directoryOffset), zip64Locator(recordOffset), endOfDirectory(0xffff, MAX32, MAX32)]));
    expect(read(file)).toEqual(expected);
  });

  it("a ZIP64 extra field holding only the values whose 32-bit fields are 0xFFFFFFFF, in the order size, compressed size, offset", () => {
    // entry 0: only the local header offset is in the extra field; entry 1: the size and the offset (not the compressed size)
    const { body, directory, directoryOffset, expected } = twoEntries({
      sizes: (index) => (index === 0 ? [5, 5, MAX32] : [8, MAX32, MAX32]),
      directoryExtra: (index) => extraField(0x0001, index === 0 ? u64(0) : Buffer.concat([u64(8), u64(expected0[1][2])])),
    });
    const file = write(Buffer.concat([body, endOfDirectory(2, directory.length, directoryOffset)]));
    expect(read(file)).toEqual(expected);
  });

  it("a ZIP64 archive whose comment is so long that the locator is the first byte searched", () => {
    const { body, directory, directoryOffset, expected } = twoEntries();
    const commentLength = 65535 - 20; // the searched tail is 22 + 65535 bytes: locator (20) + end record (22) + comment
    const file = write(Buffer.concat([body, zip64End(2, directory.length, directoryOffset), zip64Locator(body.length), endOfDirectory(0xffff, MAX32, MAX32, commentLength)]));
    expect(read(file)).toEqual(expected);
  });

  it("a directory that ends exactly at the end of the file, and entry data that does", () => {
    // [central directory][local header + data] with the end record inside the directory's claimed span
    const data = Buffer.from("xyz");
    const local = localHeader("d");
    const directoryEntry = centralEntry({ name: "d", compressedSize: 3, size: 3, localOffset: 0 });
    const end = endOfDirectory(1, 0, 0); // patched below
    const layout = Buffer.concat([directoryEntry, end, local, data]);
    const directoryOffset = 0, localOffset = directoryEntry.length + end.length;
    const patchedDirectory = centralEntry({ name: "d", compressedSize: 3, size: 3, localOffset });
    const file = write(Buffer.concat([patchedDirectory, endOfDirectory(1, layout.length, directoryOffset), local, data]));
    expect(read(file)).toEqual([{ name: "d", method: 0, compressedSize: 3, size: 3, dataOffset: layout.length - 3 }]);
  });

  it("an entry whose central record is the last 46 bytes of the directory (an empty name)", () => {
    const local = Buffer.concat([localHeader(""), Buffer.from("ab")]);
    const directory = centralEntry({ name: "", compressedSize: 2, size: 2, localOffset: 0 });
    expect(directory.length).toBe(46);
    const file = write(Buffer.concat([local, directory, endOfDirectory(1, 46, local.length)]));
    expect(read(file)).toEqual([{ name: "", method: 0, compressedSize: 2, size: 2, dataOffset: 30 }]);
  });
});

// The values twoEntries' entries hold: [compressed size, size, local header offset].
const expected0: Array<[number, number, number]> = [[5, 5, 0], [8, 8, 30 + 10 + 3 + 5]];

describe("readZipDirectory refuses", () => {
  const notZip = "not a ZIP archive (a PyTorch checkpoint saved by torch.save since 1.6 is one): ";

  it("a file without an end record", () => {
    expect(problem(write(Buffer.alloc(100, 7)))).toBe(
      "file is truncated or damaged: a ZIP archive (what torch.save writes) ends with an end-of-central-directory record, and this file has none",
    );
  });

  it("a ZIP64 locator that points at something else, or past what a number can hold", () => {
    const { body, directory, directoryOffset } = twoEntries();
    const elsewhere = write(Buffer.concat([body, zip64End(2, directory.length, directoryOffset), zip64Locator(0), endOfDirectory(0xffff, MAX32, MAX32)]));
    expect(problem(elsewhere)).toBe(`${notZip}the ZIP64 locator does not point at a ZIP64 end record`);
    const huge = write(Buffer.concat([body, zip64Locator(2n ** 53n), endOfDirectory(0xffff, MAX32, MAX32)]));
    expect(problem(huge)).toBe("ZIP64 end record offset 9007199254740992 is too large");
    const largest = write(Buffer.concat([body, zip64Locator(2n ** 53n - 1n), endOfDirectory(0xffff, MAX32, MAX32)]));
    expect(problem(largest)).toBe(`file is truncated: needed bytes [9007199254740991, ${Number.MAX_SAFE_INTEGER + 56}) but the file ends at byte 9007199254740991`);
  });

  it("ZIP64 counts, sizes and offsets past what a number can hold", () => {
    const { body, directory, directoryOffset } = twoEntries();
    const record = (count: bigint, size: bigint, offset: bigint) =>
      Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(count), u64(count), u64(size), u64(offset)]);
    const withRecord = (bytes: Buffer) => write(Buffer.concat([body, bytes, zip64Locator(body.length), endOfDirectory(0xffff, MAX32, MAX32)]));
    const big = 2n ** 60n;
    expect(problem(withRecord(record(big, BigInt(directory.length), BigInt(directoryOffset))))).toBe(`entry count ${big} is too large`);
    expect(problem(withRecord(record(2n, big, BigInt(directoryOffset))))).toBe(`central directory size ${big} is too large`);
    expect(problem(withRecord(record(2n, BigInt(directory.length), big)))).toBe(`central directory offset ${big} is too large`);
    const { body: body64, directory: directory64, directoryOffset: offset64 } = twoEntries({
      sizes: (index) => (index === 0 ? [MAX32, MAX32, MAX32] : [8, 8, expected0[1][2]]),
      directoryExtra: (index) => (index === 0 ? extraField(0x0001, Buffer.concat([u64(5), u64(big), u64(0)])) : Buffer.alloc(0)),
    });
    expect(problem(write(Buffer.concat([body64, endOfDirectory(2, directory64.length, offset64)])))).toBe(`entry size ${big} is too large`);
    const sizeOnly = twoEntries({
      sizes: (index) => (index === 0 ? [5, MAX32, 0] : [8, 8, expected0[1][2]]),
      directoryExtra: (index) => (index === 0 ? extraField(0x0001, u64(big)) : Buffer.alloc(0)),
    });
    expect(problem(write(Buffer.concat([sizeOnly.body, endOfDirectory(2, sizeOnly.directory.length, sizeOnly.directoryOffset)])))).toBe(`entry size ${big} is too large`);
    const { body: bodyOffset, directory: directoryOffsetBytes, directoryOffset: offsetOffset } = twoEntries({
      sizes: (index) => (index === 0 ? [5, 5, MAX32] : [8, 8, expected0[1][2]]),
      directoryExtra: (index) => (index === 0 ? extraField(0x0001, u64(big)) : Buffer.alloc(0)),
    });
    expect(problem(write(Buffer.concat([bodyOffset, endOfDirectory(2, directoryOffsetBytes.length, offsetOffset)])))).toBe(`entry offset ${big} is too large`);
  });

  it("a central directory past the end of the file", () => {
    const { body, directory, directoryOffset } = twoEntries();
    const file = write(Buffer.concat([body, endOfDirectory(2, directory.length + 100, directoryOffset)]));
    const size = fs.statSync(file).size;
    expect(problem(file)).toBe(`${notZip}the central directory [${directoryOffset}, ${directoryOffset + directory.length + 100}) lies past the end of the file (${size} bytes; truncated?)`);
  });

  it("more entries than the directory holds, and an entry without its signature", () => {
    const { body, directory, directoryOffset } = twoEntries();
    expect(problem(write(Buffer.concat([body, endOfDirectory(3, directory.length, directoryOffset)])))).toBe(`${notZip}central directory entry 2 is damaged`);
    const damaged = Buffer.from(directory);
    damaged.writeUInt32LE(0x02014b51, 0);
    expect(problem(write(Buffer.concat([body.subarray(0, directoryOffset), damaged, endOfDirectory(2, directory.length, directoryOffset)])))).toBe(
      `${notZip}central directory entry 0 is damaged`,
    );
  });

  it("an entry whose local header is not where the directory says, or whose data runs past the end", () => {
    const { body, directory, directoryOffset } = twoEntries({ sizes: (index) => (index === 0 ? [5, 5, 1] : [8, 8, expected0[1][2]]) });
    expect(problem(write(Buffer.concat([body, endOfDirectory(2, directory.length, directoryOffset)])))).toBe(`${notZip}entry "a/data.pkl" has no local header at byte 1`);
    const long = twoEntries({ sizes: (index) => (index === 0 ? [5, 5, 0] : [500, 500, expected0[1][2]]) });
    const file = write(Buffer.concat([long.body, endOfDirectory(2, long.directory.length, long.directoryOffset)]));
    const size = fs.statSync(file).size;
    const dataOffset = expected0[1][2] + 30 + 8;
    expect(problem(file)).toBe(`file is truncated: entry "a/data/0" needs bytes [${dataOffset}, ${dataOffset + 500}) but the file has ${size} bytes`);
  });

  it("a file that ends early while being read, naming the file for every read", () => {
    const { body, directory, directoryOffset } = twoEntries();
    const file = write(Buffer.concat([body, zip64End(2, directory.length, directoryOffset), zip64Locator(body.length), endOfDirectory(0xffff, MAX32, MAX32)]));
    const size = fs.statSync(file).size;
    const realReadSync = fs.readSync;
    const failReadsOf = (length: number) =>
      vi.spyOn(fs, "readSync").mockImplementation(((descriptor: number, buffer: Uint8Array, offset: number, count: number, position: number) =>
        count === length ? 0 : realReadSync(descriptor, buffer, offset, count, position)) as typeof fs.readSync);
    const cases: Array<[number, string]> = [
      [size, `file is truncated: needed bytes [0, ${size}) but the file ends at byte 0`], // the searched tail
      [56, `file is truncated: needed bytes [${body.length}, ${body.length + 56}) but the file ends at byte ${body.length}`], // the ZIP64 end record
      [directory.length, `file is truncated: needed bytes [${directoryOffset}, ${directoryOffset + directory.length}) but the file ends at byte ${directoryOffset}`],
      [30, "file is truncated: needed bytes [0, 30) but the file ends at byte 0"], // the first local header
    ];
    for (const [length, message] of cases) {
      failReadsOf(length);
      expect(errorOf(() => read(file)).message, `a read of ${length} bytes`).toBe(`${file}: ${message}`);
      vi.restoreAllMocks();
    }
  });
});
