// Writes PyTorch checkpoints the way torch.save does (a ZIP archive of stored entries: <name>/data.pkl pickling an
// OrderedDict of tensors with protocol 2, <name>/byteorder, <name>/data/<key> per storage), so tests can build
// pytorch_model.bin files — including deliberately bad ones, whose data.pkl is given as raw bytes — without Python.

import fs from "node:fs";
import path from "node:path";

import type { Tensor } from "@infer-recipes/kernel";

import { bytesOf } from "./random-tensors.ts";

const storageClasses: Record<string, string> = { f32: "FloatStorage", f16: "HalfStorage", bf16: "BFloat16Storage" };

/** Pickle opcodes (protocol 2) used below. */
const op = { proto: 0x80, global: 0x63, emptyTuple: 0x29, reduce: 0x52, mark: 0x28, binunicode: 0x58, binint: 0x4a, tuple: 0x74, binpersid: 0x51, newfalse: 0x89, setitems: 0x75, stop: 0x2e };

class PickleBuilder {
  readonly bytes: number[] = [];
  push(...values: number[]): this {
    this.bytes.push(...values);
    return this;
  }
  global(module: string, name: string): this {
    return this.push(op.global, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  string(text: string): this {
    const encoded = new TextEncoder().encode(text);
    const length = new Uint8Array(Uint32Array.of(encoded.length).buffer);
    return this.push(op.binunicode, ...length, ...encoded);
  }
  integer(value: number): this {
    return this.push(op.binint, ...new Uint8Array(Int32Array.of(value).buffer));
  }
  integerTuple(values: readonly number[]): this {
    this.push(op.mark);
    for (const value of values) this.integer(value);
    return this.push(op.tuple);
  }
  orderedDict(): this {
    return this.global("collections", "OrderedDict").push(op.emptyTuple, op.reduce);
  }
}

/** The data.pkl torch.save writes for a state dict of `tensors` whose storages are keys "0", "1", ... */
export function stateDictPickle(tensors: ReadonlyMap<string, Tensor>): Uint8Array {
  const pickle = new PickleBuilder().push(op.proto, 2).orderedDict().push(op.mark);
  let key = 0;
  for (const [name, tensor] of tensors) {
    const storageClass = storageClasses[tensor.dtype];
    if (storageClass === undefined) throw new Error(`a PyTorch checkpoint cannot hold ${tensor.dtype} tensors`);
    const strides: number[] = [];
    let stride = 1;
    for (let axis = tensor.shape.length - 1; axis >= 0; axis--) {
      strides.unshift(stride);
      stride *= tensor.shape[axis];
    }
    pickle.string(name).global("torch._utils", "_rebuild_tensor_v2").push(op.mark);
    pickle.push(op.mark).string("storage").global("torch", storageClass).string(String(key++)).string("cpu").integer(tensor.size).push(op.tuple, op.binpersid);
    pickle.integer(0).integerTuple(tensor.shape).integerTuple(strides).push(op.newfalse).orderedDict().push(op.tuple, op.reduce);
  }
  return Uint8Array.from(pickle.push(op.setitems, op.stop).bytes);
}

/** CRC-32 (IEEE), as ZIP headers record it. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Writes a ZIP archive of stored (uncompressed) entries. */
export function writeStoredZip(file: string, entries: ReadonlyArray<readonly [name: string, data: Uint8Array]>): void {
  const parts: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    parts.push(local, nameBytes, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    directory.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directoryBytes = Buffer.concat(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directoryBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  fs.writeFileSync(file, Buffer.concat([...parts, directoryBytes, end]));
}

/**
 * Writes `tensors` (f32/f16/bf16) as a torch.save checkpoint at `file`. `dataPickle` replaces the data.pkl torch
 * would write (for files that must be refused).
 */
export function writePyTorchCheckpoint(file: string, tensors: ReadonlyMap<string, Tensor>, options: { dataPickle?: Uint8Array } = {}): void {
  const name = path.basename(file).replace(/\.[^.]*$/, "") || "archive";
  const entries: Array<[string, Uint8Array]> = [[`${name}/data.pkl`, options.dataPickle ?? stateDictPickle(tensors)], [`${name}/byteorder`, new TextEncoder().encode("little")]];
  [...tensors.values()].forEach((tensor, key) => entries.push([`${name}/data/${key}`, bytesOf(tensor)]));
  entries.push([`${name}/version`, new TextEncoder().encode("3\n")]);
  writeStoredZip(file, entries);
}

/** Writes `tensors` as `shardCount` pytorch_model-0000N-of-0000M.bin files plus pytorch_model.bin.index.json. */
export function writeShardedPyTorchCheckpoint(directory: string, tensors: ReadonlyMap<string, Tensor>, shardCount: number): string[] {
  const names = [...tensors.keys()];
  const perShard = Math.ceil(names.length / shardCount);
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  for (let shard = 0; shard < shardCount; shard++) {
    const fileName = `pytorch_model-${String(shard + 1).padStart(5, "0")}-of-${String(shardCount).padStart(5, "0")}.bin`;
    const shardTensors = new Map(names.slice(shard * perShard, (shard + 1) * perShard).map((name) => [name, tensors.get(name)!]));
    writePyTorchCheckpoint(path.join(directory, fileName), shardTensors);
    for (const name of shardTensors.keys()) weightMap[name] = fileName;
    files.push(path.join(directory, fileName));
  }
  fs.writeFileSync(path.join(directory, "pytorch_model.bin.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2));
  return files;
}
