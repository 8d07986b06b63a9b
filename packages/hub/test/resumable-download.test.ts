// downloadResumable against a scripted local server, one rule at a time: a fresh download (progress, checksum, rename),
// resuming with a Range request (206 with a matching Content-Range; an unknown total from Content-Length), a server
// that ignores Range (start over), one that answers 416 (already complete, or start over), a partial file longer than
// the file (start over) or exactly complete (no request), a size that disagrees with the hub's (not retried), a body
// cut short or longer than announced, a SHA-256 mismatch, and the final message after the retries (with the partial
// file kept and the number of attempts), a server error that is not retried, and an abort.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { DownloadError } from "../src/errors.ts";
import { HubStatusError } from "../src/hub-api.ts";
import type { DownloadProgress } from "../src/progress-printer.ts";
import { downloadResumable, type ResumableDownload } from "../src/resumable-download.ts";

const content = Buffer.from("0123456789abcdefghij"); // 20 bytes
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
let handler: Handler;
const ranges: Array<string | undefined> = [];
const server = createServer((request, response) => {
  ranges.push(request.headers.range);
  handler(request, response);
});
let url = "";
let folder = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/file.bin`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), "resumable-"));
  ranges.length = 0;
});
afterEach(() => rm(folder, { recursive: true, force: true }));

/** Serves `content` honouring Range (206 with Content-Range), as a CDN does. */
const honest: Handler = (request, response) => {
  const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? "");
  if (match) {
    const start = Number(match[1]);
    response.writeHead(206, { "Content-Range": `bytes ${start}-${content.length - 1}/${content.length}`, "Content-Length": String(content.length - start) });
    response.end(content.subarray(start));
  } else {
    response.writeHead(200, { "Content-Length": String(content.length) });
    response.end(content);
  }
};

function download(overrides: Partial<ResumableDownload> = {}, events: DownloadProgress[] = []): ResumableDownload {
  return {
    url,
    headers: { Authorization: "Bearer t" },
    file: "file.bin",
    destination: join(folder, "file.bin"),
    partialPath: join(folder, "blob.incomplete"),
    expectedSize: content.length,
    expectedSha256: sha(content),
    stallTimeoutMs: 5000,
    retries: 0,
    retryDelayMs: 1,
    signal: undefined,
    onProgress: (event) => events.push(event),
    ...overrides,
  };
}

const exists = (path: string) => stat(path).then(() => true, () => false);

describe("downloadResumable", () => {
  it("downloads to the partial file, reports progress, checks the SHA-256 and renames it into place", async () => {
    handler = honest;
    const events: DownloadProgress[] = [];
    const job = download({}, events);
    expect(await downloadResumable(job)).toEqual({ size: 20, sha256: sha(content) });
    expect(await readFile(job.destination)).toEqual(content);
    expect(await exists(job.partialPath)).toBe(false);
    expect(ranges).toEqual([undefined]);
    expect(events[0]).toEqual({ file: "file.bin", receivedBytes: 0, totalBytes: 20, resumedFromBytes: 0, done: false });
    expect(events.at(-1)).toEqual({ file: "file.bin", receivedBytes: 20, totalBytes: 20, resumedFromBytes: 0, done: true });
    // Upper-case expected hashes are fine; no expected size or hash is fine too (the total comes from Content-Length).
    expect((await downloadResumable(download({ expectedSha256: sha(content).toUpperCase() }))).size).toBe(20);
    expect((await downloadResumable(download({ expectedSize: undefined, expectedSha256: undefined }))).size).toBe(20);
  });

  it("resumes a partial file with a Range request and appends the rest", async () => {
    handler = honest;
    const events: DownloadProgress[] = [];
    const job = download({}, events);
    await writeFile(job.partialPath, content.subarray(0, 8));
    expect(await downloadResumable(job)).toEqual({ size: 20, sha256: sha(content) });
    expect(ranges).toEqual(["bytes=8-"]);
    expect(await readFile(job.destination)).toEqual(content);
    expect(events[0]).toEqual({ file: "file.bin", receivedBytes: 8, totalBytes: 20, resumedFromBytes: 8, done: false });
    expect(events.at(-1)).toMatchObject({ receivedBytes: 20, resumedFromBytes: 8, done: true });
  });

  it("a 206 with an unknown total takes it from the offset plus Content-Length", async () => {
    handler = (request, response) => {
      const start = Number(/^bytes=(\d+)-$/.exec(request.headers.range!)![1]);
      response.writeHead(206, { "Content-Range": `bytes ${start}-19/*`, "Content-Length": String(20 - start) });
      response.end(content.subarray(start));
    };
    const events: DownloadProgress[] = [];
    const job = download({ expectedSize: undefined }, events);
    await writeFile(job.partialPath, content.subarray(0, 5));
    expect((await downloadResumable(job)).size).toBe(20);
    expect(events[0].totalBytes).toBe(20);
  });

  it("starts over when the server ignores Range (200), and when the partial file is longer than the file", async () => {
    handler = (_request, response) => {
      response.writeHead(200, { "Content-Length": "20" });
      response.end(content);
    };
    const job = download();
    await writeFile(job.partialPath, Buffer.from("XXXXXXXX"));
    expect((await downloadResumable(job)).size).toBe(20);
    expect(ranges).toEqual(["bytes=8-"]);
    expect(await readFile(job.destination)).toEqual(content);

    ranges.length = 0;
    const long = download();
    await writeFile(long.partialPath, Buffer.alloc(25));
    expect((await downloadResumable(long)).size).toBe(20);
    expect(ranges).toEqual([undefined]);
  });

  it("a partial file of exactly the expected size is finished without a request", async () => {
    handler = () => {
      throw new Error("no request expected");
    };
    const job = download();
    await writeFile(job.partialPath, content);
    expect(await downloadResumable(job)).toEqual({ size: 20, sha256: sha(content) });
    expect(ranges).toEqual([]);
  });

  it("416: a partial file that is already the whole file is finished; otherwise it starts over", async () => {
    handler = (_request, response) => {
      response.writeHead(416, { "Content-Range": "bytes */20" });
      response.end();
    };
    const complete = download({ expectedSize: undefined });
    await writeFile(complete.partialPath, content);
    expect(await downloadResumable(complete)).toEqual({ size: 20, sha256: sha(content) });

    const job = download({ expectedSize: undefined });
    await writeFile(job.partialPath, content.subarray(0, 4));
    const error = (await downloadResumable(job).catch((caught: unknown) => caught)) as DownloadError;
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.message).toBe(`Download of file.bin from ${url} failed: the server refused to resume at byte 4; starting over.`);
    expect(error.partialFile).toBeUndefined();
    expect(await exists(job.partialPath)).toBe(false);
  });

  it("a 206 whose Content-Range does not start at the offset: the partial file is dropped", async () => {
    handler = (_request, response) => {
      response.writeHead(206, { "Content-Range": "bytes 0-19/20", "Content-Length": "20" });
      response.end(content);
    };
    const job = download();
    await writeFile(job.partialPath, content.subarray(0, 6));
    const error = (await downloadResumable(job).catch((caught: unknown) => caught)) as DownloadError;
    expect(error.message).toBe(`Download of file.bin from ${url} failed: the server answered a request for bytes 6- with Content-Range "bytes 0-19/20".`);
    expect(await exists(job.partialPath)).toBe(false);
  });

  it("a size other than the hub's is an error at once, not retried", async () => {
    handler = (_request, response) => {
      response.writeHead(200, { "Content-Length": "20" });
      response.end(content);
    };
    const error = (await downloadResumable(download({ expectedSize: 21, retries: 3 })).catch((caught: unknown) => caught)) as DownloadError;
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.message).toBe(`Download of file.bin failed: ${url} sends 20 bytes, but the hub lists the file as 21 bytes.`);
    expect(error.url).toBe(url);
    expect(ranges).toHaveLength(1);
  });

  it("a body cut short keeps the partial file and says so; retries resume it, and the message counts the attempts", async () => {
    // Five bytes per answer, then the body ends (no Content-Length: the size is the hub's, or the Content-Range total).
    handler = (request, response) => {
      const start = request.headers.range ? Number(request.headers.range.slice(6, -1)) : 0;
      response.writeHead(request.headers.range ? 206 : 200, request.headers.range ? { "Content-Range": `bytes ${start}-19/20` } : {});
      response.end(content.subarray(start, start + 5));
    };
    const job = download({ retries: 2, expectedSha256: undefined });
    const error = (await downloadResumable(job).catch((caught: unknown) => caught)) as DownloadError;
    expect(error).toBeInstanceOf(DownloadError);
    expect(ranges).toEqual([undefined, "bytes=5-", "bytes=10-"]);
    expect(error.partialFile).toBe(job.partialPath);
    expect(error.message).toBe(`Download of file.bin from ${url} failed after 3 attempts: the connection closed after 15 B of 20 B. The 15 B received so far are kept in ${job.partialPath}; run again to resume.`);
    expect(await readFile(job.partialPath)).toEqual(content.subarray(0, 15));
    // The next run resumes at byte 15 and finishes.
    expect((await downloadResumable(download())).size).toBe(20);
    expect(ranges.at(-1)).toBe("bytes=15-");
  });

  it("more bytes than a 206 announced, or a wrong SHA-256: the partial file is dropped", async () => {
    handler = (_request, response) => {
      response.writeHead(206, { "Content-Range": "bytes 4-9/10" });
      response.end(content.subarray(4));
    };
    const long = download({ expectedSize: undefined, expectedSha256: undefined });
    await writeFile(long.partialPath, content.subarray(0, 4));
    const tooLong = (await downloadResumable(long).catch((caught: unknown) => caught)) as DownloadError;
    expect(tooLong.message).toBe(`Download of file.bin from ${url} failed: received 20 bytes, more than the 10 announced; starting over.`);
    expect(await exists(long.partialPath)).toBe(false);

    handler = honest;
    const wrong = "0".repeat(64);
    const job = download({ expectedSha256: wrong });
    const mismatch = (await downloadResumable(job).catch((caught: unknown) => caught)) as DownloadError;
    expect(mismatch.message).toBe(`Download of file.bin from ${url} failed: the SHA-256 of the 20 B received is ${sha(content)}, not ${wrong}; starting over.`);
    expect(await exists(job.partialPath)).toBe(false);
    expect(await exists(job.destination)).toBe(false);
  });

  it("a server error is retried and then reported; an answer such as 404 is thrown as it is", async () => {
    handler = (_request, response) => {
      response.writeHead(503);
      response.end("busy");
    };
    const error = (await downloadResumable(download({ retries: 1 })).catch((caught: unknown) => caught)) as DownloadError;
    expect(error.message).toBe(`Download of file.bin from ${url} failed after 2 attempts: the server keeps failing (HTTP 503 from ${url}: busy).`);
    expect(error.cause).toBeInstanceOf(HubStatusError);
    expect(ranges).toHaveLength(2);

    ranges.length = 0;
    handler = (_request, response) => {
      response.writeHead(404, { "X-Error-Code": "EntryNotFound" });
      response.end();
    };
    const notFound = await downloadResumable(download({ retries: 3 })).catch((caught: unknown) => caught);
    expect(notFound).toBeInstanceOf(HubStatusError);
    expect(notFound).toMatchObject({ status: 404, errorCode: "EntryNotFound" });
    expect(ranges).toHaveLength(1);
  });

  it("a stall is reported as such; an abort rejects with the signal's reason and keeps the partial file", async () => {
    handler = () => {}; // never answers
    const stalled = (await downloadResumable(download({ stallTimeoutMs: 100 })).catch((caught: unknown) => caught)) as DownloadError;
    expect(stalled.message).toMatch(/^Download of file\.bin from .+ failed: stalled \(no data for 0\.1 s while waiting for a response from 127\.0\.0\.1:\d+\)\.$/);

    const reason = new Error("user stop");
    const job = download();
    await writeFile(job.partialPath, content.subarray(0, 3));
    await expect(downloadResumable(download({ signal: AbortSignal.abort(reason) }))).rejects.toBe(reason);
    expect((await stat(job.partialPath)).size).toBe(3);
  });
});
