// A sequential little-endian reader over a file descriptor for the GGUF header: it reads the file in chunks as
// the cursor advances, so a header of any size (tokenizer arrays can be megabytes) is parsed without reading the
// tensor data, and running past the end of the file is a "truncated" ModelFileError.

import fs from "node:fs";

import { ModelFileError } from "../errors.ts";

const chunkBytes = 1 << 20;

export class FileCursor {
  /** Absolute file position of the next byte to read. */
  position = 0;
  private buffer = new Uint8Array(0);
  private view = new DataView(this.buffer.buffer);
  /** File position of buffer[0]. */
  private bufferStart = 0;
  private readonly decoder = new TextDecoder("utf-8");

  constructor(
    private readonly descriptor: number,
    readonly file: string,
    readonly fileSize: number,
  ) {}

  get remaining(): number {
    return this.fileSize - this.position;
  }

  /** Makes [position, position + count) available in the buffer; `what` names the item for the truncation error. */
  private ensure(count: number, what: string): number {
    if (count > this.remaining) {
      throw new ModelFileError(
        { file: this.file },
        `file is truncated: ${what} needs ${count} bytes at byte ${this.position} but the file ends at byte ${this.fileSize}`,
      );
    }
    const offset = this.position - this.bufferStart;
    if (offset >= 0 && offset + count <= this.buffer.length) return offset;
    const length = Math.min(Math.max(chunkBytes, count), this.remaining);
    const buffer = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const bytesRead = fs.readSync(this.descriptor, buffer, done, length - done, this.position + done);
      if (bytesRead === 0) throw new ModelFileError({ file: this.file }, `file is truncated: ${what} ends past byte ${this.position + done}`);
      done += bytesRead;
    }
    this.buffer = buffer;
    this.view = new DataView(buffer.buffer);
    this.bufferStart = this.position;
    return 0;
  }

  uint8(what: string): number {
    const offset = this.ensure(1, what);
    this.position += 1;
    return this.view.getUint8(offset);
  }

  int8(what: string): number {
    const offset = this.ensure(1, what);
    this.position += 1;
    return this.view.getInt8(offset);
  }

  uint16(what: string): number {
    const offset = this.ensure(2, what);
    this.position += 2;
    return this.view.getUint16(offset, true);
  }

  int16(what: string): number {
    const offset = this.ensure(2, what);
    this.position += 2;
    return this.view.getInt16(offset, true);
  }

  uint32(what: string): number {
    const offset = this.ensure(4, what);
    this.position += 4;
    return this.view.getUint32(offset, true);
  }

  int32(what: string): number {
    const offset = this.ensure(4, what);
    this.position += 4;
    return this.view.getInt32(offset, true);
  }

  float32(what: string): number {
    const offset = this.ensure(4, what);
    this.position += 4;
    return this.view.getFloat32(offset, true);
  }

  float64(what: string): number {
    const offset = this.ensure(8, what);
    this.position += 8;
    return this.view.getFloat64(offset, true);
  }

  uint64(what: string): bigint {
    const offset = this.ensure(8, what);
    this.position += 8;
    return this.view.getBigUint64(offset, true);
  }

  int64(what: string): bigint {
    const offset = this.ensure(8, what);
    this.position += 8;
    return this.view.getBigInt64(offset, true);
  }

  /** A u64 that must be a count or size no larger than `limit` (else the file is truncated or corrupt). */
  count(what: string, limit: number): number {
    const value = this.uint64(what);
    if (value > BigInt(limit)) {
      throw new ModelFileError({ file: this.file }, `file is truncated or corrupt: ${what} is ${value} at byte ${this.position - 8}, more than the ${limit} the rest of the file can hold`);
    }
    return Number(value);
  }

  /** A copy of the next `count` bytes, in its own (aligned) ArrayBuffer. */
  bytes(count: number, what: string): Uint8Array {
    const offset = this.ensure(count, what);
    this.position += count;
    return this.buffer.slice(offset, offset + count);
  }

  /** A GGUF string: u64 byte length, then UTF-8 bytes. */
  string(what: string): string {
    const length = this.count(`length of ${what}`, this.remaining - 8);
    const offset = this.ensure(length, what);
    this.position += length;
    return this.decoder.decode(this.buffer.subarray(offset, offset + length));
  }
}
