// Named revisions in the Hugging Face cache: `org/name@v1` (or the revision option) follows refs/v1, never refs/main,
// in a cache where the two refs point at different snapshots; pull-request refs (refs/pr/3) work; a revision with no ref is
// reported as such rather than answered with main's snapshot. Same for downloadFile.

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { downloadFile, ModelNotFoundError, resolveModel } from "../src/index.ts";
import { closedPortEndpoint } from "./fake-hub.ts";
import { buildCache, safetensorsRepositoryFiles, temporaryFolder, text } from "./model-fixtures.ts";

const repo = "meta-llama/Llama-3.2-3B-Instruct";
const mainCommit = "1".repeat(40);
const v1Commit = "2".repeat(40);
const pullRequestCommit = "3".repeat(40);

/** A cache whose refs/main, refs/v1 and refs/refs/pr/3 point at three complete snapshots with different config.json. */
async function cacheWithRevisions(): Promise<{ cache: string; repositoryPath: string }> {
  const cache = await temporaryFolder();
  const withConfig = (tag: string) => safetensorsRepositoryFiles().map((file) => (file.name === "config.json" ? { ...file, content: text(`{"tag": "${tag}"}`) } : file));
  const repositoryPath = await buildCache(cache, repo, mainCommit, withConfig("main"));
  await buildCache(cache, repo, v1Commit, withConfig("v1"), { ref: false });
  await buildCache(cache, repo, pullRequestCommit, withConfig("pr3"), { ref: false });
  await writeFile(join(repositoryPath, "refs", "v1"), v1Commit);
  // huggingface_hub stores the ref of revision "refs/pr/3" at refs/refs/pr/3.
  await mkdir(join(repositoryPath, "refs", "refs", "pr"), { recursive: true });
  await writeFile(join(repositoryPath, "refs", "refs", "pr", "3"), `${pullRequestCommit}\n`);
  return { cache, repositoryPath };
}

async function offline(cache: string) {
  return { environment: { HF_HUB_CACHE: cache, HF_ENDPOINT: await closedPortEndpoint() }, progress: false as const, retries: 0 };
}

describe("named revisions in the cache", () => {
  it("resolves each revision through its own ref", async () => {
    const { cache, repositoryPath } = await cacheWithRevisions();
    const options = await offline(cache);
    expect(await resolveModel(repo, options)).toMatchObject({ revision: "main", commit: mainCommit, path: join(repositoryPath, "snapshots", mainCommit) });
    expect(await resolveModel(`${repo}@v1`, options)).toMatchObject({ source: "cache", revision: "v1", commit: v1Commit, path: join(repositoryPath, "snapshots", v1Commit) });
    expect(await resolveModel(repo, { ...options, revision: "v1" })).toMatchObject({ revision: "v1", commit: v1Commit });
    expect(await resolveModel(`${repo}@refs/pr/3`, options)).toMatchObject({ revision: "refs/pr/3", commit: pullRequestCommit });
    // The specifier's revision wins over the option.
    expect((await resolveModel(`${repo}@main`, { ...options, revision: "v1" })).commit).toBe(mainCommit);
  });

  it("downloadFile reads the revision's snapshot", async () => {
    const { cache, repositoryPath } = await cacheWithRevisions();
    const options = await offline(cache);
    expect(await downloadFile(repo, "config.json", { ...options, revision: "v1" })).toBe(join(repositoryPath, "snapshots", v1Commit, "config.json"));
    expect(await downloadFile(repo, "config.json", options)).toBe(join(repositoryPath, "snapshots", mainCommit, "config.json"));
  });

  it("a revision without a ref is not answered with main's snapshot", async () => {
    const { cache, repositoryPath } = await cacheWithRevisions();
    const options = { ...(await offline(cache)), environment: { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1" } };
    const error = await resolveModel(`${repo}@v2`, options).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toContain(`Hugging Face cache ${repositoryPath} (from HF_HUB_CACHE): has no refs/v2`);
    await expect(downloadFile(repo, "config.json", { ...options, revision: "v2" })).rejects.toThrow(ModelNotFoundError);
  });
});
