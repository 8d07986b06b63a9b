// The edges of choosing a model's files, from the first mutation run's survivors: a safetensors index that is not an
// object, null or holds non-string values; which weights a plan takes when an index, a single file and shards are
// there; several GGUF models named by the first part of a split one; one GGUF or one llama2.c file against several; a
// pattern that matches nothing; and, in a directory or cache snapshot, a shard whose link has no blob, a PyTorch folder
// as the model's path, files named once when asked for twice, listings sorted as whole paths, and hidden folders of a snapshot.
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { findCachedModel } from "../src/cached-model.ts";
import { listFiles } from "../src/directory-listing.ts";
import { selectModelFiles, shardsFromIndex } from "../src/file-selection.ts";
import { findModelInDirectory } from "../src/model-in-directory.ts";
import { buildCache, temporaryFolder, text, writeFiles } from "./model-fixtures.ts";

const indexName = "model.safetensors.index.json";

describe("shardsFromIndex", () => {
  it("refuses an index that is null or whose weight_map is null, naming the file", () => {
    expect(() => shardsFromIndex("null", indexName)).toThrow(`${indexName} has no "weight_map" object`);
    expect(() => shardsFromIndex('{"weight_map": null}', indexName)).toThrow(`${indexName} has no "weight_map" object`);
  });

  it("takes the string values only, once each, in first-use order", () => {
    const index = JSON.stringify({ weight_map: { a: "s1.safetensors", b: 3, c: "s1.safetensors", d: "s2.safetensors", e: null } });
    expect(shardsFromIndex(index, indexName)).toEqual(["s1.safetensors", "s2.safetensors"]);
  });
});

describe("selectModelFiles", () => {
  const plan = (available: string[], pattern?: string) => {
    const selection = selectModelFiles(available, pattern);
    if ("problem" in selection) throw new Error(selection.problem);
    return selection.plan;
  };
  const sharded = ["config.json", "model.safetensors", indexName, "model-00001-of-00001.safetensors", "extra.safetensors"];

  it("uses the index unless the single weight file alone matched", () => {
    expect(plan(sharded, "model.safetensors")).toMatchObject({ weights: ["model.safetensors"], shardIndex: undefined, required: ["config.json"] });
    // Two files matched (the single file among them), a shard, or the index itself: the index.
    for (const pattern of ["*.safetensors", "model-00001-of-00001.safetensors", indexName]) {
      expect(plan(sharded, pattern), pattern).toMatchObject({ weights: [], shardIndex: indexName, required: ["config.json", indexName] });
    }
    // Without an index: the matched weight files themselves, and only files with the weight extension.
    expect(plan(["config.json", "model.safetensors", "extra.safetensors"], "*.safetensors").weights).toEqual(["model.safetensors", "extra.safetensors"]);
    expect(plan(["config.json", "other.safetensors.index.json"], "other.safetensors.index.json")).toMatchObject({ format: "safetensors", weights: [], shardIndex: undefined });
    expect(plan(["config.json", "pytorch_model-x.bin.index.json"], "pytorch_model-x.bin.index.json")).toMatchObject({ format: "pytorch", weights: [], shardIndex: undefined });
  });

  it("several models matching a pattern are named by their first file (a split GGUF by its first part)", () => {
    const available = ["a-00002-of-00002.gguf", "a-00001-of-00002.gguf", "b.gguf", "sub/model.safetensors", "config.json"];
    expect(selectModelFiles(available, "*")).toEqual({
      problem: '"*" matches 3 different models; be more specific',
      candidates: ["a-00001-of-00002.gguf", "b.gguf", "sub/model.safetensors"],
    });
  });

  it("one GGUF model or one llama2.c file is the model; two are a choice", () => {
    expect(plan(["x-00001-of-00002.gguf", "x-00002-of-00002.gguf"])).toMatchObject({ format: "gguf", weights: ["x-00001-of-00002.gguf", "x-00002-of-00002.gguf"] });
    expect(selectModelFiles(["x.gguf", "y.gguf"])).toEqual({ problem: "holds 2 GGUF models; choose one with a file name, glob or quantization tag", candidates: ["x.gguf", "y.gguf"] });
    expect(plan(["stories.bin"])).toMatchObject({ format: "llama2c", weights: ["stories.bin"] });
    expect(selectModelFiles(["a.bin", "b.bin"])).toEqual({ problem: "holds 2 llama2.c .bin files; choose one", candidates: ["a.bin", "b.bin"] });
  });

  it("a pattern that matches no file says so, with the weight files as candidates", () => {
    expect(selectModelFiles(["a.gguf", "README.md"], "Q3_K")).toEqual({ problem: '"Q3_K" matches no file', candidates: ["a.gguf"] });
  });
});

describe("models in a directory", () => {
  it("names a shard whose link has no blob", async () => {
    const root = await temporaryFolder();
    const shard = "model-00001-of-00001.safetensors";
    await writeFiles(root, [
      { name: "config.json", content: text("{}") },
      { name: indexName, content: text(JSON.stringify({ weight_map: { w: shard } })) },
    ]);
    await symlink("../blobs/missing", join(root, shard));
    expect(await findModelInDirectory(root, undefined, [], { maxDepth: 0, skipHiddenFolders: true })).toEqual({
      problem: `lacks ${shard} (${shard}: link to a missing blob) (has: config.json, ${indexName})`,
      candidates: [],
    });
  });

  it("a PyTorch folder is the model's path; a file asked for twice is listed once", async () => {
    const root = await temporaryFolder();
    await writeFiles(root, [
      { name: "config.json", content: text("{}") },
      { name: "pytorch_model.bin", content: text("weights") },
      { name: "tokenizer.json", content: text("{}") },
    ]);
    const search = await findModelInDirectory(root, undefined, ["tokenizer.json"], { maxDepth: 0, skipHiddenFolders: true });
    expect(search).toEqual({
      model: {
        format: "pytorch",
        path: root,
        directory: root,
        weightFiles: [join(root, "pytorch_model.bin")],
        files: ["config.json", "tokenizer.json", "pytorch_model.bin"].map((file) => join(root, file)),
      },
    });
  });

  it("lists files and broken links sorted as whole paths (a folder's files are not listed before a sibling name that sorts first)", async () => {
    // Each folder is read in name order ("a" before "a.txt"), but "a.txt" sorts before "a/x" ("." < "/").
    const root = await temporaryFolder();
    await mkdir(join(root, "a"));
    for (const name of ["a/x", "a.txt", "b"]) await writeFile(join(root, name), name);
    for (const name of ["a/link", "a.link"]) await symlink("missing-target", join(root, name));
    const listing = await listFiles(root, { maxDepth: 1, skipHiddenFolders: false });
    expect(listing.files).toEqual(["a.txt", "a/x", "b"]);
    expect(listing.brokenLinks).toEqual(["a.link", "a/link"]);
  });

  it("a cache snapshot's hidden folders are searched", async () => {
    const cache = await temporaryFolder();
    const commit = "c".repeat(40);
    await buildCache(cache, "org/tiny", commit, [{ name: ".weights/tiny.gguf", content: text("weights") }]);
    const found = await findCachedModel({ cacheDirectory: cache, repo: "org/tiny", revision: "main", pattern: undefined, additionalPatterns: [] });
    expect("model" in found && found.model.weightFiles).toEqual([join(cache, "models--org--tiny", "snapshots", commit, ".weights", "tiny.gguf")]);
  });
});
