// downloadRepositoryFile and downloadModel against a scripted hub, for what the fake hub does not vary: a file without
// an ETag (its blob named by its SHA-256 once downloaded), a SHA-256 ETag checked (or not, when checksums are off), a
// git ETag not taken for a checksum, a cached blob reused only at the right size, a snapshot file that needs no
// request at all, which commit names the snapshot and the URL, and a listing that lacks a planned file or shard.
import { createHash } from "node:crypto";
import { mkdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { DownloadError } from "../src/errors.ts";
import { blobPath, repositoryCachePath, snapshotFilePath } from "../src/hub-cache-layout.ts";
import { FileSelectionFailure, downloadModel, downloadRepositoryFile, type HubDownloadOptions } from "../src/hub-download.ts";
import { hubSettings } from "../src/hub-settings.ts";
import { silentProgress } from "../src/progress-printer.ts";
import { temporaryFolder } from "./model-fixtures.ts";
import { scriptedServer, type Handler } from "./scripted-server.ts";

const content = Buffer.from("tokenizer data");
const sha = createHash("sha256").update(content).digest("hex");
const commit = "c".repeat(40);

const hub = scriptedServer();

/** Answers HEAD with `headers` and GET with the content. */
function serving(headers: Record<string, string>, body: Buffer = content): Handler {
  return (request, response) => {
    response.writeHead(200, { "Content-Length": String(body.length), ...headers });
    response.end(request.method === "HEAD" ? undefined : body);
  };
}

async function options(overrides: Partial<HubDownloadOptions> = {}): Promise<HubDownloadOptions> {
  return { settings: hubSettings({ endpoint: hub.url, cacheDirectory: await temporaryFolder(), environment: {}, stallTimeoutMs: 5000 }), onProgress: silentProgress, retries: 0, retryDelayMs: 1, verifyChecksums: true, ...overrides };
}

describe("downloadRepositoryFile", () => {
  it("without an ETag: downloads, names the blob by its SHA-256, links the snapshot under the hub's commit", async () => {
    hub.handler = serving({ "X-Repo-Commit": commit });
    hub.requests.length = 0;
    const context = await options();
    const result = await downloadRepositoryFile("o/n", "main", undefined, "tok/tokenizer.bin", context);
    const repository = repositoryCachePath(context.settings.cacheDirectory, "o/n");
    expect(result).toEqual({ path: snapshotFilePath(repository, commit, "tok/tokenizer.bin"), commit });
    expect(await readlink(result.path)).toBe(`../../../blobs/${sha}`);
    expect(await readFile(blobPath(repository, sha))).toEqual(content);
    expect(hub.lines()).toEqual(["HEAD /o/n/resolve/main/tok/tokenizer.bin", "GET /o/n/resolve/main/tok/tokenizer.bin"]);
  });

  it("without a commit header the snapshot is named by the revision; a known commit pins the URL", async () => {
    hub.handler = serving({ ETag: '"abc"' });
    const context = await options();
    expect((await downloadRepositoryFile("o/n", "v1", undefined, "f.txt", context)).commit).toBe("v1");
    hub.requests.length = 0;
    expect((await downloadRepositoryFile("o/n", "main", commit, "g.txt", context)).commit).toBe(commit);
    expect(hub.lines()).toEqual([`HEAD /o/n/resolve/${commit}/g.txt`]); // blob "abc" is cached already: no GET
  });

  it("checks a SHA-256 ETag (unless checksums are off) but not a git one", async () => {
    const wrong = Buffer.from("tampered data!"); // same length as the content
    hub.handler = serving({ ETag: `"${sha}"`, "X-Repo-Commit": commit }, wrong);
    const checked = await downloadRepositoryFile("o/n", "main", undefined, "f.bin", await options()).catch((caught: unknown) => caught);
    expect(checked).toBeInstanceOf(DownloadError);
    expect((checked as Error).message).toContain(`the SHA-256 of the 14 B received is ${createHash("sha256").update(wrong).digest("hex")}, not ${sha}; starting over`);
    const unchecked = await downloadRepositoryFile("o/n", "main", undefined, "f.bin", await options({ verifyChecksums: false }));
    expect(await readFile(unchecked.path)).toEqual(wrong);
    hub.handler = serving({ ETag: `"${"1".repeat(40)}"`, "X-Repo-Commit": commit }, wrong);
    expect(await readFile((await downloadRepositoryFile("o/n", "main", undefined, "g.bin", await options())).path)).toEqual(wrong);
  });

  it("reuses a cached blob of the listed size, downloads again over one of another size, and skips a file the snapshot has", async () => {
    hub.handler = serving({ ETag: `"${sha}"`, "X-Repo-Commit": commit });
    const context = await options();
    const repository = repositoryCachePath(context.settings.cacheDirectory, "o/n");
    await mkdir(join(repository, "blobs"), { recursive: true });
    await writeFile(blobPath(repository, sha), content);
    hub.requests.length = 0;
    await downloadRepositoryFile("o/n", "main", undefined, "a.bin", context);
    expect(hub.lines()).toEqual(["HEAD /o/n/resolve/main/a.bin"]);

    await writeFile(blobPath(repository, sha), "short");
    hub.requests.length = 0;
    const again = await downloadRepositoryFile("o/n", "main", undefined, "b.bin", context);
    expect(hub.lines()).toEqual(["HEAD /o/n/resolve/main/b.bin", "GET /o/n/resolve/main/b.bin"]);
    expect(await readFile(again.path)).toEqual(content);

    hub.requests.length = 0;
    expect(await downloadRepositoryFile("o/n", "main", commit, "b.bin", context)).toEqual(again);
    expect(hub.lines()).toEqual([]);
  });
});

describe("downloadModel", () => {
  const listing = (files: string[]): Handler => (request, response) => {
    if (request.url!.startsWith("/api/models/")) {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ sha: commit, siblings: files.map((rfilename) => ({ rfilename })) }));
    } else if (request.url!.endsWith("model.safetensors.index.json")) {
      const body = Buffer.from(JSON.stringify({ weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" } }));
      response.writeHead(200, { "Content-Length": String(body.length), "X-Repo-Commit": commit });
      response.end(request.method === "HEAD" ? undefined : body);
    } else serving({ "X-Repo-Commit": commit })(request, response);
  };
  const query = { repo: "o/n", revision: "main", pattern: undefined, additionalPatterns: [] };

  it("refuses a repository whose listing lacks a planned file, or a shard its index names", async () => {
    hub.handler = listing(["model.safetensors"]);
    await expect(downloadModel(query, await options())).rejects.toThrow(new FileSelectionFailure("lacks config.json", []));
    hub.handler = listing(["config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors"]);
    const error = (await downloadModel(query, await options()).catch((caught: unknown) => caught)) as FileSelectionFailure;
    expect(error).toMatchObject({ name: "FileSelectionFailure", problem: "lacks model-00002-of-00002.safetensors", candidates: [] });
  });

  it("a selection problem becomes a FileSelectionFailure with the candidates", async () => {
    hub.handler = listing(["a-Q4_0.gguf", "a-Q8_0.gguf"]);
    const error = (await downloadModel(query, await options()).catch((caught: unknown) => caught)) as FileSelectionFailure;
    expect(error).toMatchObject({ problem: "holds 2 GGUF models; choose one with a file name, glob or quantization tag", candidates: ["a-Q4_0.gguf", "a-Q8_0.gguf"] });
    const model = await downloadModel({ ...query, pattern: "Q8_0" }, await options());
    expect(model).toMatchObject({ format: "gguf", source: "download", repo: "o/n", revision: "main", commit });
  });
});
