// Requests that could never run are refused before any expensive work: a prompt with more characters than the
// model's prompt limit can hold (limit × its longest token), more messages than tokens, a body larger than any
// request that fits; and numbers JSON cannot hold are named as such.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Scheduler } from "@infer-recipes/scheduler";

import { maxPromptCharacters, maxRequestBodyBytes, promptLimits, type InferenceServer } from "../src/index.ts";
import { send, startServer, tokenizer } from "./helpers.ts";

describe("request bounds", () => {
  let server: InferenceServer;
  let scheduler: Scheduler;
  beforeAll(async () => {
    ({ server, scheduler } = await startServer());
  });
  afterAll(() => server.close());
  // 63 blocks of 4 positions; the context (96) is the tighter limit: 95 prompt tokens.
  const limits = promptLimits(tokenizer, 95);

  it("derives the limits from the vocabulary and the context", () => {
    expect(limits.longestTokenCharacters).toBe(Math.max(...Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.idToToken(id)?.length ?? 0)));
    expect(maxPromptCharacters(limits)).toBe(95 * limits.longestTokenCharacters);
  });

  it("refuses a prompt longer than the limit can hold without tokenizing it", async () => {
    const prompt = "hello there friend ".repeat(Math.ceil(maxPromptCharacters(limits) / 19) + 1);
    const refused = await send(server, "POST", "/v1/completions", { prompt });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatchObject({ param: "prompt", code: "context_length_exceeded" });
    expect(refused.json.error.message).toBe(
      `'prompt' has ${prompt.length} characters, more than fits this model's prompt limit of 95 tokens ` +
        `(at most ${maxPromptCharacters(limits)} characters: 95 tokens × ${limits.longestTokenCharacters}, its longest token)`,
    );
    const ids = await send(server, "POST", "/v1/completions", { prompt: Array.from({ length: 96 }, () => 5) });
    expect(ids.json.error.message).toMatch(/'prompt' has 96 token ids, more than fits/);
  });

  it("refuses more messages than the limit has tokens, and more characters of content than it can hold", async () => {
    const many = await send(server, "POST", "/v1/chat/completions", { messages: Array.from({ length: 96 }, () => ({ role: "user", content: "" })) });
    expect(many.status).toBe(400);
    expect(many.json.error).toMatchObject({ param: "messages", code: "context_length_exceeded" });
    expect(many.json.error.message).toMatch(/'messages' has 96 messages \(each costs at least one token\)/);
    const text = "x".repeat(Math.ceil(maxPromptCharacters(limits) / 2) + 1);
    const long = await send(server, "POST", "/v1/chat/completions", { messages: [{ role: "user", content: text }, { role: "assistant", content: [{ type: "text", text }] }] });
    expect(long.json.error.message).toMatch(/'messages' hold \d+ characters of content, more than fits/);
  });

  it("refuses a body larger than any request that fits with 413, before reading it", async () => {
    const limit = maxRequestBodyBytes(limits);
    const refused = await send(server, "POST", "/v1/completions", JSON.stringify({ prompt: "a".repeat(limit) }));
    expect(refused.status).toBe(413);
    expect(refused.json.error.message).toMatch(new RegExp(`exceeds the limit of ${limit} bytes`));
    expect((await send(server, "POST", "/v1/completions", { prompt: "ab", max_tokens: 2 })).status).toBe(200);
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });

  it("names numbers too large for a double instead of reporting null", async () => {
    const refused = await send(server, "POST", "/v1/completions", '{"prompt": "a", "max_tokens": 1e400}');
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatchObject({ param: "max_tokens" });
    expect(refused.json.error.message).toBe("'max_tokens' must be an integer ≥ 1, got a number too large to represent (beyond ±1.8e308)");
    const negative = await send(server, "POST", "/v1/completions", '{"prompt": "a", "temperature": -1e999}');
    expect(negative.json.error.message).toMatch(/'temperature' must be a number in \[0, 2\], got -a number too large/);
  });
});
