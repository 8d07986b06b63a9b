// Stopping the server (close with a grace period, what SIGTERM does): no new requests are taken (503), open streams
// finish within the grace period, those that do not are cancelled with a last error event, and the KV cache is
// empty afterwards. Also the start-up failures a user can fix (port in use, an address that is not this machine's).

import { createServer } from "node:net";
import { request as httpRequest } from "node:http";

import { describe, expect, it } from "vitest";

import { InferenceServer, ServerListenError } from "../src/index.ts";
import { events, send, startServer } from "./helpers.ts";

/** Starts a streaming completion; resolves with its SSE body once the server ends it. */
function stream(server: InferenceServer, maxTokens: number): { firstChunk: Promise<void>; body: Promise<string> } {
  let gotFirst!: () => void;
  const firstChunk = new Promise<void>((resolve) => (gotFirst = resolve));
  const body = new Promise<string>((resolve, reject) => {
    const request = httpRequest(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        gotFirst();
      });
      response.on("end", () => resolve(text));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(JSON.stringify({ prompt: "ab", max_tokens: maxTokens, temperature: 0, stream: true }));
  });
  return { firstChunk, body };
}

describe("close with a grace period", () => {
  it("lets open streams finish, refuses new requests meanwhile, and frees every block", async () => {
    const { server, scheduler } = await startServer({}, 5);
    const open = stream(server, 20);
    await open.firstChunk;
    const closing = server.close({ graceMs: 30_000 });
    // A new request is refused: the port no longer accepts, and a kept-alive connection gets 503.
    const late = await send(server, "POST", "/v1/completions", { prompt: "a", max_tokens: 2 }).then(
      (response) => response,
      () => "connection refused",
    );
    if (typeof late !== "string") expect(late.json.error).toMatchObject({ code: "server_shutting_down" });
    const { chunks, done } = events(await open.body);
    expect(done).toBe(true);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("length");
    expect(chunks.filter((chunk) => chunk.choices[0]?.text !== undefined).length).toBeGreaterThan(1);
    await closing;
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
    await expect(send(server, "GET", "/health")).rejects.toThrow(); // no longer listening
  });

  it("cancels what outlasts the grace period with a last error event", async () => {
    const { server, scheduler } = await startServer({}, 20);
    const open = stream(server, 90);
    await open.firstChunk;
    const closing = server.close({ graceMs: 200 });
    const started = performance.now();
    const body = await open.body;
    expect(performance.now() - started).toBeLessThan(5_000);
    const { chunks, done } = events(body);
    expect(done).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ error: { code: "server_shutting_down", type: "server_error" } });
    await closing;
    expect(scheduler.stats().cancelled).toBe(1);
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });
});

describe("start-up failures", () => {
  it("says when the port is in use and when the address is not this machine's", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", () => resolve()));
    const port = (holder.address() as { port: number }).port;
    try {
      const { server } = await startServer();
      await server.close();
      const taken = await startServer({}, 0, 64, { port }).catch((error: unknown) => error);
      expect(taken).toBeInstanceOf(ServerListenError);
      expect(taken).toMatchObject({ code: "EADDRINUSE", host: "127.0.0.1", port });
      expect((taken as Error).message).toMatch(/already in use/);
    } finally {
      holder.close();
    }
    const notMine = await startServer({}, 0, 64, { host: "999.1.1.1" }).catch((error: unknown) => error);
    expect(notMine).toBeInstanceOf(ServerListenError);
    expect((notMine as ServerListenError).problem).toMatch(/neither an IP address nor a name this machine resolves/);
  });
});
