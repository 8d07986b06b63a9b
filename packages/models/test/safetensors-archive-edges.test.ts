// The safetensors reader and the tensor archive at edges the other tests leave open: a header that is not valid UTF-8
// (refused, not decoded with replacement characters), the parse error kept as the cause; a directory's files taken in
// name order whatever order the file system lists them in; loading some tensors of a sharded model reads only the
// shards that hold them.

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { afterEach, describe, expect, it, vi } from "vitest";

import { openSafetensors, readSafetensorsHeader, writeSafetensors } from "../src/index.ts";
import { writeShardedSafetensors } from "../src/safetensors-writer.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("safetensors-archive-edges");

afterEach(() => {
  vi.restoreAllMocks();
});

/** A safetensors file whose header is `header` (bytes as given) followed by `dataBytes` zero bytes. */
function rawFile(header: Uint8Array, dataBytes: number): string {
  const file = path.join(temporary(), "raw.safetensors");
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(file, Buffer.concat([length, header, Buffer.alloc(dataBytes)]));
  return file;
}

const vector = (...values: number[]) => Tensor.fromFloat32([values.length], Float32Array.from(values));

describe("readSafetensorsHeader", () => {
  it("refuses a header that is not valid UTF-8, even inside a string, keeping the decoder's error as the cause", () => {
    const header = Buffer.concat([Buffer.from('{"a'), Buffer.from([0xff]), Buffer.from('b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')]);
    const file = rawFile(header, 4);
    const error = errorOf(() => readSafetensorsHeader(file));
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`${file}: invalid header JSON (${header.length} bytes after the length prefix): ${(error.cause as Error).message}`);
    expect((error.cause as Error).message).toMatch(/utf-8/i);
  });

  it("keeps the JSON parser's error as the cause", () => {
    const file = rawFile(Buffer.from("{nope"), 0);
    const error = errorOf(() => readSafetensorsHeader(file));
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(error.message).toBe(`${file}: invalid header JSON (5 bytes after the length prefix): ${(error.cause as Error).message}`);
  });
});

describe("a directory of safetensors files", () => {
  it("is read in file name order, whatever order the directory lists them in", () => {
    const directory = temporary();
    writeSafetensors(path.join(directory, "a.safetensors"), new Map([["from-a", vector(1)]]));
    writeSafetensors(path.join(directory, "b.safetensors"), new Map([["from-b", vector(2)]]));
    fs.writeFileSync(path.join(directory, "notes.txt"), "x");
    const readdirSync = fs.readdirSync;
    vi.spyOn(fs, "readdirSync").mockImplementation(((location: string) => (readdirSync(location) as string[]).sort().reverse()) as typeof fs.readdirSync);
    const archive = openSafetensors(directory);
    expect(archive.files).toEqual([path.join(directory, "a.safetensors"), path.join(directory, "b.safetensors")]);
    expect([...archive.tensors.keys()]).toEqual(["from-a", "from-b"]);
    writeSafetensors(path.join(directory, "b.safetensors"), new Map([["from-a", vector(3)]]));
    expect(errorOf(() => openSafetensors(directory)).message).toBe(
      `${path.join(directory, "b.safetensors")}: tensor "from-a": also stored in ${path.join(directory, "a.safetensors")}; add a model.safetensors.index.json to say which copy to use`,
    );
  });
});

describe("loading some tensors of a sharded model", () => {
  it("opens only the shards that hold them", () => {
    const directory = temporary();
    const files = writeShardedSafetensors(directory, new Map([["one", vector(1)], ["two", vector(2, 3)]]), 2);
    const archive = openSafetensors(directory);
    expect(archive.info("one").file).toBe(files[0]);
    expect(archive.info("two").file).toBe(files[1]);
    fs.rmSync(files[1]);
    const loaded = archive.loadTensors({ names: ["one"] });
    expect([...loaded.keys()]).toEqual(["one"]);
    expect(Array.from(loaded.get("one")!.data as Float32Array)).toEqual([1]);
    expect(errorOf(() => archive.loadTensors({ names: ["two"] })).message).toBe(`${files[1]}: file not found`);
  });
});
