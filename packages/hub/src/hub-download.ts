// Downloading from the hub into the Hugging Face cache layout, like huggingface_hub's hf_hub_download and
// snapshot_download: list the repository, choose the model's files, fetch each one (skipping what the cache already
// holds) into blobs/, link it from snapshots/{commit}/, and point refs/{revision} at the commit once all are there.

import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { plannedFiles, selectModelFiles, shardsFromIndex } from "./file-selection.ts";
import { fetchFileMetadata, fetchRepositoryListing, hubHeaders, resolveUrl, type HubRequestContext } from "./hub-api.ts";
import {
  blobNameFromEtag,
  blobPath,
  incompletePath,
  isCommitHash,
  linkSnapshotFile,
  repositoryCachePath,
  snapshotFilePath,
  snapshotPath,
  writeRef,
} from "./hub-cache-layout.ts";
import { modelFromPlan } from "./model-in-directory.ts";
import type { ProgressListener } from "./progress-printer.ts";
import type { ResolvedModel } from "./resolved-model.ts";
import { downloadResumable } from "./resumable-download.ts";

export interface HubDownloadOptions extends HubRequestContext {
  onProgress: ProgressListener;
  retries: number;
  retryDelayMs: number;
  /** Check SHA-256 when the hub names a blob by it (LFS files). */
  verifyChecksums: boolean;
}

export interface RepositoryQuery {
  repo: string;
  revision: string;
  pattern: string | undefined;
  additionalPatterns: readonly string[];
}

/** The repository does not hold the model asked for. */
export class FileSelectionFailure extends Error {
  override name = "FileSelectionFailure";
  constructor(
    readonly problem: string,
    readonly candidates: readonly string[],
  ) {
    super(problem);
  }
}

/** Downloads the files of the model `query` names (those not already cached) and returns it from the cache snapshot. */
export async function downloadModel(query: RepositoryQuery, options: HubDownloadOptions): Promise<ResolvedModel> {
  const listing = await fetchRepositoryListing(query.repo, query.revision, options);
  const selection = selectModelFiles(listing.files, query.pattern, query.additionalPatterns);
  if ("problem" in selection) throw new FileSelectionFailure(selection.problem, selection.candidates);
  const { plan } = selection;
  const listed = new Set(listing.files);
  const requireListed = (files: readonly string[]) => {
    const missing = files.filter((file) => !listed.has(file));
    if (missing.length > 0) throw new FileSelectionFailure(`lacks ${missing.join(", ")}`, []);
  };
  requireListed(plannedFiles(plan));

  let commit = listing.commit ?? (isCommitHash(query.revision) ? query.revision : undefined);
  const fetch = async (file: string) => {
    const downloaded = await downloadRepositoryFile(query.repo, query.revision, commit, file, options);
    commit ??= downloaded.commit;
    return downloaded.path;
  };
  // Small files first, weights last: a snapshot holding the weights is then a complete one.
  for (const file of [...plan.optional, ...plan.required]) await fetch(file);
  let shards: string[] = [];
  if (plan.shardIndex !== undefined) {
    const indexPath = snapshotFilePath(repositoryCachePath(options.settings.cacheDirectory, query.repo), commit!, plan.shardIndex);
    shards = shardsFromIndex(await readFile(indexPath, "utf8"), plan.shardIndex);
    requireListed(shards);
  }
  for (const file of [...plan.weights, ...shards]) await fetch(file);

  const repositoryPath = repositoryCachePath(options.settings.cacheDirectory, query.repo);
  await writeRef(repositoryPath, query.revision, commit!);
  const located = modelFromPlan(snapshotPath(repositoryPath, commit!), plan, shards);
  return { ...located, source: "download", repo: query.repo, revision: query.revision, commit: commit! };
}

/**
 * Downloads one repository file into the cache unless the snapshot already has it, and returns its snapshot path.
 * `commit` pins the snapshot (and the download URL) when known; otherwise the hub's X-Repo-Commit decides.
 */
export async function downloadRepositoryFile(
  repo: string,
  revision: string,
  commit: string | undefined,
  file: string,
  options: HubDownloadOptions,
): Promise<{ path: string; commit: string }> {
  const repositoryPath = repositoryCachePath(options.settings.cacheDirectory, repo);
  if (commit !== undefined && (await isFile(snapshotFilePath(repositoryPath, commit, file)))) {
    return { path: snapshotFilePath(repositoryPath, commit, file), commit };
  }
  const urlRevision = commit ?? revision;
  const metadata = await fetchFileMetadata(repo, urlRevision, file, options);
  const snapshotCommit = commit ?? metadata.commit ?? revision;
  const url = resolveUrl(options.settings.endpoint, repo, urlRevision, file);
  const blobName = metadata.etag === undefined ? undefined : blobNameFromEtag(metadata.etag);
  let blob: string;
  if (blobName !== undefined && (await isCompleteBlob(blobPath(repositoryPath, blobName), metadata.size))) {
    blob = blobPath(repositoryPath, blobName);
  } else {
    await mkdir(join(repositoryPath, "blobs"), { recursive: true });
    // Without an ETag the blob is named by its SHA-256 once downloaded; the partial file is named by the URL.
    const destination = blobPath(repositoryPath, blobName ?? `download-${createHash("sha256").update(url).digest("hex").slice(0, 32)}`);
    const downloaded = await downloadResumable({
      url,
      headers: hubHeaders(options.settings),
      file,
      destination,
      partialPath: incompletePath(destination),
      expectedSize: metadata.size,
      expectedSha256: options.verifyChecksums && blobName !== undefined && /^[0-9a-f]{64}$/.test(blobName) ? blobName : undefined,
      stallTimeoutMs: options.settings.stallTimeoutMs,
      retries: options.retries,
      retryDelayMs: options.retryDelayMs,
      signal: options.signal,
      onProgress: options.onProgress,
    });
    blob = destination;
    if (blobName === undefined) {
      blob = blobPath(repositoryPath, downloaded.sha256);
      await rename(destination, blob);
    }
  }
  return { path: await linkSnapshotFile(repositoryPath, snapshotCommit, file, blob), commit: snapshotCommit };
}

async function isCompleteBlob(path: string, expectedSize: number | undefined): Promise<boolean> {
  try {
    const info = await stat(path);
    return info.isFile() && (expectedSize === undefined || info.size === expectedSize);
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
