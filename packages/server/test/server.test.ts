// The server over real HTTP on 127.0.0.1 (port 0), serving a tiny random Llama with its GGUF-embedded tokenizer and
// chat template: completions and chat completions, streaming (SSE chunks, [DONE], usage) and not, concurrent requests
// sharing the batch, malformed requests answered 4xx with the field named while the server keeps serving, a client
// that disconnects mid-stream has its request cancelled and its blocks freed, and 429 once the queue is full.

import { request as httpRequest } from "node:http";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Scheduler } from "@infer-recipes/scheduler";

import type { InferenceServer } from "../src/index.ts";
import { events, send, startServer, tokenizer, waitFor } from "./helpers.ts";

describe("OpenAI-compatible endpoints", () => {
  let server: InferenceServer;
  let scheduler: Scheduler;
  let largestBatch = 0;
  beforeAll(async () => {
    ({ server, scheduler } = await startServer({ onStep: (report) => (largestBatch = Math.max(largestBatch, report.sequences)) }));
  });
  afterAll(() => server.close());

  it("reports health and the model", async () => {
    const health = await send(server, "GET", "/health");
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: "ok", model: "tiny-llama", running: 0, kv_cache: { block_size: 4, total_blocks: 63, used_blocks: 0 } });
    const models = await send(server, "GET", "/v1/models");
    expect(models.json).toMatchObject({ object: "list", data: [{ id: "tiny-llama", object: "model" }] });
    expect((await send(server, "GET", "/v1/models/tiny-llama")).status).toBe(200);
  });

  it("completes, streamed and not, with the same greedy text and usage counts", async () => {
    const request = { model: "tiny-llama", prompt: "ab ba", max_tokens: 10, temperature: 0 };
    const whole = await send(server, "POST", "/v1/completions", request);
    expect(whole.status).toBe(200);
    expect(whole.json).toMatchObject({ object: "text_completion", model: "tiny-llama", choices: [{ index: 0, logprobs: null }] });
    expect(whole.json.id).toMatch(/^cmpl-/);
    const { usage } = whole.json;
    expect(usage.prompt_tokens).toBe(tokenizer.encode("ab ba").length);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(["length", "stop"]).toContain(whole.json.choices[0].finish_reason);

    const streamed = await send(server, "POST", "/v1/completions", { ...request, stream: true, stream_options: { include_usage: true } });
    expect(streamed.status).toBe(200);
    expect(streamed.headers["content-type"]).toMatch(/text\/event-stream/);
    const { chunks, done } = events(streamed.text);
    expect(done).toBe(true);
    const text = chunks.filter((chunk) => chunk.choices.length > 0).map((chunk) => chunk.choices[0].text).join("");
    expect(text).toBe(whole.json.choices[0].text);
    expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe(whole.json.choices[0].finish_reason);
    expect(chunks[chunks.length - 1]).toMatchObject({ choices: [], usage: { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens } });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it("stops at any of several stop strings, not only the first (text never includes the stop)", async () => {
    // Two-character pieces of a greedy text at their first occurrence (none holding an undecodable byte's U+FFFD).
    const pieces = (text: string): Array<[string, number]> => {
      const found: Array<[string, number]> = [];
      for (let index = 1; index + 2 <= text.length; index++) {
        const piece = text.slice(index, index + 2);
        if (!piece.includes("\uFFFD") && text.indexOf(piece) === index) found.push([piece, index]);
      }
      expect(found.length, `stop candidates in ${JSON.stringify(text)}`).toBeGreaterThanOrEqual(2);
      return found;
    };
    const request = { prompt: "x y", max_tokens: 24, temperature: 0 };
    const free = (await send(server, "POST", "/v1/completions", request)).json.choices[0].text as string;
    const candidates = pieces(free);
    const [[early, earlyAt], [late]] = [candidates[Math.floor(candidates.length / 3)], candidates[candidates.length - 1]];
    // The stop that matches is not the first of the list; and of two that match, the earlier in the text wins.
    for (const stop of [["never-in-the-text", early], ["never", "in-the", late, early], [late, early]]) {
      const whole = await send(server, "POST", "/v1/completions", { ...request, stop });
      expect(whole.json.choices[0], JSON.stringify(stop)).toMatchObject({ text: free.slice(0, earlyAt), finish_reason: "stop" });
      const streamed = events((await send(server, "POST", "/v1/completions", { ...request, stop, stream: true })).text);
      expect(streamed.chunks.map((chunk) => chunk.choices[0].text ?? "").join(""), JSON.stringify(stop)).toBe(free.slice(0, earlyAt));
      expect(streamed.chunks[streamed.chunks.length - 1].choices[0].finish_reason).toBe("stop");
    }
    const chat = { messages: [{ role: "user", content: "x y" }], max_tokens: 24, temperature: 0 };
    const chatFree = (await send(server, "POST", "/v1/chat/completions", chat)).json.choices[0].message.content as string;
    const [chatStop, chatStopAt] = pieces(chatFree).at(-1)!;
    const chatStopped = await send(server, "POST", "/v1/chat/completions", { ...chat, stop: ["never-in-the-text", chatStop] });
    expect(chatStopped.json.choices[0]).toMatchObject({ message: { content: chatFree.slice(0, chatStopAt) }, finish_reason: "stop" });
  });

  it("accepts token ids as the prompt", async () => {
    const response = await send(server, "POST", "/v1/completions", { prompt: [1, 40, 41], max_tokens: 3, temperature: 0 });
    expect(response.status).toBe(200);
    expect(response.json.usage.prompt_tokens).toBe(3);
  });

  it("chats through the chat template, streamed and not", async () => {
    const request = { messages: [{ role: "user", content: "hi there" }], max_tokens: 6, temperature: 0, seed: 1 };
    const whole = await send(server, "POST", "/v1/chat/completions", request);
    expect(whole.status).toBe(200);
    expect(whole.json).toMatchObject({ object: "chat.completion", choices: [{ index: 0, message: { role: "assistant" } }] });
    expect(whole.json.usage.prompt_tokens).toBeGreaterThan(tokenizer.encode("hi there").length); // the template's [INST] … [/INST]
    const streamed = events((await send(server, "POST", "/v1/chat/completions", { ...request, stream: true })).text);
    expect(streamed.done).toBe(true);
    expect(streamed.chunks[0]).toMatchObject({ object: "chat.completion.chunk", choices: [{ delta: { role: "assistant", content: "" } }] });
    const text = streamed.chunks.map((chunk) => chunk.choices[0].delta.content ?? "").join("");
    expect(text).toBe(whole.json.choices[0].message.content);
    expect(streamed.chunks[streamed.chunks.length - 1].choices[0].finish_reason).toBe(whole.json.choices[0].finish_reason);
  });

  it("serves concurrent requests in one batch, each with its own greedy result", async () => {
    const prompts = ["a", "ab", "ba ab", "b", "aab", "bba"];
    const alone = [];
    for (const prompt of prompts) alone.push((await send(server, "POST", "/v1/completions", { prompt, max_tokens: 8, temperature: 0 })).json.choices[0].text);
    largestBatch = 0;
    const together = await Promise.all(prompts.map((prompt) => send(server, "POST", "/v1/completions", { prompt, max_tokens: 8, temperature: 0, stream: prompt.length % 2 === 0 })));
    const texts = together.map((response, index) =>
      prompts[index].length % 2 === 0 ? events(response.text).chunks.map((chunk) => chunk.choices[0]?.text ?? "").join("") : response.json.choices[0].text,
    );
    expect(texts).toEqual(alone);
    expect(largestBatch).toBeGreaterThan(1);
  });

  it("answers malformed requests with 4xx naming the field, and keeps serving", async () => {
    const cases: Array<[string, string, unknown, number, string | null, RegExp]> = [
      ["POST", "/v1/completions", "{not json", 400, "body", /not valid JSON/],
      ["POST", "/v1/completions", [1, 2], 400, "body", /must be a JSON object, got an array/],
      ["POST", "/v1/completions", { max_tokens: 4 }, 400, "prompt", /'prompt' is required/],
      ["POST", "/v1/completions", { prompt: "a", temperature: "hot" }, 400, "temperature", /'temperature' must be a number in \[0, 2\], got "hot"/],
      ["POST", "/v1/completions", { prompt: "a", max_tokens: 0 }, 400, "max_tokens", /'max_tokens' must be an integer ≥ 1/],
      ["POST", "/v1/completions", { prompt: "a", n: 2 }, 400, "n", /not supported/],
      ["POST", "/v1/completions", { prompt: "a", stop: [1] }, 400, "stop", /'stop' must be a string or an array of strings/],
      ["POST", "/v1/completions", { prompt: [1, 999] }, 400, "prompt", /promptIds\[1\] = 999 is not a token id in 0..351/],
      ["POST", "/v1/completions", { prompt: "a", max_tokens: 500 }, 400, "max_tokens", /exceeds the model's context of 96 tokens/],
      ["POST", "/v1/completions", { prompt: "ab ".repeat(60) }, 400, "prompt", /but the model's context is 96 tokens/],
      ["POST", "/v1/completions", { prompt: "a", model: "gpt-4" }, 404, "model", /The model 'gpt-4' does not exist/],
      ["POST", "/v1/chat/completions", { messages: [] }, 400, "messages", /non-empty array/],
      ["POST", "/v1/chat/completions", { messages: [{ role: "wizard", content: "x" }] }, 400, "messages[0].role", /'role' must be one of/],
      ["POST", "/v1/chat/completions", { messages: [{ role: "user", content: [{ type: "input_audio" }] }] }, 400, "messages[0].content[0]", /only text and image_url content parts/],
      ["POST", "/v1/chat/completions", { messages: [{ role: "user", content: [{ type: "image_url" }] }] }, 400, "messages[0].content[0].image_url", /'image_url' must be \{"url"/],
      ["POST", "/v1/chat/completions", { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] }] }, 400, "messages[0].content[0]", /the model 'tiny-llama' takes no images/],
      ["GET", "/v1/completions", undefined, 405, null, /takes POST, not GET/],
      ["GET", "/v2/nothing", undefined, 404, null, /no route GET \/v2\/nothing/],
    ];
    for (const [method, route, body, status, param, message] of cases) {
      const response = await send(server, method, route, body);
      expect(response.status, `${method} ${route} ${JSON.stringify(body)}`).toBe(status);
      expect(response.json.error.param).toBe(param);
      expect(response.json.error.message).toMatch(message);
      expect(typeof response.json.error.type).toBe("string");
    }
    const context = await send(server, "POST", "/v1/completions", { prompt: "ab ".repeat(60) });
    expect(context.json.error.code).toBe("context_length_exceeded");
    const after = await send(server, "POST", "/v1/completions", { prompt: "a", max_tokens: 2 });
    expect(after.status).toBe(200);
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });
});

