// Tests for downloading from a local fake hub into the cache: the cache layout written (blobs by SHA-256, relative
// snapshot links, refs/main), redirects to a CDN without the token, reuse of cached files, gated repositories, 404s,
// resuming after a dropped connection, stalls, and aborting.

import { lstat, readFile, readlink, readdir, stat, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  DownloadError,
  downloadFile,
  GatedRepositoryError,
  RepositoryFileNotFoundError,
  RepositoryNotFoundError,
  resolveModel,
  type DownloadProgress,
} from "../src/index.ts";
import { sha256, startFakeHub, type FakeFile, type FakeHub, type FakeHubOptions } from "./fake-hub.ts";
import { ggufCommit, ggufRepositoryFiles, llamaCommit, safetensorsRepositoryFiles, temporaryFolder } from "./model-fixtures.ts";

const repo = "meta-llama/Llama-3.2-3B-Instruct";
const ggufRepo = "bartowski/Llama-3.2-3B-Instruct-GGUF";
const ggufFile = "Llama-3.2-3B-Instruct-Q4_K_M.gguf";

let hubs: FakeHub[] = [];
afterEach(async () => {
  await Promise.all(hubs.map((hub) => hub.close()));
  hubs = [];
});

async function start(options: Partial<FakeHubOptions> & { llamaFiles?: FakeFile[]; ggufFiles?: FakeFile[]; token?: string } = {}) {
  const llamaFiles = options.llamaFiles ?? safetensorsRepositoryFiles();
  const ggufFiles = options.ggufFiles ?? ggufRepositoryFiles();
  const hub = await startFakeHub({
    repositories: [
      { id: repo, commit: llamaCommit, files: llamaFiles, requiredToken: options.token },
      { id: ggufRepo, commit: ggufCommit, files: ggufFiles },
    ],
    ...options,
  });
  hubs.push(hub);
  const cache = await temporaryFolder();
  const environment = { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache };
  return { hub, cache, environment, llamaFiles, ggufFiles };
}

function content(files: FakeFile[], name: string): Buffer {
  return files.find((file) => file.name === name)!.content;
}

