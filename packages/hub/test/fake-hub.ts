// A Hugging Face-compatible hub for tests, on 127.0.0.1: the repository listing, resolve URLs that redirect LFS files
// to a separate "CDN" server (another origin), Range requests, gated repositories, hub error codes, and faults on
// the CDN (a connection dropped part-way, a stall, slow streaming) to exercise resuming, timeouts and aborts.
// Other packages' tests (a recipe downloading its default model) import it as `@infer-recipes/hub/testing`.

import { createHash } from "node:crypto";
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A file of a fake repository. */
export interface FakeFile {
  name: string;
  content: Buffer;
  /** Stored in LFS: the hub redirects to the CDN and names the blob by its SHA-256 (X-Linked-Etag). */
  lfs?: boolean;
}

/** A repository the fake hub serves at one commit. */
export interface FakeRepository {
  id: string;
  commit: string;
  files: FakeFile[];
  /** Resolve URLs need `Authorization: Bearer <token>`. */
  requiredToken?: string;
}

/** A fault injected where a file's bytes are served. */
export interface BlobFault {
  /** Close the connection after this absolute byte offset. */
  dropAfter?: number;
  /** Stop sending (but keep the connection open) after this absolute byte offset. */
  stallAfter?: number;
  /** How many requests the fault applies to; default all. */
  times?: number;
}

/** A request either server received, for assertions. */
export interface RecordedRequest {
  server: "hub" | "cdn";
  method: string;
  path: string;
  range: string | undefined;
  authorization: string | undefined;
}

/** What {@link startFakeHub} serves, and how. */
export interface FakeHubOptions {
  repositories: FakeRepository[];
  /** Faults by file name, applied where the file's bytes are served. */
  faults?: Record<string, BlobFault>;
  /** Send file bodies in 16 KiB chunks this many milliseconds apart. */
  chunkDelayMs?: number;
  /** Serve files without honouring Range. */
  ignoreRange?: boolean;
}