describe("load and disconnects", () => {
  it("cancels the request of a client that disconnects and frees its blocks", async () => {
    const { server, scheduler } = await startServer({}, 3);
    try {
      await new Promise<void>((resolve, reject) => {
        const request = httpRequest(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (response) => {
          response.once("data", () => {
            request.destroy(); // hang up after the first chunk
            resolve();
          });
        });
        request.on("error", () => {});
        request.end(JSON.stringify({ prompt: "ab ab", max_tokens: 80, temperature: 0, stream: true }));
        setTimeout(() => reject(new Error("no first chunk")), 5000);
      });
      await waitFor(async () => {
        const health = (await send(server, "GET", "/health")).json;
        return health.running === 0 && health.kv_cache.used_blocks === 0;
      }, "the disconnected request's blocks to be freed");
      expect(scheduler.stats().cancelled).toBe(1);
      expect(scheduler.stats().generatedTokens).toBeLessThan(80);
      // Non-streaming too: the client gives up before the answer.
      await new Promise<void>((resolve) => {
        const request = httpRequest(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" } });
        request.on("error", () => resolve());
        request.end(JSON.stringify({ prompt: "ab", max_tokens: 80, temperature: 0 }));
        setTimeout(() => request.destroy(), 60);
      });
      await waitFor(async () => scheduler.stats().cancelled === 2 && scheduler.cache.pool.usedBlocks === 0, "the second request to be cancelled");
      expect((await send(server, "POST", "/v1/completions", { prompt: "a", max_tokens: 2 })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("answers 429 once the queue is full, then serves again", async () => {
    const { server, scheduler } = await startServer({ maxBatchSize: 1, maxQueuedRequests: 1 }, 3);
    try {
      const running = send(server, "POST", "/v1/completions", { prompt: "ab", max_tokens: 40, temperature: 0 });
      await waitFor(async () => scheduler.runningCount === 1, "the first request to run");
      const queued = send(server, "POST", "/v1/completions", { prompt: "ba", max_tokens: 2, temperature: 0 });
      await waitFor(async () => scheduler.waitingCount === 1, "the second request to queue");
      const refused = await send(server, "POST", "/v1/completions", { prompt: "b", max_tokens: 2 });
      expect(refused.status).toBe(429);
      expect(refused.headers["retry-after"]).toBe("1");
      expect(refused.json.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
      expect(refused.json.error.message).toMatch(/queue is full \(1 requests waiting\)/);
      expect((await running).status).toBe(200);
      expect((await queued).status).toBe(200);
      expect((await send(server, "POST", "/v1/completions", { prompt: "b", max_tokens: 2 })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
