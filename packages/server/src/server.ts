// An OpenAI-compatible HTTP server on node:http, so clients written for OpenAI, vLLM or SGLang work unchanged:
//   POST /v1/completions, POST /v1/chat/completions (JSON or SSE streaming), GET /v1/models, GET /health.
// This thread only does HTTP: the model host (model-host.ts) prepares requests and runs them, in a worker thread
// when serving from the command line, so no request waits for another's model steps or tokenizing. Errors are
// OpenAI-shaped bodies: 400 naming the field, 401 without the API key, 403 for a Host or Origin that is not allowed,
// 404 for an unknown route or model, 405 for a wrong method, 413 for a body over the limit, 415 for a POST that is
// not JSON, 429 past the queue limit, 503 while loading or shutting down, 500 for bugs — and the server keeps
// serving after every one of them. close() drains: no new requests, open ones get a grace period, then are
// cancelled with a clear answer.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { AccessPolicy, type AccessOptions } from "./access-policy.ts";
import { ApiError } from "./api-error.ts";
import { EventLoopDelayMonitor, type EventLoopDelay } from "./event-loop-delay.ts";
import { handleGeneration, shutdownError, type EndpointContext, type EndpointKind } from "./generation-endpoint.ts";
import { listenError } from "./listen-error.ts";
import { LocalModelHost } from "./local-model-host.ts";
import type { HealthSnapshot, ModelHost } from "./model-host.ts";
import { maxRequestBodyBytes } from "./request-bounds.ts";
import type { ServedModel } from "./served-model.ts";

/** What an {@link InferenceServer} serves, and where. */
export interface InferenceServerOptions {
  /** What runs the model (a WorkerModelHost, or a LocalModelHost in this thread). */
  model?: ModelHost;
  /** Shorthand for `model: new LocalModelHost(served)`. */
  served?: ServedModel;
  /** Default 127.0.0.1 (only this machine); "0.0.0.0" serves the network (then set access.apiKey). */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Largest request body accepted, in bytes (default 8 MiB; lower when the model's prompt limit allows less). */
  maxBodyBytes?: number;
  /** API key, allowed Host names and CORS origins (access-policy.ts). */
  access?: AccessOptions;
  /** One line per request and per error (default: none). */
  log?: (line: string) => void;
}

/** How {@link InferenceServer.close} drains. */
export interface CloseOptions {
  /** Milliseconds open requests may take to finish before they are cancelled (default 0: cancel at once). */
  graceMs?: number;
}

interface Route {
  method: "GET" | "POST";
  endpoint: EndpointKind | "models" | "model" | "health";
}

const routes: Record<string, Route> = {
  "/v1/completions": { method: "POST", endpoint: "completion" },
  "/v1/chat/completions": { method: "POST", endpoint: "chat" },
  "/v1/models": { method: "GET", endpoint: "models" },
  "/health": { method: "GET", endpoint: "health" },
};

function healthBody(status: string, model: string | undefined, snapshot: HealthSnapshot | undefined, loop: EventLoopDelay): Record<string, unknown> {
  const tenths = (milliseconds: number) => Math.round(milliseconds * 10) / 10;
  // How long this (the HTTP) thread was held up since the server started: a few milliseconds unless it blocks.
  const delay: Record<string, unknown> = { p50: tenths(loop.p50), p99: tenths(loop.p99), max: tenths(loop.max) };
  // Where the scheduler counters can be read: the most CPU this thread used between two ticks (what it can have
  // blocked itself for), and how the longest delay split into running and waiting for a CPU (the machine's load).
  if (loop.ownCpuMax !== undefined) delay.own_cpu_max = tenths(loop.ownCpuMax);
  if (loop.longestInterval) delay.at_max = { running: tenths(loop.longestInterval.running), waiting_for_cpu: tenths(loop.longestInterval.waitingForCpu) };
  if (!snapshot) return { status, model, event_loop_delay_ms: delay };
  const cache = snapshot.kvCache;
  return {
    status,
    model,
    running: snapshot.running,
    waiting: snapshot.waiting,
    kv_cache: {
      block_size: cache.blockSize,
      total_blocks: cache.totalBlocks,
      used_blocks: cache.usedBlocks,
      free_blocks: cache.freeBlocks,
      cached_blocks: cache.cachedBlocks,
      used_bytes: cache.usedBytes,
      total_bytes: cache.totalBytes,
    },
    requests: { completed: snapshot.completed, cancelled: snapshot.cancelled, failed: snapshot.failed },
    event_loop_delay_ms: delay,
  };
}

/**
 * The OpenAI-compatible HTTP server: `POST /v1/completions` and `POST /v1/chat/completions` (JSON, or server-sent
 * events with `"stream": true`), `GET /v1/models`, `GET /health`. This thread only does HTTP; the model runs in a
 * {@link ModelHost} (a worker thread from the command line). A client that disconnects cancels its request; past the
 * scheduler's queue limit it answers 429; close() drains.
 *
 * @example
 * ```ts
 * import { loadTextModel } from "@infer-recipes/cli";
 * import { Scheduler } from "@infer-recipes/scheduler";
 * import { InferenceServer } from "@infer-recipes/server";
 *
 * const textModel = await loadTextModel("./model.gguf");
 * const cache = textModel.model.createPagedCache({ blockCount: 1025 }); // 16 384 positions over all requests
 * const scheduler = new Scheduler(textModel.model, cache, { maxBatchSize: 16, maxQueuedRequests: 64 });
 * const server = await InferenceServer.start({
 *   served: { id: "my-model", scheduler, tokenizer: textModel.tokenizer, chatTemplate: textModel.chatTemplate, stopTokenIds: textModel.stopTokenIds },
 *   port: 8000,
 * });
 * console.log(`listening on ${server.url}`);
 * process.once("SIGINT", () => void server.close({ graceMs: 5000 }));
 * ```
 */
export class InferenceServer {
  private readonly server: Server;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly log: (line: string) => void;
  private readonly maxBodyBytes: number;
  private readonly model: ModelHost;
  private readonly access: AccessPolicy;
  private readonly loopDelay = new EventLoopDelayMonitor();
  /** Generations being answered; close() waits for them. */
  private readonly open = new Set<Promise<void>>();
  private closing = false;