describe("downloading a safetensors model", () => {
  it("fetches the needed files through CDN redirects into the cache layout, then serves them from the cache", async () => {
    const { hub, cache, environment, llamaFiles } = await start();
    const progress: DownloadProgress[] = [];
    const model = await resolveModel(repo, { environment, progress: (event) => progress.push(event) });

    const repositoryPath = join(cache, "models--meta-llama--Llama-3.2-3B-Instruct");
    const snapshot = join(repositoryPath, "snapshots", llamaCommit);
    expect(model).toMatchObject({ format: "safetensors", source: "download", path: snapshot, repo, revision: "main", commit: llamaCommit });
    expect(model.weightFiles).toEqual([join(snapshot, "model-00001-of-00002.safetensors"), join(snapshot, "model-00002-of-00002.safetensors")]);
    expect(await readFile(join(repositoryPath, "refs", "main"), "utf8")).toBe(llamaCommit);

    // Only the model's files, no README or original/ weights.
    expect((await readdir(snapshot)).sort()).toEqual([
      "config.json",
      "generation_config.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    // LFS blobs are named by SHA-256, snapshot entries are relative links, the contents are right.
    const shard = content(llamaFiles, "model-00001-of-00002.safetensors");
    const link = join(snapshot, "model-00001-of-00002.safetensors");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe(join("..", "..", "blobs", sha256(shard)));
    expect((await readFile(link)).equals(shard)).toBe(true);
    expect((await readdir(join(repositoryPath, "blobs"))).some((name) => name.endsWith(".incomplete"))).toBe(false);

    // The token-free CDN got no Authorization; the hub got HEAD then GET for each file.
    expect(hub.requests.filter((request) => request.server === "cdn").length).toBe(2);
    expect(hub.requests.filter((request) => request.method === "HEAD").length).toBe(7);
    expect(progress.filter((event) => event.done).map((event) => event.file)).toContain("model-00002-of-00002.safetensors");

    // A second resolve is answered from the cache without a request.
    const before = hub.requests.length;
    const again = await resolveModel(repo, { environment, progress: false });
    expect(again).toMatchObject({ source: "cache", path: snapshot });
    expect(hub.requests.length).toBe(before);
  });

  it("sends HF_TOKEN to the hub but not to the CDN, and explains a gated repository without it", async () => {
    const { hub, environment } = await start({ token: "hf_secret" });
    const error = await resolveModel(repo, { environment, progress: false }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatedRepositoryError);
    const message = (error as Error).message;
    expect(message).toContain(`${repo} is a gated or private repository: the hub refused access (HTTP 401) because no token was given.`);
    expect(message).toContain(`accept the license at ${hub.endpoint}/${repo}`);
    expect(message).toContain("export HF_TOKEN=hf_...");
    expect(message).not.toMatch(/\n\s+at /);

    const wrong = await resolveModel(repo, { environment: { ...environment, HF_TOKEN: "hf_wrong" }, progress: false }).catch((caught: unknown) => caught);
    expect(wrong).toBeInstanceOf(GatedRepositoryError);
    expect((wrong as Error).message).toContain("refused the token in HF_TOKEN (HTTP 403)");

    hub.requests.length = 0;
    const model = await resolveModel(repo, { environment: { ...environment, HF_TOKEN: "hf_secret" }, progress: false });
    expect(model.source).toBe("download");
    expect(hub.requests.filter((request) => request.server === "hub").every((request) => request.authorization === "Bearer hf_secret")).toBe(true);
    expect(hub.requests.filter((request) => request.server === "cdn").every((request) => request.authorization === undefined)).toBe(true);
  });

  it("names the repository or file on 404", async () => {
    const { environment } = await start({ llamaFiles: safetensorsRepositoryFiles().filter((file) => file.name !== "model-00002-of-00002.safetensors") });
    const missingRepository = await resolveModel("nobody/nothing", { environment, progress: false }).catch((caught: unknown) => caught);
    expect(missingRepository).toBeInstanceOf(RepositoryNotFoundError);
    expect((missingRepository as Error).message).toMatch(/^Repository nobody\/nothing was not found at http:\/\/127\.0\.0\.1:\d+ \(HTTP 404\)\./);

    const missingShard = await resolveModel(repo, { environment, progress: false }).catch((caught: unknown) => caught);
    expect(missingShard).toBeInstanceOf(RepositoryFileNotFoundError);
    expect((missingShard as Error).message).toContain("lacks model-00002-of-00002.safetensors");

    const missingFile = await downloadFile(repo, "nope.json", { environment, progress: false }).catch((caught: unknown) => caught);
    expect(missingFile).toBeInstanceOf(RepositoryFileNotFoundError);
    expect((missingFile as Error).message).toContain(`${repo} has no file nope.json at revision main (HTTP 404).`);

    const missingRevision = await resolveModel(`${repo}@v9`, { environment, progress: false }).catch((caught: unknown) => caught);
    expect(missingRevision).toBeInstanceOf(RepositoryNotFoundError);
    expect((missingRevision as Error).message).toContain(`Repository ${repo} has no revision v9 at`);
  });
});

describe("downloading GGUF files", () => {
  it("picks a quantization by tag and lists the choices when the pattern is ambiguous", async () => {
    const { environment, ggufFiles, cache } = await start();
    const ambiguous = await resolveModel(ggufRepo, { environment, progress: false }).catch((caught: unknown) => caught);
    expect(ambiguous).toBeInstanceOf(RepositoryFileNotFoundError);
    expect((ambiguous as RepositoryFileNotFoundError).candidates).toEqual([
      "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
      "Llama-3.2-3B-Instruct-Q8_0.gguf",
      "Q6_K/Llama-3.2-3B-Instruct-Q6_K-00001-of-00002.gguf",
    ]);

    const model = await resolveModel(`${ggufRepo}:Q4_K_M`, { environment, progress: false });
    expect(model).toMatchObject({ format: "gguf", source: "download", commit: ggufCommit });
    expect((await readFile(model.path)).equals(content(ggufFiles, ggufFile))).toBe(true);
    expect(model.path).toBe(join(cache, "models--bartowski--Llama-3.2-3B-Instruct-GGUF", "snapshots", ggufCommit, ggufFile));
    // Once one quantization is cached, the repository id alone resolves to it.
    expect(await resolveModel(ggufRepo, { environment, progress: false })).toMatchObject({ source: "cache", path: model.path });
    expect((ambiguous as Error).message).toContain(`${ggufRepo}:<file name, glob or quantization tag such as Q4_K_M>`);
  });

  it("downloads every part of a split GGUF into snapshot subfolders", async () => {
    const { environment } = await start();
    const model = await resolveModel({ repo: ggufRepo, file: "Q6_K" }, { environment, progress: false });
    expect(model.weightFiles.map((file) => file.split("/").slice(-2).join("/"))).toEqual([
      "Q6_K/Llama-3.2-3B-Instruct-Q6_K-00001-of-00002.gguf",
      "Q6_K/Llama-3.2-3B-Instruct-Q6_K-00002-of-00002.gguf",
    ]);
  });

  it("downloadFile fetches one file, and reuses a blob already in the cache", async () => {
    const { hub, environment, ggufFiles } = await start();
    const path = await downloadFile(ggufRepo, "Llama-3.2-3B-Instruct-Q8_0.gguf", { environment, progress: false });
    expect((await readFile(path)).equals(content(ggufFiles, "Llama-3.2-3B-Instruct-Q8_0.gguf"))).toBe(true);
    const requests = hub.requests.length;
    expect(await downloadFile(ggufRepo, "Llama-3.2-3B-Instruct-Q8_0.gguf", { environment, progress: false })).toBe(path);
    expect(hub.requests.length).toBe(requests);
  });
});

describe("resuming, stalls and aborts", () => {
  it("keeps the partial file when the connection drops, and resumes it with a Range request on the next run", async () => {
    const { hub, cache, environment, ggufFiles } = await start({ faults: { [ggufFile]: { dropAfter: 150_000, times: 1 } } });
    const failure = await resolveModel(`${ggufRepo}:${ggufFile}`, { environment, progress: false, retries: 0 }).catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(DownloadError);
    const partial = join(cache, "models--bartowski--Llama-3.2-3B-Instruct-GGUF", "blobs", `${sha256(content(ggufFiles, ggufFile))}.incomplete`);
    expect((failure as DownloadError).partialFile).toBe(partial);
    expect((failure as Error).message).toMatch(/kept in .*\.incomplete; run again to resume\./);
    // Everything written before the drop is kept (bytes still buffered in the socket when it closed may be lost).
    const kept = (await stat(partial)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(150_000);

    const progress: DownloadProgress[] = [];
    const model = await resolveModel(`${ggufRepo}:${ggufFile}`, { environment, progress: (event) => progress.push(event), retries: 0 });
    expect((await readFile(model.path)).equals(content(ggufFiles, ggufFile))).toBe(true);
    expect(hub.requests.filter((request) => request.server === "cdn").map((request) => request.range)).toEqual([undefined, `bytes=${kept}-`]);
    expect(progress[0]).toMatchObject({ receivedBytes: kept, resumedFromBytes: kept, totalBytes: 400_000 });
  });

  it("retries a dropped connection within one call, resuming where it stopped", async () => {
    const { hub, environment, ggufFiles } = await start({ faults: { [ggufFile]: { dropAfter: 100_000, times: 2 } } });
    const model = await resolveModel(`${ggufRepo}:${ggufFile}`, { environment, progress: false, retries: 3, retryDelayMs: 1 });
    expect((await readFile(model.path)).equals(content(ggufFiles, ggufFile))).toBe(true);
    const ranges = hub.requests.filter((request) => request.server === "cdn").map((request) => request.range);
    expect(ranges).toHaveLength(3);
    expect(ranges[0]).toBeUndefined();
    const offsets = ranges.slice(1).map((range) => Number(/^bytes=(\d+)-$/.exec(range ?? "")?.[1]));
    expect(offsets[0]).toBeGreaterThan(0);
    expect(offsets[1]).toBeGreaterThanOrEqual(offsets[0]);
    expect(offsets[1]).toBeLessThanOrEqual(100_000);
  });

  it("starts over when the server ignores Range", async () => {
    const { environment, ggufFiles } = await start({ ignoreRange: true, faults: { [ggufFile]: { dropAfter: 100_000, times: 1 } } });
    const model = await resolveModel(`${ggufRepo}:${ggufFile}`, { environment, progress: false, retries: 1, retryDelayMs: 1 });
    expect((await readFile(model.path)).equals(content(ggufFiles, ggufFile))).toBe(true);
  });

  it("starts over when the partial file is corrupt (SHA-256 mismatch)", async () => {
    const { cache, environment, ggufFiles } = await start();
    const blobs = join(cache, "models--bartowski--Llama-3.2-3B-Instruct-GGUF", "blobs");
    await mkdir(blobs, { recursive: true });
    await writeFile(join(blobs, `${sha256(content(ggufFiles, ggufFile))}.incomplete`), Buffer.alloc(1000, 7));
    const model = await resolveModel(`${ggufRepo}:${ggufFile}`, { environment, progress: false, retries: 1, retryDelayMs: 1 });
    expect((await readFile(model.path)).equals(content(ggufFiles, ggufFile))).toBe(true);
  });

  it("finishes a partial file that is already complete without downloading again", async () => {
    const { hub, cache, environment, ggufFiles } = await start();
    const blobs = join(cache, "models--bartowski--Llama-3.2-3B-Instruct-GGUF", "blobs");
    await mkdir(blobs, { recursive: true });
    await writeFile(join(blobs, `${sha256(content(ggufFiles, ggufFile))}.incomplete`), content(ggufFiles, ggufFile));
    const model = await resolveModel(`${ggufRepo}:${ggufFile}`, { environment, progress: false });
    expect((await readFile(model.path)).equals(content(ggufFiles, ggufFile))).toBe(true);
    expect(hub.requests.filter((request) => request.server === "cdn")).toEqual([]);
  });

  it("times out a stalled connection with a clear error", async () => {
    const { environment } = await start({ faults: { [ggufFile]: { stallAfter: 50_000 } } });
    const started = Date.now();
    const error = await resolveModel(`${ggufRepo}:${ggufFile}`, { environment, progress: false, retries: 1, retryDelayMs: 1, stallTimeoutMs: 200 }).catch(
      (caught: unknown) => caught,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(
      new RegExp(`^Download of ${ggufFile} from http://127\\.0\\.0\\.1:\\d+/${ggufRepo}/resolve/${ggufCommit}/${ggufFile} failed after 2 attempts: stalled \\(no data for 0\\.2 s while receiving data from 127\\.0\\.0\\.1:\\d+\\)\\. The 50\\.0 kB received so far are kept in `),
    );
  });

  it("stops on abort, keeping the partial file", async () => {
    const { cache, environment, ggufFiles } = await start({ chunkDelayMs: 20 });
    const controller = new AbortController();
    const promise = resolveModel(`${ggufRepo}:${ggufFile}`, {
      environment,
      signal: controller.signal,
      progress: (event) => {
        if (event.receivedBytes > 40_000) controller.abort();
      },
    });
    const error = await promise.catch((caught: unknown) => caught);
    expect((error as Error).name).toBe("AbortError");
    const partial = join(cache, "models--bartowski--Llama-3.2-3B-Instruct-GGUF", "blobs", `${sha256(content(ggufFiles, ggufFile))}.incomplete`);
    expect((await stat(partial)).size).toBeGreaterThan(0);

    const aborted = new AbortController();
    aborted.abort(new Error("user pressed ctrl-c"));
    await expect(resolveModel(`${ggufRepo}:Q8_0`, { environment, signal: aborted.signal, progress: false })).rejects.toThrow("user pressed ctrl-c");
  });
});
