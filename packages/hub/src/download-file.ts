// Fetching a single repository file into the Hugging Face cache (like huggingface_hub's hf_hub_download), for callers
// that need one file beside a model, such as a llama2.c tokenizer. A file already in the cache snapshot is not fetched.

import { stat } from "node:fs/promises";
import { explainHubFailure, offlineFailure, type FailureContext } from "./failure-explanations.ts";
import { isCommitHash, readRef, repositoryCachePath, snapshotFilePath, writeRef } from "./hub-cache-layout.ts";
import { downloadRepositoryFile } from "./hub-download.ts";
import { hubSettings, type HubSettingsOptions } from "./hub-settings.ts";
import { downloadOptions, type DownloadBehaviour } from "./resolve-model.ts";

/** Where and how {@link downloadFile} fetches: hub settings, download behaviour, and the revision. */
export interface DownloadFileOptions extends HubSettingsOptions, DownloadBehaviour {
  /** Branch, tag, ref or commit; default `main`. */
  revision?: string;
}

/** Returns the path of `file` of `repo` in the cache snapshot, downloading it first when it is not there. */
export async function downloadFile(repo: string, file: string, options: DownloadFileOptions = {}): Promise<string> {
  const settings = hubSettings(options);
  const revision = options.revision ?? "main";
  const repositoryPath = repositoryCachePath(settings.cacheDirectory, repo);
  const commit = isCommitHash(revision) ? revision : await readRef(repositoryPath, revision);
  const cachedPath = commit === undefined ? undefined : snapshotFilePath(repositoryPath, commit, file);
  if (cachedPath !== undefined && (await isFile(cachedPath))) return cachedPath;

  const context: FailureContext = {
    specifier: `${repo}:${file}`,
    repo,
    revision,
    file,
    settings,
    searched: [{ place: `Hugging Face cache ${cachedPath ?? repositoryPath}`, outcome: "not present" }],
  };
  if (settings.offline) throw offlineFailure(context);
  try {
    const downloaded = await downloadRepositoryFile(repo, revision, undefined, file, downloadOptions(settings, options));
    await writeRef(repositoryPath, revision, downloaded.commit);
    return downloaded.path;
  } catch (error) {
    throw explainHubFailure(error, context);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
