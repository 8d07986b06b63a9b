// The safetensors writer the tests build models with: the exact bytes of a file (length prefix, header padded with
// spaces to 8 bytes, data back to back), raw entries with lying offsets, and the shard names and index of a sharded
// model.

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { writeSafetensors, writeShardedSafetensors } from "../src/safetensors-writer.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("safetensors-writer");

/** The header text and data bytes of a written file. */
function parts(file: string): { header: string; data: Buffer } {
  const bytes = fs.readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  return { header: bytes.subarray(8, 8 + length).toString("utf8"), data: bytes.subarray(8 + length) };
}

describe("writeSafetensors", () => {
  it("writes the length, the header padded with spaces to a multiple of 8, then the data in order", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    const a = Tensor.fromFloat32([2], Float32Array.of(1, 2)); // 8 bytes
    const b = new Tensor("f16", [1], Uint16Array.of(0x3c00)); // 2 bytes
    const c = new Tensor("bf16", [1], Uint16Array.of(0x4000)); // 2 bytes
    writeSafetensors(file, new Map([["a", a], ["b", b], ["c", c]]), { format: "pt" });
    const { header, data } = parts(file);
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[10,12]}}';
    expect(header.trimEnd()).toBe(json);
    expect(header.length % 8).toBe(0);
    expect(header.length - json.length).toBe((8 - (json.length % 8)) % 8);
    expect(header.length - json.length).toBeLessThan(8);
    expect(Array.from(data)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0x00, 0x3c, 0x00, 0x40]);
  });

  it("adds no padding to a header already a multiple of 8, and no __metadata__ when none is given", () => {
    const file = path.join(temporaryDirectory(), "model.safetensors");
    for (let nameLength = 1; nameLength <= 8; nameLength++) {
      const name = "n".repeat(nameLength);
      writeSafetensors(file, new Map([[name, Tensor.fromFloat32([1], Float32Array.of(0))]]));
      const json = JSON.stringify({ [name]: { dtype: "F32", shape: [1], data_offsets: [0, 4] } });
      const { header } = parts(file);
      expect(header.length, name).toBe(Math.ceil(json.length / 8) * 8);
      expect(header.startsWith(json)).toBe(true);
      expect(/^ *$/.test(header.slice(json.length))).toBe(true);
    }
  });

  it("writes raw entries as given, lying offsets included, and refuses kernel dtypes safetensors cannot hold", () => {
    const file = path.join(temporaryDirectory(), "raw.safetensors");
    writeSafetensors(
      file,
      new Map([
        ["ids", { dtype: "I64", shape: [1], bytes: Uint8Array.of(7, 0, 0, 0, 0, 0, 0, 0) }],
        ["lie", { dtype: "F32", shape: [4], bytes: new Uint8Array(0), dataOffsets: [100, 116] as [number, number] }],
        ["after", { dtype: "U8", shape: [2], bytes: Uint8Array.of(5, 6) }],
      ]),
    );
    const { header, data } = parts(file);
    expect(JSON.parse(header)).toEqual({
      ids: { dtype: "I64", shape: [1], data_offsets: [0, 8] },
      lie: { dtype: "F32", shape: [4], data_offsets: [100, 116] },
      after: { dtype: "U8", shape: [2], data_offsets: [8, 10] },
    });
    expect(Array.from(data)).toEqual([7, 0, 0, 0, 0, 0, 0, 0, 5, 6]);
    const quantized = Tensor.zeros("q8_0", [1, 32]);
    expect(() => writeSafetensors(file, new Map([["q", quantized]]))).toThrow(new Error("safetensors cannot hold q8_0"));
  });
});

describe("writeShardedSafetensors", () => {
  it("splits the tensors in order into numbered shards and writes an index with the total size", () => {
    const directory = temporaryDirectory();
    const tensors = new Map(["a", "b", "c", "d", "e"].map((name, index) => [name, Tensor.fromFloat32([index + 1], new Float32Array(index + 1).fill(index))]));
    const files = writeShardedSafetensors(directory, tensors, 2, { format: "pt" });
    expect(files).toEqual([path.join(directory, "model-00001-of-00002.safetensors"), path.join(directory, "model-00002-of-00002.safetensors")]);
    expect(Object.keys(JSON.parse(parts(files[0]).header))).toEqual(["__metadata__", "a", "b", "c"]);
    expect(Object.keys(JSON.parse(parts(files[1]).header))).toEqual(["__metadata__", "d", "e"]);
    const index = JSON.parse(fs.readFileSync(path.join(directory, "model.safetensors.index.json"), "utf8"));
    expect(index).toEqual({
      metadata: { total_size: 4 * (1 + 2 + 3 + 4 + 5) },
      weight_map: {
        a: "model-00001-of-00002.safetensors",
        b: "model-00001-of-00002.safetensors",
        c: "model-00001-of-00002.safetensors",
        d: "model-00002-of-00002.safetensors",
        e: "model-00002-of-00002.safetensors",
      },
    });
    expect(fs.readFileSync(path.join(directory, "model.safetensors.index.json"), "utf8")).toBe(JSON.stringify(index, null, 2));
    const raw = new Map([["x", { dtype: "U8", shape: [3], bytes: Uint8Array.of(1, 2, 3) }]]);
    const single = temporaryDirectory();
    expect(writeShardedSafetensors(single, raw, 1)).toEqual([path.join(single, "model-00001-of-00001.safetensors")]);
    expect(JSON.parse(fs.readFileSync(path.join(single, "model.safetensors.index.json"), "utf8")).metadata).toEqual({ total_size: 3 });
    expect(JSON.parse(parts(path.join(single, "model-00001-of-00001.safetensors")).header)).toEqual({ x: { dtype: "U8", shape: [3], data_offsets: [0, 3] } });
  });
});
