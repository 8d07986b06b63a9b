// The errors this package throws for expected failures. Their messages are written for the person running the
// program: what was wanted, every place that was searched and how to get the weights, so a CLI can print
// `error.message` and no stack trace.

/** Base class of every expected failure in this package (catch it and print `message`). */
export class HubError extends Error {
  override name = "HubError";
}

/** One place that was searched for a model and what was found there. */
export interface SearchedPlace {
  /** What was searched, e.g. `local path "./models/llama"` or `hub https://huggingface.co/api/models/org/name`. */
  place: string;
  /** What was found, e.g. `does not exist` or `connect ECONNREFUSED 127.0.0.1:9`. */
  outcome: string;
}

export interface ModelNotFoundDetails {
  /** The model as the user wrote it. */
  specifier: string;
  /** One sentence saying what went wrong. */
  summary: string;
  searched: readonly SearchedPlace[];
  /** Ways to get the weights, one per line. */
  hints: readonly string[];
  cause?: unknown;
}

/** The model is not at the path, not in the cache, and could not be downloaded. */
export class ModelNotFoundError extends HubError {
  override name = "ModelNotFoundError";
  readonly specifier: string;
  readonly searched: readonly SearchedPlace[];
  readonly hints: readonly string[];

  constructor(details: ModelNotFoundDetails) {
    super(formatNotFoundMessage(details), details.cause === undefined ? undefined : { cause: details.cause });
    this.specifier = details.specifier;
    this.searched = details.searched;
    this.hints = details.hints;
  }
}

/** The hub refused access (HTTP 401/403): the repository is gated or private and needs a token and an accepted license. */
export class GatedRepositoryError extends ModelNotFoundError {
  override name = "GatedRepositoryError";
  readonly repo: string;
  readonly status: number;

  constructor(details: ModelNotFoundDetails & { repo: string; status: number }) {
    super(details);
    this.repo = details.repo;
    this.status = details.status;
  }
}

/** The hub has no such repository or revision (HTTP 404). */
export class RepositoryNotFoundError extends ModelNotFoundError {
  override name = "RepositoryNotFoundError";
  readonly repo: string;
  readonly revision: string;

  constructor(details: ModelNotFoundDetails & { repo: string; revision: string }) {
    super(details);
    this.repo = details.repo;
    this.revision = details.revision;
  }
}

/** The repository exists but has no file matching what was asked for, or several that match ambiguously. */
export class RepositoryFileNotFoundError extends ModelNotFoundError {
  override name = "RepositoryFileNotFoundError";
  readonly repo: string;
  readonly file: string | undefined;
  /** Files the repository does have that could have been meant. */
  readonly candidates: readonly string[];

  constructor(details: ModelNotFoundDetails & { repo: string; file: string | undefined; candidates: readonly string[] }) {
    super(details);
    this.repo = details.repo;
    this.file = details.file;
    this.candidates = details.candidates;
  }
}

/** A download started but could not be completed (stalled, cut off, wrong size or checksum, server error). */
export class DownloadError extends HubError {
  override name = "DownloadError";
  readonly url: string;
  /** The partial file kept for resuming, when there is one. */
  readonly partialFile: string | undefined;

  constructor(message: string, details: { url: string; partialFile?: string; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.url = details.url;
    this.partialFile = details.partialFile;
  }
}

/** The specifier is neither an existing path nor a repository id. */
export class InvalidModelSpecifierError extends HubError {
  override name = "InvalidModelSpecifierError";
}

function formatNotFoundMessage(details: ModelNotFoundDetails): string {
  const lines = [details.summary];
  if (details.searched.length > 0) {
    lines.push("Looked in:");
    for (const searched of details.searched) lines.push(`  - ${searched.place}: ${searched.outcome}`);
  }
  if (details.hints.length > 0) {
    lines.push("To get the weights:");
    for (const hint of details.hints) lines.push(`  - ${hint}`);
  }
  return lines.join("\n");
}
