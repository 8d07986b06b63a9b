// The cache lookup's every outcome, exactly (no repository folder, a ref to a missing snapshot, no ref for a revision
// other than main, no ref and no snapshots, no ref and only incomplete snapshots, the newest complete snapshot), and
// resolveModel's messages around it: a path with no usable model (with and without choices), where the cache came
// from, and the download defaults.
import { mkdir, utimes } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { findCachedModel } from "../src/cached-model.ts";
import { ModelNotFoundError } from "../src/errors.ts";
import { hubSettings } from "../src/hub-settings.ts";
import { silentProgress } from "../src/progress-printer.ts";
import { downloadOptions, resolveModel } from "../src/resolve-model.ts";
import { buildCache, temporaryFolder, text, writeFiles } from "./model-fixtures.ts";

const repo = "org/tiny";
const gguf = [{ name: "tiny-Q8_0.gguf", content: text("weights") }];
const commitA = "a".repeat(40);
const commitB = "b".repeat(40);
const query = (cacheDirectory: string, revision = "main", pattern?: string) => ({ cacheDirectory, repo, revision, pattern, additionalPatterns: [] });

describe("findCachedModel", () => {
  it("reports a repository that is not cached, a ref to a missing snapshot, and a missing ref for another revision", async () => {
    const cache = await temporaryFolder();
    const repositoryPath = join(cache, "models--org--tiny");
    expect(await findCachedModel(query(cache))).toEqual({ place: repositoryPath, outcome: "not present" });
    await buildCache(cache, repo, commitA, gguf);
    expect(await findCachedModel(query(cache, "v2"))).toEqual({ place: repositoryPath, outcome: "has no refs/v2" });
    expect(await findCachedModel(query(cache, commitB))).toEqual({ place: repositoryPath, outcome: `refs/${commitB} → ${commitB}, but snapshots/${commitB} is missing` });
    expect(await findCachedModel(query(cache, "main", "Q4_0"))).toEqual({
      place: repositoryPath,
      outcome: `refs/main → ${commitA}: the snapshot "Q4_0" matches no file (has: tiny-Q8_0.gguf)`,
    });
    const found = await findCachedModel(query(cache));
    expect(found).toEqual({
      model: {
        format: "gguf",
        source: "cache",
        repo,
        revision: "main",
        commit: commitA,
        path: join(repositoryPath, "snapshots", commitA, "tiny-Q8_0.gguf"),
        directory: join(repositoryPath, "snapshots", commitA),
        weightFiles: [join(repositoryPath, "snapshots", commitA, "tiny-Q8_0.gguf")],
        files: [join(repositoryPath, "snapshots", commitA, "tiny-Q8_0.gguf")],
      },
    });
  });

  it("without refs/main: no snapshots, only incomplete ones (each problem listed), or the newest complete one", async () => {
    const cache = await temporaryFolder();
    const repositoryPath = join(cache, "models--org--tiny");
    await mkdir(repositoryPath, { recursive: true });
    expect(await findCachedModel(query(cache))).toEqual({ place: repositoryPath, outcome: "has no refs/main and no snapshots" });
    await mkdir(join(repositoryPath, "snapshots", commitA), { recursive: true });
    await mkdir(join(repositoryPath, "snapshots", commitB), { recursive: true });
    await utimes(join(repositoryPath, "snapshots", commitA), 1000, 1000);
    await utimes(join(repositoryPath, "snapshots", commitB), 2000, 2000);
    const empty = "has no model.safetensors, model.safetensors.index.json, .gguf, pytorch_model.bin, pytorch_model.bin.index.json or llama2.c .bin file (the folder is empty)";
    expect(await findCachedModel(query(cache))).toEqual({ place: repositoryPath, outcome: `has no refs/main; snapshot ${commitB}: the snapshot ${empty}; snapshot ${commitA}: the snapshot ${empty}` });
    // Both complete: the newest (b) wins; once a is newer, a wins.
    await writeFiles(join(repositoryPath, "snapshots", commitA), gguf);
    await writeFiles(join(repositoryPath, "snapshots", commitB), gguf);
    await utimes(join(repositoryPath, "snapshots", commitA), 1000, 1000);
    await utimes(join(repositoryPath, "snapshots", commitB), 2000, 2000);
    expect(await findCachedModel(query(cache))).toMatchObject({ model: { commit: commitB, revision: "main" } });
    await utimes(join(repositoryPath, "snapshots", commitA), 3000, 3000);
    expect(await findCachedModel(query(cache))).toMatchObject({ model: { commit: commitA } });
  });
});

