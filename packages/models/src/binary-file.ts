// Positioned, bounded reads and writes of weight files. Tensor bytes go straight from disk into the tensor's own
// typed array (one fs.readSync per chunk at the right file offset), so loading costs one disk read per byte and no
// intermediate copies; progress is counted in bytes.

import fs from "node:fs";
import os from "node:os";

import { Tensor, type DType } from "@infer-recipes/kernel";

import { ModelFileError, type ModelFileErrorSubject } from "./errors.ts";

/** Largest single read or write; also how often progress is reported within a big tensor. */
export const transferChunkBytes = 16 * 1024 * 1024;

/** (bytesRead, totalBytes) — called as data arrives, ending with bytesRead === totalBytes. */
export type ProgressCallback = (bytesRead: number, totalBytes: number) => void;

/** Accumulates bytes transferred and reports them to an optional ProgressCallback. */
export class ProgressCounter {
  private transferred = 0;
  constructor(
    readonly totalBytes: number,
    private readonly callback?: ProgressCallback,
  ) {}

  add(bytes: number): void {
    this.transferred += bytes;
    this.callback?.(this.transferred, this.totalBytes);
  }

  get bytesTransferred(): number {
    return this.transferred;
  }
}

function requireLittleEndianHost(file: string): void {
  if (os.endianness() !== "LE") {
    throw new ModelFileError({ file }, "weight files are little-endian and this loader needs a little-endian host");
  }
}

/** What a file system entry that is neither a regular file nor a directory is, for messages ("a FIFO (named pipe)"). */
export function specialFileKind(stats: fs.Stats): string | undefined {
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  return undefined;
}

/**
 * Opens a file for reading; a missing file, a directory, or anything that is not a regular file (a FIFO would block
 * the open until something writes to it) becomes a ModelFileError naming it. (A directory is checked before opening:
 * Linux opens one for reading without complaint and only the first read fails, with a bare EISDIR.)
 */
export function openForReading(file: string): number {
  requireLittleEndianHost(file);
  let stats: fs.Stats | undefined;
  try {
    stats = fs.statSync(file);
  } catch {
    // missing or unreadable: openSync below says which
  }
  if (stats?.isDirectory()) throw new ModelFileError({ file }, "is a directory, expected a file");
  const kind = stats === undefined ? undefined : specialFileKind(stats);
  if (kind !== undefined) throw new ModelFileError({ file }, `is ${kind}, not a regular file: pass the model file itself`);
  try {
    return fs.openSync(file, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === "ENOENT" ? "file not found" : `cannot open (${code ?? String(error)})`;
    throw new ModelFileError({ file }, problem, { cause: error });
  }
}

export function fileSizeOf(descriptor: number): number {
  return fs.fstatSync(descriptor).size;
}

/** Runs `body` with a read-only descriptor of `file`, closing it afterwards. */
export function withOpenFile<T>(file: string, body: (descriptor: number) => T): T {
  const descriptor = openForReading(file);
  try {
    return body(descriptor);
  } finally {
    fs.closeSync(descriptor);
  }
}

/** Fills `target` with the bytes at [position, position + target.length) of the file; a short file is an error. */
export function readExactly(
  descriptor: number,
  target: Uint8Array,
  position: number,
  subject: ModelFileErrorSubject,
  progress?: ProgressCounter,
): void {
  let done = 0;
  while (done < target.length) {
    const length = Math.min(transferChunkBytes, target.length - done);
    const bytesRead = fs.readSync(descriptor, target, done, length, position + done);
    if (bytesRead === 0) {
      throw new ModelFileError(
        subject,
        `file is truncated: needed bytes [${position}, ${position + target.length}) but the file ends at byte ${position + done}`,
      );
    }
    done += bytesRead;
    progress?.add(bytesRead);
  }
}

/** The bytes of a tensor's storage, as a view (no copy). */
export function storageBytes(tensor: Tensor): Uint8Array {
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

/** Allocates a tensor of `dtype` and `shape` and reads its storage from the file at `position`. */
export function readTensor(
  descriptor: number,
  dtype: DType,
  shape: readonly number[],
  position: number,
  subject: ModelFileErrorSubject,
  progress?: ProgressCounter,
): Tensor {
  const tensor = Tensor.zeros(dtype, shape);
  readExactly(descriptor, storageBytes(tensor), position, subject, progress);
  return tensor;
}

/** Writes all of `source` at the descriptor's current position, chunk by chunk. */
export function writeFully(descriptor: number, source: Uint8Array, progress?: ProgressCounter): void {
  let done = 0;
  while (done < source.length) {
    const length = Math.min(transferChunkBytes, source.length - done);
    const written = fs.writeSync(descriptor, source, done, length);
    done += written;
    progress?.add(written);
  }
}
