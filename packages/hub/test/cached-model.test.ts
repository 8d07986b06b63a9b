// Tests for finding models in a hand-built Hugging Face cache: symlinked and copied snapshots, refs, a missing ref,
// broken links, incomplete snapshots, and where the cache directory comes from (HF_HUB_CACHE, HF_HOME, default).

import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hubSettings, ModelNotFoundError, resolveModel } from "../src/index.ts";
import { closedPortEndpoint, sha256 } from "./fake-hub.ts";
import { buildCache, ggufCommit, ggufRepositoryFiles, llamaCommit, safetensorsRepositoryFiles, temporaryFolder } from "./model-fixtures.ts";

const repo = "meta-llama/Llama-3.2-3B-Instruct";
const ggufRepo = "bartowski/Llama-3.2-3B-Instruct-GGUF";

async function offlineOptions(cache: string) {
  return { environment: { HF_HUB_CACHE: cache, HF_ENDPOINT: await closedPortEndpoint() }, progress: false as const, retries: 0 };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the Hugging Face cache", () => {
  it("finds a sharded safetensors model through symlinked snapshots", async () => {
    const cache = await temporaryFolder();
    const repositoryPath = await buildCache(cache, repo, llamaCommit, safetensorsRepositoryFiles());
    const model = await resolveModel(repo, await offlineOptions(cache));
    const snapshot = join(repositoryPath, "snapshots", llamaCommit);
    expect(model).toMatchObject({ format: "safetensors", source: "cache", path: snapshot, repo, revision: "main", commit: llamaCommit });
    expect(model.weightFiles).toEqual([join(snapshot, "model-00001-of-00002.safetensors"), join(snapshot, "model-00002-of-00002.safetensors")]);
  });

  it("reads HF_HUB_CACHE from process.env by default", async () => {
    const cache = await temporaryFolder();
    await buildCache(cache, ggufRepo, ggufCommit, ggufRepositoryFiles());
    vi.stubEnv("HF_HUB_CACHE", cache);
    vi.stubEnv("HF_ENDPOINT", await closedPortEndpoint());
    const model = await resolveModel(`${ggufRepo}:Q4_K_M`, { progress: false });
    expect(model).toMatchObject({ format: "gguf", source: "cache", commit: ggufCommit });
    expect(model.path).toBe(join(cache, "models--bartowski--Llama-3.2-3B-Instruct-GGUF", "snapshots", ggufCommit, "Llama-3.2-3B-Instruct-Q4_K_M.gguf"));
  });

  it("finds split GGUF parts in snapshot subfolders and copied (not linked) snapshots", async () => {
    const cache = await temporaryFolder();
    await buildCache(cache, ggufRepo, ggufCommit, ggufRepositoryFiles(), { symlinks: false });
    const model = await resolveModel({ repo: ggufRepo, file: "*Q6_K-00001-of-00002.gguf" }, await offlineOptions(cache));
    expect(model.weightFiles.map((file) => file.slice(file.lastIndexOf("/") + 1))).toEqual([
      "Llama-3.2-3B-Instruct-Q6_K-00001-of-00002.gguf",
      "Llama-3.2-3B-Instruct-Q6_K-00002-of-00002.gguf",
    ]);
  });

  it("uses a complete snapshot when refs/main is missing, and a commit given as revision", async () => {
    const cache = await temporaryFolder();
    await buildCache(cache, repo, llamaCommit, safetensorsRepositoryFiles(), { ref: false });
    expect((await resolveModel(repo, await offlineOptions(cache))).commit).toBe(llamaCommit);
    expect((await resolveModel(`${repo}@${llamaCommit}`, await offlineOptions(cache))).commit).toBe(llamaCommit);
  });

  it("explains an incomplete snapshot and a link to a missing blob", async () => {
    const cache = await temporaryFolder();
    const files = safetensorsRepositoryFiles();
    const repositoryPath = await buildCache(cache, repo, llamaCommit, files);
    const shard = files.find((file) => file.name === "model-00002-of-00002.safetensors")!;
    await rm(join(repositoryPath, "blobs", sha256(shard.content)));
    const error = await resolveModel(repo, await offlineOptions(cache)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toContain(
      `Hugging Face cache ${repositoryPath} (from HF_HUB_CACHE): refs/main → ${llamaCommit}: the snapshot lacks model-00002-of-00002.safetensors (model-00002-of-00002.safetensors: link to a missing blob)`,
    );
  });

  it("explains a ref pointing at a missing snapshot", async () => {
    const cache = await temporaryFolder();
    const repositoryPath = await buildCache(cache, repo, llamaCommit, safetensorsRepositoryFiles());
    await writeFile(join(repositoryPath, "refs", "main"), "c".repeat(40));
    await expect(resolveModel(repo, await offlineOptions(cache))).rejects.toThrow(`refs/main → ${"c".repeat(40)}, but snapshots/${"c".repeat(40)} is missing`);
  });
});

describe("hubSettings", () => {
  it("finds the cache like huggingface_hub does", () => {
    expect(hubSettings({ environment: { HF_HUB_CACHE: "/x/hub" } })).toMatchObject({ cacheDirectory: "/x/hub", cacheDirectorySource: "HF_HUB_CACHE" });
    expect(hubSettings({ environment: { HF_HOME: "/y" } })).toMatchObject({ cacheDirectory: "/y/hub", cacheDirectorySource: "$HF_HOME/hub" });
    expect(hubSettings({ environment: { HOME: "/home/u" } }).cacheDirectory).toBe("/home/u/.cache/huggingface/hub");
    expect(hubSettings({ environment: { HOME: "/home/u", XDG_CACHE_HOME: "/c" } }).cacheDirectory).toBe("/c/huggingface/hub");
    expect(hubSettings({ environment: { HF_HUB_CACHE: "~/hub", HOME: "/home/u" } }).cacheDirectory).toBe("/home/u/hub");
  });

  it("reads the endpoint, token, offline mode and timeout", () => {
    const settings = hubSettings({ environment: { HF_ENDPOINT: "https://hf-mirror.com/", HF_TOKEN: "hf_x", HF_HUB_OFFLINE: "1", HF_HUB_DOWNLOAD_TIMEOUT: "12" } });
    expect(settings).toMatchObject({ endpoint: "https://hf-mirror.com", token: "hf_x", offline: true, stallTimeoutMs: 12_000 });
    expect(hubSettings({ environment: {} })).toMatchObject({ endpoint: "https://huggingface.co", token: undefined, offline: false, stallTimeoutMs: 30_000 });
  });
});
