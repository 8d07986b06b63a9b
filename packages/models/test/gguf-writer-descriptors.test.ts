// writeGguf closes the descriptor of its temporary file whether it succeeds or fails, and leaves nothing behind when
// a tensor's load() throws (the error passed on as it is).

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { afterEach, describe, expect, it, vi } from "vitest";

import { writeGguf } from "../src/index.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("gguf-writer-descriptors");

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `write` and returns the descriptors it opened (and what it threw). */
function opened(write: () => void): { descriptors: number[]; error: unknown } {
  const openSync = fs.openSync;
  const descriptors: number[] = [];
  vi.spyOn(fs, "openSync").mockImplementation(((...args: Parameters<typeof fs.openSync>) => {
    const descriptor = openSync(...args);
    descriptors.push(descriptor);
    return descriptor;
  }) as typeof fs.openSync);
  let error: unknown;
  try {
    write();
  } catch (caught) {
    error = caught;
  }
  vi.restoreAllMocks();
  return { descriptors, error };
}

describe("writeGguf's descriptor", () => {
  it("is closed after a complete write", () => {
    const file = path.join(temporary(), "ok.gguf");
    const { descriptors, error } = opened(() => writeGguf(file, { metadata: {}, tensors: [{ name: "t", tensor: Tensor.fromFloat32([1], Float32Array.of(1)) }] }));
    expect(error).toBeUndefined();
    expect(descriptors).toHaveLength(1);
    expect(() => fs.fstatSync(descriptors[0])).toThrow(/EBADF/);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["ok.gguf"]);
  });

  it("is closed, and the partial file removed, when a tensor's load() throws", () => {
    const directory = temporary();
    const failure = new Error("the source shard is gone");
    const { descriptors, error } = opened(() =>
      writeGguf(path.join(directory, "out.gguf"), {
        metadata: {},
        tensors: [
          { name: "a", tensor: Tensor.fromFloat32([1], Float32Array.of(1)) },
          { name: "b", dtype: "f32", shape: [1], load: () => { throw failure; } },
        ],
      }),
    );
    expect(error).toBe(failure);
    expect(descriptors).toHaveLength(1);
    expect(() => fs.fstatSync(descriptors[0])).toThrow(/EBADF/);
    expect(fs.readdirSync(directory)).toEqual([]);
  });
});
