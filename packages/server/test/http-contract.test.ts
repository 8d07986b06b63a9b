// The HTTP layer (server.ts, generation-endpoint.ts) against a scripted model host, so every answer is exact: the
// JSON and SSE shapes of both endpoints (ids, chunks, finish reasons, usage with cached tokens), /health in each state
// of the host, routes, methods and their Allow headers, the body limit with and without a declared length, the
// answers to a host that refuses, fails, is loading or has stopped, cancellation by shutdown, and the log lines.

import { request as httpRequest } from "node:http";

import { afterEach, describe, expect, it } from "vitest";

import {
  ApiError,
  InferenceServer,
  type EndpointKind,
  type GenerationOutcome,
  type GenerationStream,
  type HealthSnapshot,
  type ModelHost,
  type ModelInfo,
  type PreparedRequest,
} from "../src/index.ts";
import { events, send } from "./helpers.ts";

interface Script {
  /** Text pieces streamed, in order. */
  pieces?: string[];
  outcome?: Partial<GenerationOutcome>;
  /** generate rejects with this (before accepting). */
  refuse?: unknown;
  /** generate waits for this before finishing (to act while it runs). */
  until?: Promise<void>;
}

const info: ModelInfo = { id: "scripted", contextLength: 64, limits: { maxPromptTokens: 63, longestTokenCharacters: 4 }, hasChatTemplate: true };

const health: HealthSnapshot = {
  running: 1,
  waiting: 2,
  kvCache: { blockSize: 16, totalBlocks: 100, usedBlocks: 10, freeBlocks: 90, cachedBlocks: 5, usedBytes: 1000, totalBytes: 10000 },
  completed: 3,
  cancelled: 4,
  failed: 5,
};

/** A model host that answers from a script: prepare reads `stream` and `stream_options` from the JSON body. */
class ScriptedHost implements ModelHost {
  script: Script = {};
  loaded: ModelInfo | undefined = info;
  failure: string | undefined;
  prepareError: unknown;
  readonly bodies: string[] = [];
  readonly generated: Array<{ id: string; request: PreparedRequest }> = [];
  cancelled = 0;
  closed = false;