describe("resolveModel messages", () => {
  it("a path without a usable model: the place, the outcome, the choices when there are some, and what to pass", async () => {
    const folder = await temporaryFolder();
    await writeFiles(folder, [{ name: "a-Q4_0.gguf", content: text("1") }, { name: "a-Q8_0.gguf", content: text("2") }]);
    const error = (await resolveModel(folder, { environment: {}, progress: false }).catch((caught: unknown) => caught)) as ModelNotFoundError;
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.specifier).toBe(folder);
    expect(error.searched).toEqual([{ place: `local path ${folder}`, outcome: "the directory holds 2 GGUF models; choose one with a file name, glob or quantization tag (has: a-Q4_0.gguf, a-Q8_0.gguf)" }]);
    expect(error.hints).toEqual([
      "choose one of: a-Q4_0.gguf, a-Q8_0.gguf (add :<file> or the file option)",
      "pass a directory with config.json and model.safetensors (or model.safetensors.index.json and its shards), a .gguf file, or a llama2.c .bin file",
      "or a Hugging Face repository id such as org/name or org/name:Q4_K_M to use the cache or download",
    ]);
    expect(error.message.split("\n")[0]).toBe(`No usable model at ${folder}.`);
    const missing = (await resolveModel({ path: join(folder, "none.gguf"), file: "Q4" }, { environment: {}, progress: false }).catch((caught: unknown) => caught)) as ModelNotFoundError;
    expect(missing.specifier).toBe(`${join(folder, "none.gguf")} (file Q4)`);
    expect(missing.hints).toHaveLength(2);
    // The file option applies when the specifier names none.
    expect((await resolveModel(folder, { environment: {}, progress: false, file: "Q8_0" })).path).toBe(join(folder, "a-Q8_0.gguf"));
  });

  it("names where the cache came from, in offline mode without contacting the hub", async () => {
    const cache = await temporaryFolder();
    const place = (error: unknown) => (error as ModelNotFoundError).searched.find((entry) => entry.place.startsWith("Hugging Face cache"))!.place;
    const offline = { HF_HUB_OFFLINE: "1" };
    const fail = (options: Parameters<typeof resolveModel>[1]) => resolveModel(`${repo}@v1`, { progress: false, ...options }).catch((caught: unknown) => caught);
    expect(place(await fail({ environment: { ...offline, HF_HUB_CACHE: cache } }))).toBe(`Hugging Face cache ${join(cache, "models--org--tiny")} (from HF_HUB_CACHE)`);
    expect(place(await fail({ environment: { ...offline, HF_HOME: cache } }))).toBe(`Hugging Face cache ${join(cache, "hub", "models--org--tiny")} (from HF_HOME)`);
    expect(place(await fail({ environment: offline, cacheDirectory: cache }))).toBe(`Hugging Face cache ${join(cache, "models--org--tiny")} (from the cacheDirectory option)`);
    expect(place(await fail({ environment: { ...offline, XDG_CACHE_HOME: cache } }))).toBe(
      `Hugging Face cache ${join(cache, "huggingface", "hub", "models--org--tiny")} (the default; set HF_HUB_CACHE or HF_HOME to use another)`,
    );
    const error = (await fail({ environment: { ...offline, HF_HUB_CACHE: cache } })) as ModelNotFoundError;
    expect(error.searched[0]).toEqual({ place: `local path ${join(process.cwd(), `${repo}@v1`)}`, outcome: "does not exist" });
    expect(error.specifier).toBe(`${repo}@v1`);
    // A specifier given as an object has no local path to report.
    const object = (await resolveModel({ repo }, { progress: false, environment: { ...offline, HF_HUB_CACHE: cache } }).catch((caught: unknown) => caught)) as ModelNotFoundError;
    expect(object.searched.map((entry) => entry.place.split(" ")[0])).toEqual(["Hugging", "hub"]);
  });

  it("downloadOptions: defaults of 3 retries, 1 s, checksums on, a printer unless progress is false", () => {
    const settings = hubSettings({ environment: {} });
    const defaults = downloadOptions(settings, {});
    expect(defaults).toMatchObject({ settings, signal: undefined, retries: 3, retryDelayMs: 1000, verifyChecksums: true });
    expect(defaults.onProgress).not.toBe(silentProgress);
    expect(downloadOptions(settings, { progress: false }).onProgress).toBe(silentProgress);
    const listener = () => {};
    const signal = new AbortController().signal;
    expect(downloadOptions(settings, { progress: listener, retries: 0, retryDelayMs: 5, verifyChecksums: false, signal })).toEqual({ settings, signal, onProgress: listener, retries: 0, retryDelayMs: 5, verifyChecksums: false });
  });
});
