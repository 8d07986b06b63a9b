// Positioned reads and writes of weight files (binary-file.ts): what a path that is not a regular file is called,
// the truncation message with its byte positions, reads and writes longer than one transfer chunk, and progress.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  fileSizeOf,
  openForReading,
  ProgressCounter,
  readExactly,
  readTensor,
  specialFileKind,
  storageBytes,
  transferChunkBytes,
  withOpenFile,
  writeFully,
} from "../src/binary-file.ts";
import { readGguf, readLlama2cHeader, readSafetensorsHeader } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("binary-file");

describe("opening weight files", () => {
  it("names what a path is when it is not a regular file", async () => {
    const directory = temporaryDirectory();
    const fifo = path.join(directory, "pipe");
    execFileSync("mkfifo", [fifo]);
    expect(specialFileKind(fs.statSync(fifo))).toBe("a FIFO (named pipe)");
    expect(specialFileKind(fs.statSync("/dev/null"))).toBe("a character device");
    expect(specialFileKind(fs.statSync(directory))).toBeUndefined();
    const regular = path.join(directory, "file.bin");
    fs.writeFileSync(regular, "x");
    expect(specialFileKind(fs.statSync(regular))).toBeUndefined();
    const socketPath = path.join(directory, "socket");
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      expect(specialFileKind(fs.statSync(socketPath))).toBe("a socket");
      expect(errorOf(() => openForReading(socketPath)).message).toBe(`${socketPath}: is a socket, not a regular file: pass the model file itself`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(errorOf(() => openForReading(fifo)).message).toBe(`${fifo}: is a FIFO (named pipe), not a regular file: pass the model file itself`);
    expect(errorOf(() => openForReading("/dev/null")).message).toBe("/dev/null: is a character device, not a regular file: pass the model file itself");
    expect(errorOf(() => openForReading(directory)).message).toBe(`${directory}: is a directory, expected a file`);
    const missing = path.join(directory, "missing.bin");
    expect(errorOf(() => openForReading(missing)).message).toBe(`${missing}: file not found`);
    const underFile = path.join(regular, "inside.bin");
    expect(errorOf(() => openForReading(underFile)).message).toBe(`${underFile}: cannot open (ENOTDIR)`);
  });

  it("withOpenFile hands a descriptor of the file and closes it afterwards, also when the body throws", () => {
    const file = path.join(temporaryDirectory(), "data.bin");
    fs.writeFileSync(file, Buffer.from([1, 2, 3]));
    let kept = -1;
    expect(withOpenFile(file, (descriptor) => ((kept = descriptor), fileSizeOf(descriptor)))).toBe(3);
    expect(() => fs.fstatSync(kept)).toThrow(/EBADF/);
    expect(() =>
      withOpenFile(file, (descriptor) => {
        kept = descriptor;
        throw new Error("inside");
      }),
    ).toThrow("inside");
    expect(() => fs.fstatSync(kept)).toThrow(/EBADF/);
  });
});

describe("reading and writing", () => {
  it("reads exactly the bytes at a position, and says where a short file ends", () => {
    const file = path.join(temporaryDirectory(), "data.bin");
    fs.writeFileSync(file, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    withOpenFile(file, (descriptor) => {
      const target = new Uint8Array(4);
      readExactly(descriptor, target, 3, { file });
      expect(Array.from(target)).toEqual([3, 4, 5, 6]);
      const whole = new Uint8Array(10);
      readExactly(descriptor, whole, 0, { file });
      expect(Array.from(whole)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      readExactly(descriptor, new Uint8Array(0), 50, { file });
      expect(errorOf(() => readExactly(descriptor, new Uint8Array(4), 8, { file, tensor: "t" })).message).toBe(
        `${file}: tensor "t": file is truncated: needed bytes [8, 12) but the file ends at byte 10`,
      );
      expect(errorOf(() => readExactly(descriptor, new Uint8Array(1), 10, { file })).message).toBe(`${file}: file is truncated: needed bytes [10, 11) but the file ends at byte 10`);
    });
  });

  it("reads and writes more than one transfer chunk, reporting progress per chunk", () => {
    expect(transferChunkBytes).toBe(16 * 1024 * 1024);
    const length = transferChunkBytes + 5;
    const source = new Uint8Array(length);
    for (let index = 0; index < length; index += 4093) source[index] = (index / 4093) & 0xff;
    source[length - 1] = 0xab;
    const file = path.join(temporaryDirectory(), "big.bin");
    const written: Array<[number, number]> = [];
    const descriptor = fs.openSync(file, "w");
    try {
      writeFully(descriptor, source, new ProgressCounter(length, (done, total) => written.push([done, total])));
    } finally {
      fs.closeSync(descriptor);
    }
    expect(written).toEqual([
      [transferChunkBytes, length],
      [length, length],
    ]);
    expect(fs.statSync(file).size).toBe(length);
    const read: Array<[number, number]> = [];
    const counter = new ProgressCounter(length + 3, (done, total) => read.push([done, total]));
    counter.add(3);
    withOpenFile(file, (descriptor) => {
      const target = new Uint8Array(length);
      readExactly(descriptor, target, 0, { file }, counter);
      expect(Buffer.compare(Buffer.from(target), Buffer.from(source))).toBe(0);
    });
    expect(read).toEqual([
      [3, length + 3],
      [3 + transferChunkBytes, length + 3],
      [3 + length, length + 3],
    ]);
    expect(counter.bytesTransferred).toBe(length + 3);
    expect(counter.totalBytes).toBe(length + 3);
    const silent = new ProgressCounter(10);
    silent.add(4);
    silent.add(6);
    expect(silent.bytesTransferred).toBe(10);
  });

  it("readTensor fills a new tensor's storage from a position; storageBytes views the storage without copying", () => {
    const values = Float32Array.of(1.5, -2, 3.25);
    const file = path.join(temporaryDirectory(), "tensor.bin");
    fs.writeFileSync(file, Buffer.concat([Buffer.from([9, 9]), Buffer.from(values.buffer)]));
    const tensor = withOpenFile(file, (descriptor) => readTensor(descriptor, "f32", [3], 2, { file, tensor: "t" }));
    expect(tensor.dtype).toBe("f32");
    expect(tensor.shape).toEqual([3]);
    expect(Array.from(tensor.data)).toEqual([1.5, -2, 3.25]);
    const viewed = Tensor.fromFloat32([2], Float32Array.of(1, 2));
    const bytes = storageBytes(viewed);
    expect(bytes.byteLength).toBe(8);
    bytes.fill(0);
    expect(Array.from(viewed.data)).toEqual([0, 0]);
    const big = new Float32Array(6);
    const slice = new Tensor("f32", [2], big.subarray(2, 4));
    const sliceBytes = storageBytes(slice);
    expect([sliceBytes.byteOffset, sliceBytes.byteLength]).toEqual([8, 8]);
  });
});

describe("a directory passed as a weight file", () => {
  it("is refused by name by every reader, not with a bare EISDIR from the first read", () => {
    const directory = temporaryDirectory();
    for (const read of [readGguf, readSafetensorsHeader, readLlama2cHeader]) {
      expect(errorOf(() => read(directory)).message).toBe(`${directory}: is a directory, expected a file`);
    }
  });
});
