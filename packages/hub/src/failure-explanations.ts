// Turning what went wrong while looking for a model into a message a person can act on: every place searched, the
// hub's answer or the network error, and the ways to get the weights (download elsewhere with huggingface-cli, a
// token and license for gated repositories, a mirror through HF_ENDPOINT).

import { basename } from "node:path";
import {
  GatedRepositoryError,
  ModelNotFoundError,
  RepositoryFileNotFoundError,
  RepositoryNotFoundError,
  type SearchedPlace,
} from "./errors.ts";
import { hasGlobCharacters } from "./file-pattern.ts";
import { HubStatusError, listingUrl } from "./hub-api.ts";
import type { HubSettings } from "./hub-settings.ts";
import { HttpFailure } from "./http-client.ts";
import { FileSelectionFailure } from "./hub-download.ts";

export interface FailureContext {
  /** The model as the user wrote it. */
  specifier: string;
  repo: string;
  revision: string;
  file: string | undefined;
  settings: HubSettings;
  /** Places searched before the hub (path, cache). */
  searched: readonly SearchedPlace[];
}

/** A `ModelNotFoundError` (or subclass) for hub answers and network failures; other errors are returned unchanged. */
export function explainHubFailure(error: unknown, context: FailureContext): unknown {
  const { repo, settings } = context;
  const hubPage = `${settings.endpoint}/${repo}`;
  if (error instanceof HubStatusError) {
    // The place names the URL; the outcome is the status and the hub's explanation ("HTTP 401: Access restricted").
    const outcome = `HTTP ${error.status}${error.serverMessage === undefined ? "" : `: ${error.serverMessage}`}`;
    const searched = [...context.searched, { place: `hub ${error.url}`, outcome }];
    const isFileUrl = error.url.includes("/resolve/");
    const authStatus = error.status === 401 || error.status === 403;
    if (error.errorCode === "GatedRepo" || (authStatus && error.errorCode !== "RepoNotFound" && error.errorCode !== "EntryNotFound")) {
      const summary =
        settings.token === undefined
          ? `${repo} is a gated or private repository: the hub refused access (HTTP ${error.status}) because no token was given.`
          : `${repo} is a gated or private repository: the hub refused the token in HF_TOKEN (HTTP ${error.status}).`;
      return new GatedRepositoryError({
        specifier: context.specifier,
        summary,
        searched,
        hints: [
          `accept the license at ${hubPage} while logged in (gated repositories such as meta-llama/* need this once per account)`,
          settings.token === undefined
            ? `create a read token at ${settings.endpoint}/settings/tokens and set it: export HF_TOKEN=hf_...`
            : "check that HF_TOKEN belongs to the account that accepted the license and has read access",
          ...downloadElsewhereHints(context),
        ],
        repo,
        status: error.status,
        cause: error,
      });
    }
    if (isFileUrl && (error.status === 404 || error.errorCode === "EntryNotFound")) {
      const file = decodeURIComponent(error.url.slice(error.url.indexOf("/resolve/") + "/resolve/".length).split("/").slice(1).join("/"));
      return new RepositoryFileNotFoundError({
        specifier: context.specifier,
        summary: `${repo} has no file ${file} at revision ${context.revision} (HTTP ${error.status}).`,
        searched,
        hints: [`see the repository's files at ${hubPage}/tree/${context.revision}`],
        repo,
        file,
        candidates: [],
        cause: error,
      });
    }
    if (error.status === 404 || error.status === 401 || error.errorCode === "RepoNotFound" || error.errorCode === "RevisionNotFound") {
      const what = error.errorCode === "RevisionNotFound" ? `has no revision ${context.revision}` : "was not found";
      return new RepositoryNotFoundError({
        specifier: context.specifier,
        summary: `Repository ${repo} ${what} at ${settings.endpoint} (HTTP ${error.status}).`,
        searched,
        hints: [
          `check the spelling (organization/name, case-sensitive) at ${hubPage}`,
          settings.token === undefined ? "if the repository is private, set HF_TOKEN to a token with access to it" : "check that HF_TOKEN has access to it",
        ],
        repo,
        revision: context.revision,
        cause: error,
      });
    }
    return new ModelNotFoundError({
      specifier: context.specifier,
      summary: `${context.specifier} is not in the local cache and the hub answered HTTP ${error.status}.`,
      searched,
      hints: downloadElsewhereHints(context),
      cause: error,
    });
  }
  if (error instanceof HttpFailure) {
    return new ModelNotFoundError({
      specifier: context.specifier,
      summary: `${context.specifier} is not available locally and the hub at ${settings.endpoint} could not be reached. ${wantedFiles(context.file)}`,
      searched: [...context.searched, { place: `hub ${error.url}`, outcome: error.message }],
      hints: downloadElsewhereHints(context),
      cause: error,
    });
  }
  if (error instanceof FileSelectionFailure) {
    const candidates = error.candidates.length > 0 ? ` Candidates: ${error.candidates.join(", ")}.` : "";
    return new RepositoryFileNotFoundError({
      specifier: context.specifier,
      summary: `${repo} (revision ${context.revision}) ${error.problem}.${candidates}`,
      searched: [...context.searched, { place: `hub ${listingUrl(settings.endpoint, repo, context.revision)}`, outcome: error.problem }],
      hints: [
        `name a file after the repository id: ${repo}:<file name, glob or quantization tag such as Q4_K_M>`,
        `see the repository's files at ${hubPage}/tree/${context.revision}`,
      ],
      repo,
      file: context.file,
      candidates: error.candidates,
      cause: error,
    });
  }
  return error;
}