  private constructor(options: InferenceServerOptions) {
    const model = options.model ?? (options.served ? new LocalModelHost(options.served) : undefined);
    if (!model) throw new TypeError("InferenceServer: give a model host (model) or a served model (served)");
    this.model = model;
    this.log = options.log ?? (() => {});
    this.maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
    this.access = new AccessPolicy(options.access, options.host);
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  /** Starts listening; resolves once the port is bound, rejects with a ServerListenError saying why not. */
  static async start(options: InferenceServerOptions): Promise<InferenceServer> {
    const server = new InferenceServer(options);
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 8000;
    await new Promise<void>((resolve, reject) => {
      server.server.once("error", (error) => reject(listenError(error as NodeJS.ErrnoException, host, port)));
      server.server.listen(port, host, () => {
        server.server.removeAllListeners("error");
        server.server.on("error", (error) => server.log(`server error: ${error.message}`));
        server.loopDelay.start();
        resolve();
      });
    });
    return server;
  }

  /** The port bound (the one picked when 0 was asked). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The server's base URL, e.g. "http://127.0.0.1:8000". */
  get url(): string {
    const address = this.server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** How long this thread's event loop was held up since the server started (what /health reports). */
  eventLoopDelay(): EventLoopDelay {
    return this.loopDelay.read();
  }

  /** Requests being generated right now. */
  get openRequests(): number {
    return this.open.size;
  }

  /**
   * Stops accepting connections and new requests (503), lets open requests finish for `graceMs`, cancels the rest
   * (a streaming client gets a last error event, a waiting one a 503), closes every connection and the model host.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const graceMs = options.graceMs ?? 0;
    if (graceMs > 0 && this.open.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.open]), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    this.model.cancelAll();
    await Promise.allSettled([...this.open]);
    this.server.closeAllConnections();
    await closed;
    this.loopDelay.stop();
    await this.model.close();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const sendJson = (status: number, body: unknown) => {
      if (response.headersSent) return;
      const text = JSON.stringify(body);
      response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      response.end(text);
    };
    try {
      const path = new URL(request.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "") || "/";
      const route: Route | undefined = routes[path] ?? (path.startsWith("/v1/models/") ? { method: "GET", endpoint: "model" } : undefined);
      // /health stays open (load balancers poll it) and never waits on the model.
      if (route?.endpoint === "health" && request.method === "GET") {
        const info = this.model.info();
        const failure = this.model.failureReason?.();
        const status = failure ? "failed" : this.closing ? "stopping" : info ? "ok" : "loading";
        sendJson(status === "ok" ? 200 : 503, { ...healthBody(status, info?.id, this.model.health(), this.loopDelay.read()), ...(failure ? { error: failure } : {}) });
        return;
      }
      this.access.checkHost(request);
      for (const [name, value] of Object.entries(this.access.corsHeaders(request))) response.setHeader(name, value);
      if (request.method === "OPTIONS") {
        if (request.headers.origin !== undefined) for (const [name, value] of Object.entries(this.access.preflightHeaders())) response.setHeader(name, value);
        response.writeHead(204, { allow: "GET, POST, OPTIONS" });
        response.end();
        return;
      }
      this.access.checkApiKey(request);
      if (!route) throw new ApiError(404, `no route ${request.method} ${path}; this server has ${Object.keys(routes).join(", ")}`, null, "not_found_error", "unknown_url");
      if (request.method !== route.method) {
        response.setHeader("allow", route.method);
        throw new ApiError(405, `${path} takes ${route.method}, not ${request.method}`, null, "invalid_request_error", "method_not_allowed");
      }
      if (this.closing) throw shutdownError();
      const failure = this.model.failureReason?.();
      if (failure) throw new ApiError(503, `the model is not available: ${failure}`, null, "server_error", "model_unavailable");
      const info = this.model.info();
      if (!info) throw new ApiError(503, "the model is still loading; retry shortly (GET /health says when it is ready)", null, "server_error", "model_loading");
      switch (route.endpoint) {
        case "models":
          sendJson(200, { object: "list", data: [this.modelCard(info.id)] });
          return;
        case "model": {
          const id = decodeURIComponent(path.slice("/v1/models/".length));
          if (id !== info.id) throw new ApiError(404, `The model '${id}' does not exist`, "model", "not_found_error", "model_not_found");
          sendJson(200, this.modelCard(info.id));
          return;
        }
        default: {
          AccessPolicy.checkJsonBody(request);
          // Text within what the prompt limit allows; images (base64 in the body) within what the model accepts.
          const body = await this.readBody(request, Math.min(this.maxBodyBytes, maxRequestBodyBytes(info.limits)) + (info.imageBodyBytes ?? 0));
          const prepared = await this.model.prepare(route.endpoint as EndpointKind, body);
          if (response.destroyed) return; // the client left while its prompt was prepared
          const context: EndpointContext = { model: this.model, modelId: info.id, response, sendJson, log: this.log, closing: () => this.closing };
          const answered = handleGeneration(prepared, context);
          this.open.add(answered);
          try {
            await answered;
          } finally {
            this.open.delete(answered);
          }
        }
      }
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, `internal error: ${(error as Error)?.message ?? String(error)}`);
      if (!(error instanceof ApiError)) this.log(`error: ${(error as Error)?.stack ?? String(error)}`);
      else this.log(`${request.method} ${request.url}: ${apiError.status} ${apiError.message}`);
      if (response.headersSent) {
        // Mid-stream: report the error as a last event, then end the stream.
        if (!response.writableEnded && !response.destroyed) response.end(`data: ${JSON.stringify(apiError.body())}\n\ndata: [DONE]\n\n`);
        return;
      }
      if (apiError.status === 429) response.setHeader("retry-after", "1");
      if (apiError.status === 503) response.setHeader("retry-after", "5");
      if (apiError.status === 401) response.setHeader("www-authenticate", "Bearer");
      if (this.closing) response.setHeader("connection", "close");
      // Drain whatever is left of the body so the connection stays usable.
      request.resume();
      sendJson(apiError.status, apiError.body());
    }
  }

  private modelCard(id: string) {
    return { id, object: "model", created: this.created, owned_by: "infer-recipes" };
  }

  private readBody(request: IncomingMessage, limit: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const tooLarge = (size: string) =>
        new ApiError(413, `the request body${size} exceeds the limit of ${limit} bytes`, "body", "invalid_request_error", "request_too_large");
      const declared = Number(request.headers["content-length"]);
      if (declared > limit) {
        reject(tooLarge(` (${declared} bytes)`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      request.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          reject(tooLarge(""));
          request.removeAllListeners("data");
          chunks.length = 0;
          return;
        }
        chunks.push(chunk);
      });
      request.on("end", () => {
        const body = new Uint8Array(size);
        let offset = 0;
        for (const chunk of chunks) {
          body.set(chunk, offset);
          offset += chunk.length;
        }
        resolve(body);
      });
      request.on("error", reject);
    });
  }
}
