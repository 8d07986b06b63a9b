// readZipDirectory on central directory entries whose lengths do not add up: a name, extra field or comment running
// past the directory, an extra field running past the entry's extra area, a ZIP64 extra field too short for the
// values the entry says it holds. Each is refused as a damaged archive naming the entry, never read out of bounds
// (which threw a bare RangeError, or took the next entry's bytes for a size).

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { withOpenFile } from "../src/binary-file.ts";
import { readZipDirectory } from "../src/pytorch/zip-directory.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { u16, u32, u64 } from "./helpers/little-endian.ts";

const temporary = useTemporaryDirectories("zip-directory-damaged");
const notZip = "not a ZIP archive (a PyTorch checkpoint saved by torch.save since 1.6 is one): ";
const MAX32 = 0xffffffff;

/** One stored entry "x" (data "abcd") whose central record carries `extra` (its length field says `extraLength`)
 *  and the given 32-bit sizes and offset; `after` follows the record inside the directory. */
function archive(options: { extra: Buffer; extraLength?: number; sizes?: [number, number, number]; after?: Buffer; commentLength?: number }): string {
  const local = Buffer.concat([u32(0x04034b50), Buffer.alloc(22), u16(1), u16(0), Buffer.from("x"), Buffer.from("abcd")]);
  const [compressedSize, size, localOffset] = options.sizes ?? [4, 4, 0];
  const central = Buffer.concat([
    u32(0x02014b50), u16(45), u16(45), u16(0), u16(0), u32(0), u32(0), u32(compressedSize), u32(size),
    u16(1), u16(options.extraLength ?? options.extra.length), u16(options.commentLength ?? 0), u16(0), u16(0), u32(0), u32(localOffset),
    Buffer.from("x"), options.extra, options.after ?? Buffer.alloc(0),
  ]);
  const end = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(1), u16(1), u32(central.length), u32(local.length), u16(0)]);
  const file = path.join(temporary(), "damaged.zip");
  fs.writeFileSync(file, Buffer.concat([local, central, end]));
  return file;
}

const problem = (file: string): string => errorOf(() => withOpenFile(file, (descriptor) => readZipDirectory(descriptor, file))).message.slice(file.length + 2);

describe("readZipDirectory refuses a damaged central directory entry", () => {
  it("whose name, extra field or comment runs past the directory", () => {
    expect(problem(archive({ extra: Buffer.alloc(0), extraLength: 40 }))).toBe(`${notZip}central directory entry 0 is damaged`);
    expect(problem(archive({ extra: Buffer.alloc(0), commentLength: 9 }))).toBe(`${notZip}central directory entry 0 is damaged`);
    const zip64Past = Buffer.concat([u16(0x0001), u16(24)]); // the field's 24 bytes are not there
    expect(problem(archive({ extra: zip64Past, extraLength: 28, sizes: [MAX32, MAX32, MAX32] }))).toBe(`${notZip}central directory entry 0 is damaged`);
  });

  it("whose extra field runs past the entry's extra area", () => {
    const field = Buffer.concat([u16(0x5455), u16(9), Buffer.alloc(5)]); // says 9 bytes, the area has 5 after the header
    expect(problem(archive({ extra: field, after: Buffer.alloc(4) }))).toBe(`${notZip}entry "x" has an extra field that runs past its end`);
  });

  it("whose ZIP64 extra field lacks a value the entry needs from it", () => {
    const cases: Array<[[number, number, number], Buffer, string]> = [
      [[4, MAX32, 0], Buffer.alloc(0), "size"],
      [[MAX32, MAX32, 0], u64(4), "compressed size"],
      [[4, 4, MAX32], Buffer.alloc(4), "local header offset"],
      [[MAX32, 4, MAX32], u64(4), "local header offset"],
    ];
    for (const [sizes, values, what] of cases) {
      const extra = Buffer.concat([u16(0x0001), u16(values.length), values]);
      // the bytes after the field would pass for the missing value if it were read anyway
      expect(problem(archive({ extra, sizes, after: u64(0) })), what).toBe(`${notZip}entry "x" needs its ${what} from a ZIP64 extra field too short to hold it`);
    }
  });

  it("reads a ZIP64 field that holds exactly the values the entry needs", () => {
    const extra = Buffer.concat([u16(0x0001), u16(16), u64(4), u64(4)]);
    const file = archive({ extra, sizes: [MAX32, MAX32, 0] });
    expect(withOpenFile(file, (descriptor) => readZipDirectory(descriptor, file))).toEqual([{ name: "x", method: 0, compressedSize: 4, size: 4, dataOffset: 31 }]);
  });
});
