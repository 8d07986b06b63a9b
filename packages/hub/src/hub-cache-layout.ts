// The Hugging Face cache layout shared with the Python tooling:
//   {cache}/models--{org}--{name}/refs/{revision}            the commit hash the revision points to
//   {cache}/models--{org}--{name}/blobs/{etag}               file contents, named by the hub's ETag (sha256 for LFS files)
//   {cache}/models--{org}--{name}/blobs/{etag}.incomplete    a download in progress
//   {cache}/models--{org}--{name}/snapshots/{commit}/{file}  relative symbolic links to the blobs (copies where links fail)

import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";

/** The cache folder of `repo` (`org/name`): `{cacheDirectory}/models--{org}--{name}`, as huggingface_hub names it. */
export function repositoryCachePath(cacheDirectory: string, repo: string): string {
  return join(cacheDirectory, `models--${repo.split("/").join("--")}`);
}

export function blobPath(repositoryPath: string, blobName: string): string {
  return join(repositoryPath, "blobs", blobName);
}

export function incompletePath(blob: string): string {
  return `${blob}.incomplete`;
}

export function snapshotPath(repositoryPath: string, commit: string): string {
  return join(repositoryPath, "snapshots", commit);
}

export function snapshotFilePath(repositoryPath: string, commit: string, file: string): string {
  return join(snapshotPath(repositoryPath, commit), ...file.split("/"));
}

export function refPath(repositoryPath: string, revision: string): string {
  return join(repositoryPath, "refs", ...revision.split("/"));
}

export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** An ETag header as a blob name: without the weak prefix and quotes. */
export function blobNameFromEtag(etag: string): string {
  return etag.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
}

export async function readRef(repositoryPath: string, revision: string): Promise<string | undefined> {
  try {
    const commit = (await readFile(refPath(repositoryPath, revision), "utf8")).trim();
    return commit === "" ? undefined : commit;
  } catch {
    return undefined;
  }
}

export async function writeRef(repositoryPath: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const path = refPath(repositoryPath, revision);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, commit);
  await rename(temporary, path);
}

/** Points `snapshots/{commit}/{file}` at the blob with a relative link, or copies the blob where links are not allowed. */
export async function linkSnapshotFile(repositoryPath: string, commit: string, file: string, blob: string): Promise<string> {
  const destination = snapshotFilePath(repositoryPath, commit, file);
  await mkdir(dirname(destination), { recursive: true });
  await rm(destination, { force: true });
  try {
    await symlink(relative(dirname(destination), blob), destination);
  } catch {
    await copyFile(blob, destination);
  }
  return destination;
}
