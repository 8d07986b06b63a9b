// Writes .safetensors files (tests build tiny and deliberately broken models with it): single files and sharded models with model.safetensors.index.json.
// Entries can be kernel Tensors or raw (any dtype string, any bytes, even offsets that lie) to build bad files.

import fs from "node:fs";
import path from "node:path";

import type { Tensor } from "@infer-recipes/kernel";

import { bytesOf } from "./tiny-models/random-tensors.ts";

const storedDType: Record<string, string> = { f32: "F32", f16: "F16", bf16: "BF16" };

/** A tensor given as raw bytes with a safetensors dtype string (to write dtypes the kernel lacks, or broken files). */
export interface RawSafetensorsEntry {
  /** The dtype as stored, e.g. "F32", "I64". */
  dtype: string;
  /** Row-major shape. */
  shape: number[];
  /** The data. */
  bytes: Uint8Array;
  /** Override the data_offsets written in the header (to describe data that is not there). */
  dataOffsets?: [number, number];
}

/** A tensor to write: a kernel tensor (f32, f16, bf16) or raw bytes. */
export type SafetensorsEntry = Tensor | RawSafetensorsEntry;

function toRaw(entry: SafetensorsEntry): RawSafetensorsEntry {
  if ("bytes" in entry) return entry;
  const dtype = storedDType[entry.dtype];
  if (dtype === undefined) throw new Error(`safetensors cannot hold ${entry.dtype}`);
  return { dtype, shape: [...entry.shape], bytes: bytesOf(entry) };
}

/** Writes one .safetensors file; the header is padded with spaces to a multiple of 8 bytes, like the reference writer. */
export function writeSafetensors(file: string, tensors: Map<string, SafetensorsEntry>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, entry] of tensors) {
    const raw = toRaw(entry);
    header[name] = { dtype: raw.dtype, shape: raw.shape, data_offsets: raw.dataOffsets ?? [offset, offset + raw.bytes.length] };
    chunks.push(raw.bytes);
    offset += raw.bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.length));
  fs.writeFileSync(file, Buffer.concat([length, headerBytes, ...chunks]));
}

/** Writes `tensors` split round-robin-by-order into `shardCount` files plus model.safetensors.index.json. */
export function writeShardedSafetensors(directory: string, tensors: Map<string, SafetensorsEntry>, shardCount: number, metadata?: Record<string, string>): string[] {
  const names = [...tensors.keys()];
  const perShard = Math.ceil(names.length / shardCount);
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  for (let shard = 0; shard < shardCount; shard++) {
    const fileName = `model-${String(shard + 1).padStart(5, "0")}-of-${String(shardCount).padStart(5, "0")}.safetensors`;
    const shardTensors = new Map(names.slice(shard * perShard, (shard + 1) * perShard).map((name) => [name, tensors.get(name)!]));
    writeSafetensors(path.join(directory, fileName), shardTensors, metadata);
    for (const name of shardTensors.keys()) weightMap[name] = fileName;
    files.push(path.join(directory, fileName));
  }
  const totalSize = [...tensors.values()].reduce((total, entry) => total + toRaw(entry).bytes.length, 0);
  fs.writeFileSync(path.join(directory, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  return files;
}
