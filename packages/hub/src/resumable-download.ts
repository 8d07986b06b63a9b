// Downloading one URL to a file, resumably: bytes go to a `.incomplete` file; a later attempt (after a dropped
// connection, a stall, or in another run) asks for the rest with an HTTP Range request; the final size is checked
// against Content-Length / Content-Range and the expected size, the SHA-256 against the expected one, and only then
// is the file renamed into place. Retries back off exponentially; an AbortSignal stops everything and keeps the
// partial file.

import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { DownloadError } from "./errors.ts";
import { statusError, HubStatusError } from "./hub-api.ts";
import { abortReason, describeNetworkError, HttpFailure, sendRequest, type HttpResponse } from "./http-client.ts";
import { formatBytes, type ProgressListener } from "./progress-printer.ts";

export interface ResumableDownload {
  url: string;
  headers: Record<string, string>;
  /** The repository-relative name, for progress and messages. */
  file: string;
  /** Where the finished file goes. */
  destination: string;
  /** Where bytes accumulate until the file is complete. */
  partialPath: string;
  expectedSize: number | undefined;
  /** Lower-case hex SHA-256 the content must have, when known. */
  expectedSha256: string | undefined;
  stallTimeoutMs: number;
  /** Further attempts after the first fails with a network error, stall or server error. */
  retries: number;
  /** Wait before the first retry; doubles each time. */
  retryDelayMs: number;
  signal: AbortSignal | undefined;
  onProgress: ProgressListener;
}

export interface DownloadedFile {
  size: number;
  sha256: string;
}

/** Downloads to `destination`. Throws `HubStatusError` for answers such as 401/404, `DownloadError` when it gives up. */
export async function downloadResumable(download: ResumableDownload): Promise<DownloadedFile> {
  const resumedFrom = await fileSize(download.partialPath);
  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptDownload(download, resumedFrom);
    } catch (error) {
      if (download.signal?.aborted) throw abortReason(download.signal);
      if (error instanceof HubStatusError && !error.retryable) throw error;
      if (error instanceof DownloadError) throw error;
      if (attempt >= download.retries) throw await givingUp(download, error, attempt + 1);
      await sleep(download.retryDelayMs * 2 ** attempt, download.signal);
    }
  }
}

/** A failure worth another attempt, with a message for the person waiting. */
class RetryableProblem extends Error {}

async function attemptDownload(download: ResumableDownload, resumedFrom: number): Promise<DownloadedFile> {
  let offset = await fileSize(download.partialPath);
  if (download.expectedSize !== undefined && offset > download.expectedSize) {
    await rm(download.partialPath, { force: true });
    offset = 0;
  }
  if (offset > 0 && offset === download.expectedSize) return finish(download, offset, resumedFrom, await hashFile(download.partialPath));

  const headers: Record<string, string> = { ...download.headers, "Accept-Encoding": "identity" };
  if (offset > 0) headers.Range = `bytes=${offset}-`;
  const response = await sendRequest(download.url, { headers, signal: download.signal, stallTimeoutMs: download.stallTimeoutMs });
  const contentLength = numberHeader(response, "content-length");
  let total: number | undefined;
  if (response.status === 206 && offset > 0) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.header("content-range") ?? "");
    if (range === null || Number(range[1]) !== offset) {
      response.discard();
      await rm(download.partialPath, { force: true });
      throw new RetryableProblem(`the server answered a request for bytes ${offset}- with Content-Range "${response.header("content-range") ?? ""}"`);
    }
    total = range[3] !== "*" ? Number(range[3]) : contentLength === undefined ? undefined : offset + contentLength;
  } else if (response.status === 200 || response.status === 206) {
    offset = 0; // The server ignored the Range header: start over.
    total = contentLength;
  } else if (response.status === 416 && offset > 0) {
    response.discard();
    const whole = /^bytes \*\/(\d+)$/.exec(response.header("content-range") ?? "");
    if (whole !== null && Number(whole[1]) === offset) return finish(download, offset, resumedFrom, await hashFile(download.partialPath));
    await rm(download.partialPath, { force: true });
    throw new RetryableProblem(`the server refused to resume at byte ${offset}; starting over`);
  } else {
    throw await statusError(response);
  }
  if (download.expectedSize !== undefined && total !== undefined && total !== download.expectedSize) {
    response.discard();
    throw new DownloadError(
      `Download of ${download.file} failed: ${response.url} sends ${total} bytes, but the hub lists the file as ${download.expectedSize} bytes.`,
      { url: download.url },
    );
  }
  total ??= download.expectedSize;

  const hash = offset > 0 ? await hashFile(download.partialPath) : createHash("sha256");
  let received = offset;
  const report = (done: boolean) =>
    download.onProgress({ file: download.file, receivedBytes: received, totalBytes: total, resumedFromBytes: resumedFrom, done });
  report(false);
  // Each chunk is on disk before the next is read, so after a dropped connection the partial file holds every byte
  // read from it and the next attempt resumes there.
  const output = await open(download.partialPath, offset > 0 ? "a" : "w");
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      response.markProgress();
      await output.write(chunk);
      hash.update(chunk);
      received += chunk.length;
      report(false);
    }
  } finally {
    await output.close();
  }
  if (total !== undefined && received < total) {
    throw new RetryableProblem(`the connection closed after ${formatBytes(received)} of ${formatBytes(total)}`);
  }
  if (total !== undefined && received > total) {
    await rm(download.partialPath, { force: true });
    throw new RetryableProblem(`received ${received} bytes, more than the ${total} announced; starting over`);
  }
  return finish(download, received, resumedFrom, hash);
}

async function finish(download: ResumableDownload, size: number, resumedFrom: number, hash: Hash): Promise<DownloadedFile> {
  const sha256 = hash.digest("hex");
  if (download.expectedSha256 !== undefined && sha256 !== download.expectedSha256.toLowerCase()) {
    await rm(download.partialPath, { force: true });
    throw new RetryableProblem(`the SHA-256 of the ${formatBytes(size)} received is ${sha256}, not ${download.expectedSha256}; starting over`);
  }
  await rename(download.partialPath, download.destination);
  download.onProgress({ file: download.file, receivedBytes: size, totalBytes: size, resumedFromBytes: resumedFrom, done: true });
  return { size, sha256 };
}

async function givingUp(download: ResumableDownload, error: unknown, attempts: number): Promise<DownloadError> {
  const reason =
    error instanceof HttpFailure && error.kind === "stalled"
      ? `stalled (${error.message})`
      : error instanceof HubStatusError
        ? `the server keeps failing (${error.message})`
        : error instanceof RetryableProblem || error instanceof HttpFailure
          ? error.message
          : `the connection failed (${describeNetworkError(error)})`;
  const kept = await fileSize(download.partialPath);
  const resume = kept > 0 ? ` The ${formatBytes(kept)} received so far are kept in ${download.partialPath}; run again to resume.` : "";
  const tries = attempts === 1 ? "" : ` after ${attempts} attempts`;
  return new DownloadError(`Download of ${download.file} from ${download.url} failed${tries}: ${reason}.${resume}`, {
    url: download.url,
    partialFile: kept > 0 ? download.partialPath : undefined,
    cause: error,
  });
}

async function hashFile(path: string): Promise<Hash> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function numberHeader(response: HttpResponse, name: string): number | undefined {
  const value = response.headers[name];
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const number = Number(value);
  return Number.isSafeInteger(number) && number >= 0 ? number : undefined;
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, milliseconds);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