  info(): ModelInfo | undefined {
    return this.loaded;
  }
  failureReason(): string | undefined {
    return this.failure;
  }
  health(): HealthSnapshot | undefined {
    return this.loaded ? health : undefined;
  }
  async prepare(kind: EndpointKind, body: Uint8Array): Promise<PreparedRequest> {
    if (this.prepareError) throw this.prepareError;
    const text = Buffer.from(body).toString("utf8");
    this.bodies.push(text);
    const json = JSON.parse(text);
    return { kind, parameters: { stop: [], stream: json.stream === true, includeUsage: json.stream_options?.include_usage === true }, promptIds: [1, 2, 3] };
  }
  async generate(id: string, request: PreparedRequest, stream: GenerationStream): Promise<GenerationOutcome> {
    this.generated.push({ id, request });
    if (this.script.refuse) throw this.script.refuse;
    stream.onAccepted?.();
    for (const piece of this.script.pieces ?? []) stream.onText?.(piece);
    let cancelled = false;
    await Promise.race([this.script.until, new Promise<void>((resolve) => stream.signal.addEventListener("abort", () => ((cancelled = true), resolve())))].filter(Boolean));
    const text = (this.script.pieces ?? []).join("");
    return {
      text,
      completionTokens: 7,
      finishReason: cancelled ? "cancelled" : "length",
      promptTokens: 3,
      cachedPromptTokens: 2,
      timeToFirstTokenMs: 12.4,
      totalMs: 56.6,
      ...this.script.outcome,
    };
  }
  cancelAll(): void {
    this.cancelled++;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

let server: InferenceServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(host = new ScriptedHost(), options: { maxBodyBytes?: number; log?: (line: string) => void } = {}): Promise<{ host: ScriptedHost; server: InferenceServer }> {
  server = await InferenceServer.start({ model: host, port: 0, ...options });
  return { host, server };
}

describe("generation answers", () => {
  it("a completion: one JSON object with the text, finish reason and usage (cached tokens included)", async () => {
    const { host, server } = await start();
    host.script = { pieces: ["hel", "lo"], until: Promise.resolve() };
    const response = await send(server, "POST", "/v1/completions", { prompt: "x" });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json");
    expect(Number(response.headers["content-length"])).toBe(Buffer.byteLength(response.text));
    const { id, created, ...rest } = response.json;
    expect(id).toMatch(/^cmpl-[0-9a-f-]{36}$/);
    expect(Math.abs(created - Date.now() / 1000)).toBeLessThan(60);
    expect(rest).toEqual({
      object: "text_completion",
      model: "scripted",
      choices: [{ index: 0, text: "hello", logprobs: null, finish_reason: "length" }],
      usage: { prompt_tokens: 3, completion_tokens: 7, total_tokens: 10, prompt_tokens_details: { cached_tokens: 2 } },
    });
    expect(host.generated[0].id).toBe(id);
    expect(host.bodies).toEqual(['{"prompt":"x"}']);
  });

  it("a chat: the message with the assistant role; stop and stop_token both read as 'stop'", async () => {
    const { host, server } = await start();
    for (const reason of ["stop", "length"] as const) {
      host.script = { pieces: ["hi"], until: Promise.resolve(), outcome: { finishReason: reason } };
      const response = await send(server, "POST", "/v1/chat/completions", { messages: [] });
      expect(response.json.id).toMatch(/^chatcmpl-/);
      expect(response.json).toMatchObject({
        object: "chat.completion",
        model: "scripted",
        choices: [{ index: 0, message: { role: "assistant", content: "hi" }, logprobs: null, finish_reason: reason }],
      });
    }
  });

  it("a streamed completion: a chunk per piece, the finish chunk, [DONE]; usage only when asked", async () => {
    const { host, server } = await start();
    host.script = { pieces: ["a", "b"], until: Promise.resolve() };
    const plain = await send(server, "POST", "/v1/completions", { prompt: "x", stream: true });
    expect(plain.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(plain.headers["cache-control"]).toBe("no-cache");
    const { chunks, done } = events(plain.text);
    expect(done).toBe(true);
    const [first] = chunks;
    expect(first.id).toMatch(/^cmpl-/);
    for (const chunk of chunks) expect(chunk).toMatchObject({ id: first.id, object: "text_completion", created: first.created, model: "scripted" });
    expect(chunks.map((chunk) => chunk.choices)).toEqual([
      [{ index: 0, text: "a", logprobs: null, finish_reason: null }],
      [{ index: 0, text: "b", logprobs: null, finish_reason: null }],
      [{ index: 0, text: "", logprobs: null, finish_reason: "length" }],
    ]);
    expect(chunks.some((chunk) => "usage" in chunk)).toBe(false);
    expect(plain.text.endsWith("data: [DONE]\n\n")).toBe(true);

    const withUsage = events((await send(server, "POST", "/v1/completions", { prompt: "x", stream: true, stream_options: { include_usage: true } })).text);
    expect(withUsage.chunks.at(-1)).toMatchObject({ object: "text_completion", choices: [], usage: { prompt_tokens: 3, completion_tokens: 7, total_tokens: 10, prompt_tokens_details: { cached_tokens: 2 } } });
    expect(withUsage.chunks).toHaveLength(4);
  });

  it("a streamed chat: the opening delta with the role, content deltas, an empty finishing delta", async () => {
    const { host, server } = await start();
    host.script = { pieces: ["x", "y"], until: Promise.resolve(), outcome: { finishReason: "stop" } };
    const { chunks, done } = events((await send(server, "POST", "/v1/chat/completions", { messages: [], stream: true })).text);
    expect(done).toBe(true);
    for (const chunk of chunks) expect(chunk.object).toBe("chat.completion.chunk");
    expect(chunks.map((chunk) => chunk.choices)).toEqual([
      [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: { content: "x" }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: { content: "y" }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }],
    ]);
  });

  it("a refusal of the host is a plain JSON error even for a streamed request", async () => {
    const { host, server } = await start();
    host.script = { refuse: new ApiError(429, "the request queue is full", null, "rate_limit_error", "rate_limit_exceeded") };
    const response = await send(server, "POST", "/v1/completions", { prompt: "x", stream: true });
    expect(response.status).toBe(429);
    expect(response.headers["retry-after"]).toBe("1");
    expect(response.headers["content-type"]).toBe("application/json");
    expect(response.json).toEqual({ error: { message: "the request queue is full", type: "rate_limit_error", param: null, code: "rate_limit_exceeded" } });
  });

  it("a bug is a 500 naming it, logged with its stack, and the server keeps serving", async () => {
    const lines: string[] = [];
    const { host, server } = await start(new ScriptedHost(), { log: (line) => lines.push(line) });
    host.script = { refuse: new TypeError("something broke") };
    const response = await send(server, "POST", "/v1/completions", { prompt: "x" });
    expect(response.status).toBe(500);
    expect(response.json.error).toEqual({ message: "internal error: something broke", type: "server_error", param: null, code: null });
    expect(lines.at(-1)).toMatch(/^error: TypeError: something broke\n\s+at /);
    host.prepareError = "a string thrown";
    expect((await send(server, "POST", "/v1/completions", { prompt: "x" })).json.error.message).toBe("internal error: a string thrown");
    host.prepareError = undefined;
    host.script = { until: Promise.resolve() };
    expect((await send(server, "POST", "/v1/completions", { prompt: "x" })).status).toBe(200);
  });

  it("logs each generation and each refusal in one line", async () => {
    const lines: string[] = [];
    const { host, server } = await start(new ScriptedHost(), { log: (line) => lines.push(line) });
    host.script = { until: Promise.resolve() };
    const ok = await send(server, "POST", "/v1/chat/completions", { messages: [] });
    expect(lines).toEqual([`chat ${ok.json.id}: 3 prompt tokens (2 cached), 7 generated, length, first token 12 ms, total 57 ms`]);
    await send(server, "GET", "/v1/nothing");
    expect(lines[1]).toBe("GET /v1/nothing: 404 no route GET /v1/nothing; this server has /v1/completions, /v1/chat/completions, /v1/models, /health");
  });
});

describe("routes", () => {
  it("answer unknown routes 404 and wrong methods 405 with the Allow header", async () => {
    const { server } = await start();
    const unknown = await send(server, "POST", "/v2/completions", { prompt: "x" });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toEqual({
      message: "no route POST /v2/completions; this server has /v1/completions, /v1/chat/completions, /v1/models, /health",
      type: "not_found_error",
      param: null,
      code: "unknown_url",
    });
    const wrong = await send(server, "POST", "/v1/models", { x: 1 });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe("GET");
    expect(wrong.json.error).toEqual({ message: "/v1/models takes GET, not POST", type: "invalid_request_error", param: null, code: "method_not_allowed" });
    const get = await send(server, "GET", "/v1/chat/completions");
    expect(get.headers.allow).toBe("POST");
    expect(get.json.error.message).toBe("/v1/chat/completions takes POST, not GET");
    expect((await send(server, "POST", "/health", {})).status).toBe(405);
  });

  it("ignore trailing slashes and query strings", async () => {
    const { server } = await start();
    expect((await send(server, "GET", "/v1/models/")).status).toBe(200);
    expect((await send(server, "GET", "/v1/models?limit=1")).status).toBe(200);
    expect((await send(server, "GET", "/health//")).status).toBe(200);
    expect((await send(server, "GET", "/")).json.error.message).toMatch(/^no route GET \/;/);
  });

  it("list the model, and answer it by name (URL-decoded) or 404", async () => {
    const { server } = await start();
    const list = await send(server, "GET", "/v1/models");
    expect(list.json).toEqual({ object: "list", data: [{ id: "scripted", object: "model", created: expect.any(Number), owned_by: "infer-recipes" }] });
    const card = await send(server, "GET", "/v1/models/scrip%74ed");
    expect(card.json).toEqual(list.json.data[0]);
    const other = await send(server, "GET", "/v1/models/gpt-4");
    expect(other.status).toBe(404);
    expect(other.json.error).toEqual({ message: "The model 'gpt-4' does not exist", type: "not_found_error", param: "model", code: "model_not_found" });
  });

  it("answer OPTIONS without an Origin with 204 and the methods, without CORS headers", async () => {
    const { server } = await start();
    const response = await send(server, "OPTIONS", "/v1/completions");
    expect(response.status).toBe(204);
    expect(response.headers.allow).toBe("GET, POST, OPTIONS");
    expect(response.headers["access-control-allow-methods"]).toBeUndefined();
  });
});

describe("/health", () => {
  it("reports the host's counters and the event-loop delay while serving", async () => {
    const { server } = await start();
    const response = await send(server, "GET", "/health");
    expect(response.status).toBe(200);
    const { event_loop_delay_ms: delay, ...rest } = response.json;
    expect(rest).toEqual({
      status: "ok",
      model: "scripted",
      running: 1,
      waiting: 2,
      kv_cache: { block_size: 16, total_blocks: 100, used_blocks: 10, free_blocks: 90, cached_blocks: 5, used_bytes: 1000, total_bytes: 10000 },
      requests: { completed: 3, cancelled: 4, failed: 5 },
    });
    for (const field of ["p50", "p99", "max"]) {
      expect(delay[field]).toBeGreaterThanOrEqual(0);
      expect(Math.round(delay[field] * 10)).toBeCloseTo(delay[field] * 10, 6); // tenths of a millisecond
    }
    if (process.platform === "linux") expect(delay.own_cpu_max).toBeGreaterThanOrEqual(0);
  });

  it("says loading (503) before the model is there, and the /v1 routes say so too", async () => {
    const host = new ScriptedHost();
    host.loaded = undefined;
    const { server } = await start(host);
    const response = await send(server, "GET", "/health");
    expect(response.status).toBe(503);
    expect(response.json).toMatchObject({ status: "loading" });
    expect(response.json.model).toBeUndefined();
    expect(response.json.kv_cache).toBeUndefined();
    const models = await send(server, "GET", "/v1/models");
    expect(models.status).toBe(503);
    expect(models.headers["retry-after"]).toBe("5");
    expect(models.json.error).toEqual({ message: "the model is still loading; retry shortly (GET /health says when it is ready)", type: "server_error", param: null, code: "model_loading" });
  });

  it("says failed (503) with the reason once the host has stopped, and the /v1 routes refuse", async () => {
    const host = new ScriptedHost();
    host.failure = "the model worker exited (code 3)";
    const { server } = await start(host);
    const response = await send(server, "GET", "/health");
    expect(response.status).toBe(503);
    expect(response.json).toMatchObject({ status: "failed", model: "scripted", error: "the model worker exited (code 3)" });
    const refused = await send(server, "POST", "/v1/completions", { prompt: "x" });
    expect(refused.status).toBe(503);
    expect(refused.json.error).toEqual({ message: "the model is not available: the model worker exited (code 3)", type: "server_error", param: null, code: "model_unavailable" });
  });
});

/** POSTs `body` in chunks without a content-length (chunked transfer encoding). */
function sendChunked(server: InferenceServer, route: string, pieces: string[]): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${server.url}${route}`, { method: "POST", headers: { "content-type": "application/json" } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) }));
    });
    request.on("error", reject);
    for (const piece of pieces) request.write(piece);
    request.end();
  });
}

describe("the body limit", () => {
  it("is the smaller of maxBodyBytes and what the prompt limit allows; exactly the limit passes", async () => {
    const { host, server } = await start(new ScriptedHost(), { maxBodyBytes: 100 });
    host.script = { until: Promise.resolve() };
    const body = (size: number) => JSON.stringify({ prompt: "x".repeat(size - 13) }); // '{"prompt":""}' is 13 bytes
    expect(body(100)).toHaveLength(100);
    expect((await send(server, "POST", "/v1/completions", body(100))).status).toBe(200);
    const declared = await send(server, "POST", "/v1/completions", body(101));
    expect(declared.status).toBe(413);
    expect(declared.json.error).toEqual({ message: "the request body (101 bytes) exceeds the limit of 100 bytes", type: "invalid_request_error", param: "body", code: "request_too_large" });
    const chunked = await sendChunked(server, "/v1/completions", ['{"prompt": "', "x".repeat(60), "x".repeat(60), '"}']);
    expect(chunked.status).toBe(413);
    expect(chunked.json.error.message).toBe("the request body exceeds the limit of 100 bytes");
    const small = await sendChunked(server, "/v1/completions", ['{"prompt": ', '"x"}']);
    expect(small.status).toBe(200);
    expect(host.bodies.at(-1)).toBe('{"prompt": "x"}');
  });

  it("grows by the bytes of images the model accepts", async () => {
    const host = new ScriptedHost();
    host.loaded = { ...info, limits: { maxPromptTokens: 1, longestTokenCharacters: 1 }, imageBodyBytes: 10 };
    const { server } = await start(host, { maxBodyBytes: 20 });
    host.script = { until: Promise.resolve() };
    expect((await send(server, "POST", "/v1/completions", JSON.stringify({ prompt: "x".repeat(17) }))).status).toBe(200); // 30 bytes
    expect((await send(server, "POST", "/v1/completions", JSON.stringify({ prompt: "x".repeat(18) }))).json.error.message).toBe("the request body (31 bytes) exceeds the limit of 30 bytes");
  });
});

describe("shutdown", () => {
  it("refuses new requests with 503 and closes kept-alive connections; cancels open ones as shutdown", async () => {
    const host = new ScriptedHost();
    const { server } = await start(host);
    let release!: () => void;
    host.script = { until: new Promise<void>((resolve) => (release = resolve)), outcome: { finishReason: "cancelled" } };
    const open = send(server, "POST", "/v1/completions", { prompt: "x" });
    await new Promise<void>((resolve) => {
      const poll = () => (server.openRequests === 1 ? resolve() : setTimeout(poll, 5));
      poll();
    });
    const closing = server.close();
    release();
    const answer = await open;
    expect(answer.status).toBe(503);
    expect(answer.headers.connection).toBe("close");
    expect(answer.json.error).toEqual({ message: "the server is shutting down; retry on another instance", type: "server_error", param: null, code: "server_shutting_down" });
    await closing;
    expect(host.cancelled).toBe(1);
    expect(host.closed).toBe(true);
    expect(server.openRequests).toBe(0);
  });

  it("drops the connection of a request cancelled while the server runs (its client left)", async () => {
    const host = new ScriptedHost();
    const { server } = await start(host);
    host.script = { until: Promise.resolve(), outcome: { finishReason: "cancelled" } };
    await expect(send(server, "POST", "/v1/completions", { prompt: "x" })).rejects.toThrow(/socket hang up/);
    host.script = { until: Promise.resolve() };
    expect((await send(server, "POST", "/v1/completions", { prompt: "x" })).status).toBe(200);
  });
});

describe("the server object", () => {
  it("needs a model host", async () => {
    await expect(InferenceServer.start({ port: 0 })).rejects.toThrow(new TypeError("InferenceServer: give a model host (model) or a served model (served)"));
  });

  it("reports its port and URL, IPv6 in brackets", async () => {
    const { server } = await start();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    await server.close();
    const v6 = await InferenceServer.start({ model: new ScriptedHost(), port: 0, host: "::1" }).catch(() => undefined);
    if (v6) {
      try {
        expect(v6.url).toBe(`http://[::1]:${v6.port}`);
      } finally {
        await v6.close();
      }
    }
  });
});
