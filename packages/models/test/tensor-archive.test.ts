// Opening weights spread over files (tensor-archive.ts, through its safetensors form): where a directory, an index or a
// file leads, the errors for missing files, shards, tensors and duplicate copies (each naming the file and the
// tensor or field), and loading subsets in the order asked, converted on load, with progress over just those bytes.

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { openSafetensors } from "../src/index.ts";
import { writeSafetensors } from "../src/safetensors-writer.ts";
import { randomTensor } from "../src/tiny-models/random-tensors.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { errorOf } from "./helpers/model-file-error.ts";

const temporary = useTemporaryDirectories("tensor-archive");

/** Two shards without an index: a.safetensors (matrix [4, 32] f16, vector [32]) and b.safetensors (matrix [2, 32] f32). */
function twoFiles(): { directory: string; a: string; b: string } {
  const directory = temporary();
  const a = path.join(directory, "a.safetensors");
  const b = path.join(directory, "b.safetensors");
  writeSafetensors(a, new Map([["m.weight", randomTensor("f16", [4, 32], 1)], ["v.weight", randomTensor("f32", [32], 2)]]), { from: "a" });
  writeSafetensors(b, new Map([["n.weight", randomTensor("f32", [2, 32], 3)]]), { from: "b", extra: "x" });
  return { directory, a, b };
}

describe("opening", () => {
  it("lists every file's tensors in order and merges their metadata", () => {
    const { directory, a, b } = twoFiles();
    fs.writeFileSync(path.join(directory, "notes.txt"), "not weights");
    const archive = openSafetensors(directory);
    expect(archive.path).toBe(directory);
    expect(archive.files).toEqual([a, b]);
    expect([...archive.tensors.keys()]).toEqual(["m.weight", "v.weight", "n.weight"]);
    expect(archive.metadata).toEqual({ from: "b", extra: "x" });
    expect(archive.has("n.weight")).toBe(true);
    expect(archive.has("x.weight")).toBe(false);
    expect(archive.byteLength()).toBe(4 * 32 * 2 + 32 * 4 + 2 * 32 * 4);
    expect(archive.byteLength(["v.weight"])).toBe(128);
    expect(archive.dtypeOf("m.weight")).toBe("f16");
    expect(openSafetensors(a).files).toEqual([a]);
  });

  it("names a tensor stored in two files, a missing location and a directory without weights", () => {
    const { directory, a, b } = twoFiles();
    writeSafetensors(b, new Map([["v.weight", randomTensor("f32", [32], 4)]]));
    const duplicate = errorOf(() => openSafetensors(directory));
    expect(duplicate.message).toBe(`${b}: tensor "v.weight": also stored in ${a}; add a model.safetensors.index.json to say which copy to use`);
    const nowhere = path.join(directory, "none.safetensors");
    expect(errorOf(() => openSafetensors(nowhere)).message).toBe(`${nowhere}: file not found`);
    const empty = temporary();
    fs.writeFileSync(path.join(empty, "config.json"), "{}");
    expect(errorOf(() => openSafetensors(empty)).message).toBe(`${empty}: no model.safetensors.index.json and no *.safetensors files in this directory`);
  });

  it("follows an index file, opened directly or found in its directory, shards in order of first mention", () => {
    const { directory, a, b } = twoFiles();
    const index = path.join(directory, "model.safetensors.index.json");
    fs.writeFileSync(index, JSON.stringify({ metadata: { total_size: 0 }, weight_map: { "n.weight": "b.safetensors", "m.weight": "a.safetensors" } }));
    for (const location of [directory, index]) {
      const archive = openSafetensors(location);
      expect(archive.path).toBe(index);
      expect(archive.files).toEqual([b, a]);
      // Only the tensors the index lists.
      expect([...archive.tensors.keys()]).toEqual(["n.weight", "m.weight"]);
      expect(archive.metadata).toEqual({ from: "a", extra: "x" });
    }
  });

  it("names the index field, the shard or the tensor an index gets wrong", () => {
    const { directory, a } = twoFiles();
    const index = path.join(directory, "model.safetensors.index.json");
    const write = (json: unknown) => fs.writeFileSync(index, JSON.stringify(json));
    write({ weight_map: { "m.weight": 5 } });
    expect(errorOf(() => openSafetensors(directory)).message).toBe(`${index}: field "weight_map.m.weight": expected a shard file name, got 5`);
    write({ weight_map: ["a.safetensors"] });
    expect(errorOf(() => openSafetensors(directory)).message).toBe(`${index}: field "weight_map": expected an object mapping tensor names to shard file names`);
    write({ weight_map: { "m.weight": "a.safetensors", "x.weight": "c.safetensors", "y.weight": "c.safetensors" } });
    expect(errorOf(() => openSafetensors(directory)).message).toBe(
      `${index}: field "weight_map": lists shard c.safetensors (for 2 tensors, e.g. "x.weight") but ${path.join(directory, "c.safetensors")} does not exist`,
    );
    write({ weight_map: { "m.weight": "a.safetensors", "n.weight": "a.safetensors" } });
    expect(errorOf(() => openSafetensors(directory)).message).toBe(`${a}: tensor "n.weight": missing: model.safetensors.index.json says this shard holds it but its header does not list it`);
  });
});