/** The message for a model that is not cached when the hub may not be contacted (HF_HUB_OFFLINE). */
export function offlineFailure(context: FailureContext): ModelNotFoundError {
  return new ModelNotFoundError({
    specifier: context.specifier,
    summary: `${context.specifier} is not available locally, and offline mode (HF_HUB_OFFLINE) forbids downloading it. ${wantedFiles(context.file)}`,
    searched: [...context.searched, { place: `hub ${context.settings.endpoint}`, outcome: "not contacted (offline mode)" }],
    hints: ["unset HF_HUB_OFFLINE to download it", ...downloadElsewhereHints(context)],
  });
}

/** Hints for getting the weights without this program's download. */
export function downloadElsewhereHints(context: Pick<FailureContext, "repo" | "file" | "settings">): string[] {
  const { repo, file, settings } = context;
  const folder = `./${basename(repo)}`;
  let command = `huggingface-cli download ${repo} --local-dir ${folder}`;
  let model = folder;
  if (file !== undefined) {
    const exact = !hasGlobCharacters(file) && /\.[A-Za-z0-9]+$/.test(file);
    command = exact
      ? `huggingface-cli download ${repo} ${file} --local-dir ${folder}`
      : `huggingface-cli download ${repo} --include "${hasGlobCharacters(file) ? file : `*${file}*`}" --local-dir ${folder}`;
    model = exact ? `${folder}/${file}` : folder;
  }
  return [
    `on a machine with internet access run \`${command}\` (\`hf download\` in newer huggingface_hub), copy the folder here and pass it with --model ${model}`,
    `or copy a Hugging Face cache that holds ${repo} to ${settings.cacheDirectory} (or point HF_HUB_CACHE at it)`,
    `if the repository is gated (as meta-llama/* are), also set HF_TOKEN and accept the license at ${settings.endpoint}/${repo}`,
    "where the hub is blocked or slow, set HF_ENDPOINT to a mirror (for example HF_ENDPOINT=https://hf-mirror.com)",
  ];
}


/** Which files resolving looks for, in one sentence. */
export function wantedFiles(file: string | undefined): string {
  return file === undefined
    ? "It looked for config.json with model.safetensors (or model.safetensors.index.json and its shards), or a single .gguf or llama2.c .bin file."
    : `It looked for a weight file matching "${file}" (an exact name, a glob, or a quantization tag such as Q4_K_M).`;
}
