// Finding a model on disk, exactly: the directory listing (depth, hidden folders, followed and broken links, order),
// what a folder search reports (an empty folder, the first 12 files and how many more, links to missing blobs, a bad
// index), the paths of a located model, and resolving a path to a weight file inside a folder or to something else.
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { listFiles } from "../src/directory-listing.ts";
import { resolveLocalPath } from "../src/local-model.ts";
import { findModelInDirectory, modelFromPlan } from "../src/model-in-directory.ts";
import { temporaryFolder, text, writeFiles } from "./model-fixtures.ts";

const file = (name: string, content = "x") => ({ name, content: text(content) });
const index = (weightMap: Record<string, string>) => JSON.stringify({ weight_map: weightMap });

describe("listFiles", () => {
  it("lists files to the depth asked, sorted, skipping hidden folders (not hidden files) when asked", async () => {
    const root = await temporaryFolder();
    await writeFiles(root, [file("b.txt"), file("a/one.txt"), file("a/b/two.txt"), file("a/b/c/three.txt"), file(".cache/hidden.txt"), file(".hidden-file")]);
    expect((await listFiles(root, { maxDepth: 0, skipHiddenFolders: true })).files).toEqual([".hidden-file", "b.txt"]);
    expect((await listFiles(root, { maxDepth: 1, skipHiddenFolders: true })).files).toEqual([".hidden-file", "a/one.txt", "b.txt"]);
    expect((await listFiles(root, { maxDepth: 3, skipHiddenFolders: true })).files).toEqual([".hidden-file", "a/b/c/three.txt", "a/b/two.txt", "a/one.txt", "b.txt"]);
    expect((await listFiles(root, { maxDepth: 1, skipHiddenFolders: false })).files).toEqual([".cache/hidden.txt", ".hidden-file", "a/one.txt", "b.txt"]);
  });

  it("follows links to files and folders and reports links to nothing", async () => {
    const root = await temporaryFolder();
    await writeFiles(root, [file("real/w.gguf"), file("target.txt")]);
    await symlink(join(root, "real"), join(root, "linked-folder"));
    await symlink("target.txt", join(root, "z-link.txt"));
    await symlink("missing-blob", join(root, "broken.gguf"));
    await symlink("gone", join(root, "a-broken"));
    const listing = await listFiles(root, { maxDepth: 1, skipHiddenFolders: true });
    expect(listing).toEqual({ files: ["linked-folder/w.gguf", "real/w.gguf", "target.txt", "z-link.txt"], brokenLinks: ["a-broken", "broken.gguf"] });
  });
});

describe("findModelInDirectory", () => {
  const options = { maxDepth: 3, skipHiddenFolders: true };

  it("an empty folder says so; otherwise the problem lists the first 12 files and how many more", async () => {
    const empty = await temporaryFolder();
    expect(await findModelInDirectory(empty, undefined, [], options)).toEqual({
      problem: "has no model.safetensors, model.safetensors.index.json, .gguf, pytorch_model.bin, pytorch_model.bin.index.json or llama2.c .bin file (the folder is empty)",
      candidates: [],
    });
    const twelve = await temporaryFolder();
    const names = Array.from({ length: 12 }, (_, index) => `f${String(index).padStart(2, "0")}.txt`);
    await writeFiles(twelve, names.map((name) => file(name)));
    expect(((await findModelInDirectory(twelve, undefined, [], options)) as { problem: string }).problem).toMatch(new RegExp(`\\(has: ${names.join(", ").replace(/\./g, "\\.")}\\)$`));
    await writeFiles(twelve, [file("f12.txt"), file("f13.txt")]);
    expect(((await findModelInDirectory(twelve, undefined, [], options)) as { problem: string }).problem).toMatch(new RegExp(`\\(has: ${names.join(", ").replace(/\./g, "\\.")}, and 2 more\\)$`));
  });

  it("names the missing files, marking links to missing blobs", async () => {
    const root = await temporaryFolder();
    await writeFiles(root, [file("config.json", "{}"), file("model.safetensors.index.json", index({ a: "s-00001-of-00002.safetensors", b: "s-00002-of-00002.safetensors" })), file("s-00001-of-00002.safetensors")]);
    await symlink("../blobs/nothing", join(root, "s-00002-of-00002.safetensors"));
    const search = await findModelInDirectory(root, undefined, [], options);
    expect(search).toEqual({
      problem: "lacks s-00002-of-00002.safetensors (s-00002-of-00002.safetensors: link to a missing blob) (has: config.json, model.safetensors.index.json, s-00001-of-00002.safetensors)",
      candidates: [],
    });
    // Without the broken link: just what is missing.
    const plain = await temporaryFolder();
    await writeFiles(plain, [file("model.safetensors")]);
    expect(await findModelInDirectory(plain, undefined, [], options)).toEqual({ problem: "lacks config.json (has: model.safetensors)", candidates: [] });
  });

  it("a bad index is the problem, with its own message", async () => {
    const root = await temporaryFolder();
    await writeFiles(root, [file("config.json", "{}"), file("model.safetensors.index.json", "{ not json")]);
    const search = (await findModelInDirectory(root, undefined, [], options)) as { problem: string; candidates: string[] };
    expect(search.problem).toMatch(/^model\.safetensors\.index\.json is not valid JSON: /);
    expect(search.candidates).toEqual([]);
    await writeFile(join(root, "model.safetensors.index.json"), JSON.stringify({ weight_map: {} }));
    expect(await findModelInDirectory(root, undefined, [], options)).toEqual({ problem: 'model.safetensors.index.json lists no shard files in "weight_map"', candidates: [] });
  });

  it("a located model's paths: the folder for safetensors (shards from the index, companions once), the file for GGUF", async () => {
    const root = await temporaryFolder();
    await writeFiles(root, [file("sub/config.json", "{}"), file("sub/model.safetensors.index.json", index({ a: "m-2.safetensors", b: "m-1.safetensors", c: "m-2.safetensors" })), file("sub/m-1.safetensors"), file("sub/m-2.safetensors"), file("sub/tokenizer.json")]);
    const search = (await findModelInDirectory(root, "sub/model.safetensors.index.json", [], options)) as { model: Record<string, unknown> };
    expect(search.model).toEqual({
      format: "safetensors",
      path: join(root, "sub"),
      directory: join(root, "sub"),
      weightFiles: [join(root, "sub/m-2.safetensors"), join(root, "sub/m-1.safetensors")],
      files: ["sub/config.json", "sub/model.safetensors.index.json", "sub/m-2.safetensors", "sub/m-1.safetensors", "sub/tokenizer.json"].map((name) => join(root, name)),
    });
    const gguf = modelFromPlan("/r", { format: "gguf", directory: "q", weights: ["q/a-00001-of-00002.gguf", "q/a-00002-of-00002.gguf"], shardIndex: undefined, required: [], optional: [] }, []);
    expect(gguf).toEqual({ format: "gguf", path: "/r/q/a-00001-of-00002.gguf", directory: "/r/q", weightFiles: ["/r/q/a-00001-of-00002.gguf", "/r/q/a-00002-of-00002.gguf"], files: ["/r/q/a-00001-of-00002.gguf", "/r/q/a-00002-of-00002.gguf"] });
  });
});

