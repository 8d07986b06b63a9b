// The errors this package throws for expected failures. Their messages are written for the person running the
// program: what was wanted, every place that was searched and how to get the weights, so a CLI can print
// `error.message` and no stack trace.

/** Base class of every expected failure in this package (catch it and print `message`). */
export class HubError extends Error {
  /** The class's name, e.g. `"HubError"`, `"ModelNotFoundError"`. */
  override name = "HubError";
}

/** One place that was searched for a model and what was found there. */
export interface SearchedPlace {
  /** What was searched, e.g. `local path "./models/llama"` or `hub https://huggingface.co/api/models/org/name`. */
  place: string;
  /** What was found, e.g. `does not exist` or `connect ECONNREFUSED 127.0.0.1:9`. */
  outcome: string;
}

/** What a {@link ModelNotFoundError} reports: the request, every place searched, and how to get the weights. */
export interface ModelNotFoundDetails {
  /** The model as the user wrote it. */
  specifier: string;
  /** One sentence saying what went wrong. */
  summary: string;
  /** Every place looked in, in order, with what was found there. */
  searched: readonly SearchedPlace[];
  /** Ways to get the weights, one per line. */
  hints: readonly string[];
  /** The underlying error (a network failure, an HTTP status), kept as the error's `cause`. */
  cause?: unknown;
}

/** The model is not at the path, not in the cache, and could not be downloaded. */
export class ModelNotFoundError extends HubError {
  /** Always `"ModelNotFoundError"`. */
  override name = "ModelNotFoundError";
  /** The model as the user wrote it. */
  readonly specifier: string;
  /** Every place looked in, with what was found there. */
  readonly searched: readonly SearchedPlace[];
  /** Ways to get the weights, one per line. */
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
  /** Always `"GatedRepositoryError"`. */
  override name = "GatedRepositoryError";
  /** The repository id, `org/name`. */
  readonly repo: string;
  /** The HTTP status the hub answered: 401 (no or bad token) or 403 (license not accepted). */
  readonly status: number;

  constructor(
    details: ModelNotFoundDetails & {
      /** The repository id. */
      repo: string;
      /** The hub's HTTP status. */
      status: number;
    },
  ) {
    super(details);
    this.repo = details.repo;
    this.status = details.status;
  }
}

/** The hub has no such repository or revision (HTTP 404). */
export class RepositoryNotFoundError extends ModelNotFoundError {
  /** Always `"RepositoryNotFoundError"`. */
  override name = "RepositoryNotFoundError";
  /** The repository id, `org/name`. */
  readonly repo: string;
  /** The branch, tag or commit asked for. */
  readonly revision: string;

  constructor(
    details: ModelNotFoundDetails & {
      /** The repository id. */
      repo: string;
      /** The revision asked for. */
      revision: string;
    },
  ) {
    super(details);
    this.repo = details.repo;
    this.revision = details.revision;
  }
}

/** The repository exists but has no file matching what was asked for, or several that match ambiguously. */
export class RepositoryFileNotFoundError extends ModelNotFoundError {
  /** Always `"RepositoryFileNotFoundError"`. */
  override name = "RepositoryFileNotFoundError";
  /** The repository id, `org/name`. */
  readonly repo: string;
  /** The file or pattern asked for (undefined: the repository's model files were looked for). */
  readonly file: string | undefined;
  /** Files the repository does have that could have been meant. */
  readonly candidates: readonly string[];

  constructor(
    details: ModelNotFoundDetails & {
      /** The repository id. */
      repo: string;
      /** The file or pattern asked for. */
      file: string | undefined;
      /** Files that could have been meant. */
      candidates: readonly string[];
    },
  ) {
    super(details);
    this.repo = details.repo;
    this.file = details.file;
    this.candidates = details.candidates;
  }
}

/** A download started but could not be completed (stalled, cut off, wrong size or checksum, server error). */
export class DownloadError extends HubError {
  /** Always `"DownloadError"`. */
  override name = "DownloadError";
  /** The URL that was being downloaded. */
  readonly url: string;
  /** The partial file kept for resuming, when there is one. */
  readonly partialFile: string | undefined;

  constructor(
    message: string,
    details: {
      /** The URL that was being downloaded. */
      url: string;
      /** The partial file kept for resuming. */
      partialFile?: string;
      /** The underlying error. */
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.url = details.url;
    this.partialFile = details.partialFile;
  }
}

/** The specifier is neither an existing path nor a repository id. */
export class InvalidModelSpecifierError extends HubError {
  /** Always `"InvalidModelSpecifierError"`. */
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
