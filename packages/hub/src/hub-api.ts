// The two hub endpoints this package reads: the repository listing `{endpoint}/api/models/{repo}` (commit `sha` and
// `siblings[].rfilename`) and the file metadata from `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` (ETag,
// commit, size, as huggingface_hub reads them before a download). Error statuses become `HubStatusError`.

import { sendRequest, type HttpResponse } from "./http-client.ts";
import type { HubSettings } from "./hub-settings.ts";

export const userAgent = `infer-recipes-hub/0.1.0; node/${process.versions.node}`;

export interface HubRequestContext {
  settings: HubSettings;
  signal?: AbortSignal;
}

/** The hub answered with an error status. */
export class HubStatusError extends Error {
  override name = "HubStatusError";
  constructor(
    readonly status: number,
    readonly url: string,
    /** The hub's `X-Error-Code` (RepoNotFound, GatedRepo, EntryNotFound, RevisionNotFound), when sent. */
    readonly errorCode: string | undefined,
    /** The hub's own explanation (`X-Error-Message` or the body), when sent. */
    readonly serverMessage: string | undefined,
  ) {
    super(`HTTP ${status} from ${url}${serverMessage === undefined ? "" : `: ${serverMessage}`}`);
  }

  /** Server trouble worth retrying, as opposed to an answer about the repository. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export interface RepositoryListing {
  /** The commit the revision points to, when the hub says. */
  commit: string | undefined;
  /** Repository-relative file names. */
  files: string[];
  /** Whether the hub marks the repository as gated. */
  gated: boolean;
}

export interface RemoteFileMetadata {
  /** The ETag naming the blob (`X-Linked-Etag` for LFS files, else `ETag`), as sent. */
  etag: string | undefined;
  /** `X-Repo-Commit`. */
  commit: string | undefined;
  /** `X-Linked-Size`, or Content-Length of a direct answer. */
  size: number | undefined;
}

export function hubHeaders(settings: HubSettings): Record<string, string> {
  const headers: Record<string, string> = { "User-Agent": userAgent };
  if (settings.token !== undefined) headers.Authorization = `Bearer ${settings.token}`;
  return headers;
}

export function listingUrl(endpoint: string, repo: string, revision: string): string {
  const base = `${endpoint}/api/models/${repo}`;
  return revision === "main" ? base : `${base}/revision/${encodeURIComponent(revision)}`;
}

export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const path = file.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

export async function fetchRepositoryListing(repo: string, revision: string, context: HubRequestContext): Promise<RepositoryListing> {
  const url = listingUrl(context.settings.endpoint, repo, revision);
  const response = await sendRequest(url, {
    headers: { ...hubHeaders(context.settings), Accept: "application/json" },
    signal: context.signal,
    stallTimeoutMs: context.settings.stallTimeoutMs,
  });
  if (response.status !== 200) throw await statusError(response);
  const text = await response.text();
  let body: { sha?: unknown; siblings?: unknown; gated?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new HubStatusError(response.status, url, undefined, "the listing is not JSON (is HF_ENDPOINT a Hugging Face-compatible hub?)");
  }
  const siblings = Array.isArray(body.siblings) ? body.siblings : [];
  const files = siblings
    .map((sibling) => (sibling as { rfilename?: unknown } | null)?.rfilename)
    .filter((name): name is string => typeof name === "string");
  return {
    commit: typeof body.sha === "string" && body.sha !== "" ? body.sha : undefined,
    files,
    gated: body.gated !== undefined && body.gated !== false,
  };
}

export async function fetchFileMetadata(repo: string, revision: string, file: string, context: HubRequestContext): Promise<RemoteFileMetadata> {
  const response = await sendRequest(resolveUrl(context.settings.endpoint, repo, revision, file), {
    method: "HEAD",
    headers: { ...hubHeaders(context.settings), "Accept-Encoding": "identity" },
    signal: context.signal,
    stallTimeoutMs: context.settings.stallTimeoutMs,
    followRedirects: "same-origin",
  });
  response.discard();
  if (response.status >= 400) throw await statusError(response);
  const linkedSize = response.header("x-linked-size");
  const contentLength = response.status === 200 ? response.header("content-length") : undefined;
  const size = Number(linkedSize ?? contentLength);
  return {
    etag: response.header("x-linked-etag") ?? response.header("etag"),
    commit: response.header("x-repo-commit"),
    size: (linkedSize ?? contentLength) !== undefined && Number.isSafeInteger(size) && size >= 0 ? size : undefined,
  };
}

/** Turns an error response into a `HubStatusError`, reading a short body for the hub's explanation. */
export async function statusError(response: HttpResponse): Promise<HubStatusError> {
  let serverMessage = response.header("x-error-message");
  if (serverMessage === undefined && !response.body.destroyed) {
    try {
      const text = (await response.text()).trim();
      serverMessage = messageFromBody(text);
    } catch {
      serverMessage = undefined;
    }
  } else {
    response.discard();
  }
  return new HubStatusError(response.status, response.url, response.header("x-error-code"), serverMessage);
}

function messageFromBody(text: string): string | undefined {
  if (text === "") return undefined;
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") return parsed.error;
  } catch {
    // Not JSON: use the text itself.
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
