// Looking a repository's model up in the local Hugging Face cache without touching the network: follow
// refs/{revision} to a snapshot (or take the revision as a commit), then find a complete model among the snapshot's
// files, following their links into blobs/.

import { readdir, stat } from "node:fs/promises";
import { isCommitHash, readRef, repositoryCachePath, snapshotPath } from "./hub-cache-layout.ts";
import { findModelInDirectory } from "./model-in-directory.ts";
import type { ResolvedModel } from "./resolved-model.ts";

export interface CacheQuery {
  cacheDirectory: string;
  repo: string;
  revision: string;
  pattern: string | undefined;
  additionalPatterns: readonly string[];
}

export type CacheSearch = { model: ResolvedModel } | { place: string; outcome: string };

export async function findCachedModel(query: CacheQuery): Promise<CacheSearch> {
  const repositoryPath = repositoryCachePath(query.cacheDirectory, query.repo);
  if (!(await isDirectory(repositoryPath))) return { place: repositoryPath, outcome: "not present" };
  const commit = isCommitHash(query.revision) ? query.revision : await readRef(repositoryPath, query.revision);
  if (commit !== undefined) return searchSnapshot(query, repositoryPath, commit, `refs/${query.revision} → ${commit}`);
  if (query.revision !== "main") return { place: repositoryPath, outcome: `has no refs/${query.revision}` };
  // No ref (a cache copied by hand, or written by a tool that skipped refs): accept a complete snapshot, newest first.
  const snapshots = await snapshotsNewestFirst(repositoryPath);
  const problems: string[] = [];
  for (const snapshot of snapshots) {
    const search = await searchSnapshot(query, repositoryPath, snapshot, `snapshot ${snapshot}`);
    if ("model" in search) return search;
    problems.push(search.outcome);
  }
  const detail = snapshots.length === 0 ? " and no snapshots" : `; ${problems.join("; ")}`;
  return { place: repositoryPath, outcome: `has no refs/main${detail}` };
}

async function searchSnapshot(query: CacheQuery, repositoryPath: string, commit: string, label: string): Promise<CacheSearch> {
  const directory = snapshotPath(repositoryPath, commit);
  if (!(await isDirectory(directory))) return { place: repositoryPath, outcome: `${label}, but snapshots/${commit} is missing` };
  const search = await findModelInDirectory(directory, query.pattern, query.additionalPatterns, { maxDepth: 8, skipHiddenFolders: false });
  if ("problem" in search) return { place: repositoryPath, outcome: `${label}: the snapshot ${search.problem}` };
  return { model: { ...search.model, source: "cache", repo: query.repo, revision: query.revision, commit } };
}

async function snapshotsNewestFirst(repositoryPath: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(snapshotPath(repositoryPath, ""));
  } catch {
    return [];
  }
  const dated = await Promise.all(names.map(async (name) => ({ name, time: (await stat(snapshotPath(repositoryPath, name))).mtimeMs })));
  return dated.sort((a, b) => b.time - a.time).map((entry) => entry.name);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
