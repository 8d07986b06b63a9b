// An OpenAI-compatible HTTP server on node:http, so clients written for OpenAI, vLLM or SGLang work unchanged:
//   POST /v1/completions, POST /v1/chat/completions (JSON or SSE streaming), GET /v1/models, GET /health.
// Concurrent requests share the scheduler's batch. Errors are OpenAI-shaped bodies: 400 naming the field, 404 for an
// unknown route or model, 405 for a wrong method, 413 for a body over the limit, 429 past the queue limit, 500 for
// bugs — and the server keeps serving after every one of them.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { ApiError } from "./api-error.ts";
import { handleGeneration, type EndpointContext, type EndpointKind } from "./generation-endpoint.ts";
import { parseJsonBody } from "./request-parameters.ts";
import type { ServedModel } from "./served-model.ts";

export interface InferenceServerOptions {
  served: ServedModel;
  /** Default 127.0.0.1 (only this machine); "0.0.0.0" serves the network. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Largest request body accepted, in bytes (default 8 MiB). */
  maxBodyBytes?: number;
  /** One line per request and per error (default: none). */
  log?: (line: string) => void;
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

export class InferenceServer {
  private readonly server: Server;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly log: (line: string) => void;
  private readonly maxBodyBytes: number;

  private constructor(private readonly options: InferenceServerOptions) {
    this.log = options.log ?? (() => {});
    this.maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: InferenceServerOptions): Promise<InferenceServer> {
    const server = new InferenceServer(options);
    await new Promise<void>((resolve, reject) => {
      server.server.once("error", reject);
      server.server.listen(options.port ?? 8000, options.host ?? "127.0.0.1", () => {
        server.server.off("error", reject);
        resolve();
      });
    });
    return server;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Stops accepting connections, cancels every request and closes open connections. */
  async close(): Promise<void> {
    this.options.served.scheduler.cancelAll();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.options.served.scheduler.whenIdle();
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
      if (!route) throw new ApiError(404, `no route ${request.method} ${path}; this server has ${Object.keys(routes).join(", ")}`, null, "not_found_error", "unknown_url");
      if (request.method !== route.method) {
        response.setHeader("allow", route.method);
        throw new ApiError(405, `${path} takes ${route.method}, not ${request.method}`, null, "invalid_request_error", "method_not_allowed");
      }
      const { served } = this.options;
      switch (route.endpoint) {
        case "health": {
          const cache = served.scheduler.cache.usage();
          const stats = served.scheduler.stats();
          sendJson(200, {
            status: "ok",
            model: served.id,
            running: stats.running,
            waiting: stats.waiting,
            kv_cache: {
              block_size: cache.blockSize,
              total_blocks: cache.totalBlocks,
              used_blocks: cache.usedBlocks,
              free_blocks: cache.freeBlocks,
              cached_blocks: cache.cachedBlocks,
              used_bytes: cache.usedBytes,
              total_bytes: cache.totalBytes,
            },
          });
          return;
        }
        case "models":
          sendJson(200, { object: "list", data: [this.modelCard()] });
          return;
        case "model": {
          const id = decodeURIComponent(path.slice("/v1/models/".length));
          if (id !== served.id) throw new ApiError(404, `The model '${id}' does not exist`, "model", "not_found_error", "model_not_found");
          sendJson(200, this.modelCard());
          return;
        }
        default: {
          const body = parseJsonBody(await this.readBody(request));
          const context: EndpointContext = { served, request, response, sendJson, log: this.log };
          await handleGeneration(route.endpoint, body, context);
        }
      }
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, `internal error: ${(error as Error)?.message ?? String(error)}`);
      if (!(error instanceof ApiError)) this.log(`error: ${(error as Error)?.stack ?? String(error)}`);
      else this.log(`${request.method} ${request.url}: ${apiError.status} ${apiError.message}`);
      if (apiError.status === 429) response.setHeader("retry-after", "1");
      if (response.headersSent) {
        // Mid-stream: report the error as a last event, then end the stream.
        if (!response.writableEnded && !response.destroyed) response.end(`data: ${JSON.stringify(apiError.body())}\n\ndata: [DONE]\n\n`);
        return;
      }
      // Drain whatever is left of the body so the connection stays usable.
      request.resume();
      sendJson(apiError.status, apiError.body());
    }
  }

  private modelCard() {
    return { id: this.options.served.id, object: "model", created: this.created, owned_by: "infer-recipes" };
  }

  private readBody(request: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const declared = Number(request.headers["content-length"]);
      if (declared > this.maxBodyBytes) {
        reject(new ApiError(413, `the request body (${declared} bytes) exceeds the limit of ${this.maxBodyBytes} bytes`, "body", "invalid_request_error", "request_too_large"));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      request.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxBodyBytes) {
          reject(new ApiError(413, `the request body exceeds the limit of ${this.maxBodyBytes} bytes`, "body", "invalid_request_error", "request_too_large"));
          request.removeAllListeners("data");
          return;
        }
        chunks.push(chunk);
      });
      request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      request.on("error", reject);
    });
  }
}