describe("loading", () => {
  it("loads the names asked for in their order, across files, with progress over their bytes only", () => {
    const { directory } = twoFiles();
    const archive = openSafetensors(directory);
    const progress: Array<[number, number]> = [];
    const loaded = archive.loadTensors({ names: ["n.weight", "m.weight"], onProgress: (done, total) => progress.push([done, total]) });
    expect([...loaded.keys()]).toEqual(["n.weight", "m.weight"]);
    expect(loaded.get("m.weight")!.dtype).toBe("f16");
    expect(progress).toEqual([
      [256, 512],
      [512, 512],
    ]);
    expect(Array.from(archive.loadTensor("n.weight").data as Float32Array)).toEqual(Array.from(loaded.get("n.weight")!.data as Float32Array));
  });

  it("converts on load: matrices to the dtype asked (rows that are not whole blocks to f16), vectors to f32", () => {
    const directory = temporary();
    writeSafetensors(
      path.join(directory, "model.safetensors"),
      new Map<string, Tensor>([
        ["m.weight", randomTensor("f16", [4, 32], 1)],
        ["odd.weight", randomTensor("f32", [2, 20], 2)],
        ["v.weight", randomTensor("bf16", [32], 3)],
      ]),
    );
    const loaded = openSafetensors(directory).loadTensors({ dtype: "q8_0" });
    expect([...loaded].map(([name, tensor]) => [name, tensor.dtype])).toEqual([
      ["m.weight", "q8_0"],
      ["odd.weight", "f16"],
      ["v.weight", "f32"],
    ]);
    expect(openSafetensors(directory).loadTensors().get("v.weight")!.dtype).toBe("bf16");
  });

  it("refuses an unknown name or an unsupported dtype before reading anything", () => {
    const { directory, a } = twoFiles();
    const archive = openSafetensors(directory);
    expect(errorOf(() => archive.loadTensors({ names: ["m.weight", "q.weight"] })).message).toBe(`${directory}: tensor "q.weight": missing: the archive has 3 tensors and none by this name`);
    expect(errorOf(() => archive.loadTensor("q.weight")).tensor).toBe("q.weight");
    writeSafetensors(a, new Map([["m.weight", { dtype: "I32", shape: [2], bytes: new Uint8Array(8) }]]));
    const progress: number[] = [];
    expect(errorOf(() => openSafetensors(directory).loadTensors({ onProgress: (done) => progress.push(done) })).message).toBe(
      `${a}: tensor "m.weight": dtype I32 is not supported (supported: F32, F16, BF16)`,
    );
    expect(progress).toEqual([]);
  });
});