describe("resolveLocalPath", () => {
  it("a safetensors or PyTorch file resolves to its folder's model, or says what that folder lacks", async () => {
    const root = await temporaryFolder();
    await writeFiles(root, [file("config.json", "{}"), file("model.safetensors"), file("tokenizer.json")]);
    const found = await resolveLocalPath(join(root, "model.safetensors"), undefined, [], {});
    expect(found).toEqual({ model: { format: "safetensors", source: "path", path: root, directory: root, weightFiles: [join(root, "model.safetensors")], files: [join(root, "config.json"), join(root, "model.safetensors"), join(root, "tokenizer.json")] } });
    const lone = await temporaryFolder();
    await writeFiles(lone, [file("pytorch_model.bin")]);
    expect(await resolveLocalPath(join(lone, "pytorch_model.bin"), undefined, [], {})).toEqual({ outcome: "is a PyTorch checkpoint, but its directory lacks config.json (has: pytorch_model.bin)", candidates: [] });
    const loneSafetensors = await temporaryFolder();
    await writeFiles(loneSafetensors, [file("w.safetensors")]);
    expect(await resolveLocalPath(join(loneSafetensors, "w.safetensors"), undefined, [], {})).toEqual({ outcome: "is a safetensors file, but its directory lacks config.json (has: w.safetensors)", candidates: [] });
  });

  it("a file that is no weight file, a folder without a model, and ~ expanded from HOME", async () => {
    const root = await temporaryFolder();
    await writeFiles(root, [file("notes.txt"), file("models/x.gguf")]);
    expect(await resolveLocalPath(join(root, "notes.txt"), undefined, [], {})).toEqual({
      outcome: "is not a .gguf file, a llama2.c .bin file, or a directory with config.json and *.safetensors or pytorch_model*.bin",
      candidates: [],
    });
    const folder = await temporaryFolder();
    await mkdir(join(folder, "empty"));
    expect(await resolveLocalPath(join(folder, "empty"), undefined, [], {})).toEqual({
      outcome: "the directory has no model.safetensors, model.safetensors.index.json, .gguf, pytorch_model.bin, pytorch_model.bin.index.json or llama2.c .bin file (the folder is empty)",
      candidates: [],
    });
    const home = await resolveLocalPath("~/models/x.gguf", undefined, [], { HOME: root });
    expect(home).toEqual({ model: { format: "gguf", source: "path", path: join(root, "models/x.gguf"), directory: join(root, "models"), weightFiles: [join(root, "models/x.gguf")], files: [join(root, "models/x.gguf")] } });
    const chosen = await resolveLocalPath("~/models", "x.gguf", [], { HOME: root });
    expect(chosen).toMatchObject({ model: { format: "gguf", path: join(root, "models/x.gguf") } });
  });
});