/** A running fake hub: its endpoint (for HF_ENDPOINT), its CDN origin, the requests seen, and how to stop it. */
export interface FakeHub {
  endpoint: string;
  cdn: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** SHA-256 (hex) of `content`, as the hub names LFS blobs. */
export function sha256(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Git's blob id of `content`, as the hub names non-LFS files. */
export function gitBlobSha1(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** Starts the hub and its CDN on 127.0.0.1 (ephemeral ports). */
export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  const requests: RecordedRequest[] = [];
  const faultUses = new Map<string, number>();
  const blobs = new Map<string, FakeFile>();
  for (const repository of options.repositories) for (const file of repository.files) if (file.lfs) blobs.set(sha256(file.content), file);

  const serveFile = (request: IncomingMessage, response: ServerResponse, file: FakeFile, headers: Record<string, string>) => {
    const total = file.content.length;
    const rangeHeader = options.ignoreRange ? undefined : request.headers.range;
    let start = 0;
    let status = 200;
    if (rangeHeader !== undefined) {
      const match = /^bytes=(\d+)-$/.exec(rangeHeader);
      start = match === null ? 0 : Number(match[1]);
      if (start >= total) {
        response.writeHead(416, { "Content-Range": `bytes */${total}` });
        response.end();
        return;
      }
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${total - 1}/${total}`;
    }
    response.writeHead(status, { ...headers, "Content-Length": String(total - start), "Accept-Ranges": "bytes" });
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    const fault = options.faults?.[file.name];
    const uses = faultUses.get(file.name) ?? 0;
    const faulty = fault !== undefined && (fault.times === undefined || uses < fault.times);
    if (fault !== undefined) faultUses.set(file.name, uses + 1);
    const stopAt = faulty ? Math.max(start, fault.dropAfter ?? fault.stallAfter ?? total) : total;
    const after = faulty ? (fault.dropAfter !== undefined ? "drop" : "stall") : "end";
    sendBody(response, file.content.subarray(start, stopAt), options.chunkDelayMs ?? 0, () => {
      if (after === "end") response.end();
      else if (after === "drop") response.socket?.end(); // Close after the bytes sent so far, mid-body.
      // "stall": leave the connection open with nothing more to send.
    });
  };

  const hub = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    requests.push(record("hub", request, url));
    const listing = /^\/api\/models\/([^/]+\/[^/]+)(?:\/revision\/([^/]+))?$/.exec(url.pathname);
    if (listing !== null) {
      const repository = options.repositories.find((candidate) => candidate.id === listing[1]);
      if (repository === undefined) return sendError(response, 404, "RepoNotFound", "Repository not found");
      const revision = listing[2] === undefined ? "main" : decodeURIComponent(listing[2]);
      if (revision !== "main" && revision !== repository.commit) return sendError(response, 404, "RevisionNotFound", "Invalid rev id");
      return sendJson(response, {
        id: repository.id,
        sha: repository.commit,
        gated: repository.requiredToken === undefined ? false : "manual",
        siblings: repository.files.map((file) => ({ rfilename: file.name })),
      });
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve === null) return sendError(response, 404, undefined, "Not found");
    const repository = options.repositories.find((candidate) => candidate.id === resolve[1]);
    if (repository === undefined) return sendError(response, 404, "RepoNotFound", "Repository not found");
    if (repository.requiredToken !== undefined) {
      const authorization = request.headers.authorization;
      if (authorization === undefined) return sendError(response, 401, "GatedRepo", "Access to this repository is restricted");
      if (authorization !== `Bearer ${repository.requiredToken}`) return sendError(response, 403, "GatedRepo", "Your token has no access");
    }
    const revision = decodeURIComponent(resolve[2]);
    if (revision !== "main" && revision !== repository.commit) return sendError(response, 404, "RevisionNotFound", "Invalid revision");
    const name = resolve[3].split("/").map(decodeURIComponent).join("/");
    const file = repository.files.find((candidate) => candidate.name === name);
    if (file === undefined) return sendError(response, 404, "EntryNotFound", "Entry not found");
    if (file.lfs) {
      response.writeHead(302, {
        Location: `${cdn}/blobs/${sha256(file.content)}?signature=abc`,
        "X-Linked-Etag": `"${sha256(file.content)}"`,
        "X-Linked-Size": String(file.content.length),
        "X-Repo-Commit": repository.commit,
        ETag: `"${gitBlobSha1(Buffer.from("lfs pointer"))}"`,
      });
      return response.end();
    }
    serveFile(request, response, file, { ETag: `"${gitBlobSha1(file.content)}"`, "X-Repo-Commit": repository.commit });
  });

  const cdnServer = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    requests.push(record("cdn", request, url));
    const blob = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = blob === null ? undefined : blobs.get(blob[1]);
    if (file === undefined) return sendError(response, 404, undefined, "No such blob");
    serveFile(request, response, file, { ETag: `"cdn-${blob![1].slice(0, 8)}"` });
  });

  const endpoint = await listen(hub);
  const cdn = await listen(cdnServer);
  return {
    endpoint,
    cdn,
    requests,
    close: async () => {
      await Promise.all([closeServer(hub), closeServer(cdnServer)]);
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens. */
export async function closedPortEndpoint(): Promise<string> {
  const server = http.createServer();
  const endpoint = await listen(server);
  await closeServer(server);
  return endpoint;
}

function record(server: "hub" | "cdn", request: IncomingMessage, url: URL): RecordedRequest {
  return { server, method: request.method ?? "GET", path: url.pathname, range: request.headers.range, authorization: request.headers.authorization };
}

function sendBody(response: ServerResponse, body: Buffer, chunkDelayMs: number, done: () => void): void {
  if (chunkDelayMs === 0) {
    response.write(body, done);
    return;
  }
  let offset = 0;
  const next = () => {
    if (response.destroyed) return;
    if (offset >= body.length) return done();
    const chunk = body.subarray(offset, offset + 16 * 1024);
    offset += chunk.length;
    response.write(chunk, () => setTimeout(next, chunkDelayMs));
  };
  next();
}

function sendJson(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, status: number, code: string | undefined, message: string): void {
  const headers: Record<string, string> = { "Content-Type": "application/json", "X-Error-Message": message };
  if (code !== undefined) headers["X-Error-Code"] = code;
  response.writeHead(status, headers);
  response.end(JSON.stringify({ error: message }));
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
