// Images in chat requests, through the server's hooks (image-input.ts) with a stand-in vision model on the tiny
// Llama: each image is 4 placeholder tokens whose embeddings the "encoder" derives from the image's bytes. Checked:
// image_url parts reach the preparer and the encoder in order with their bytes; the embeddings change the answer;
// the prefix cache reuses an image's KV blocks for the same image and not for another image at the same positions;
// the body limit grows by what the model accepts for images; bad or refused images are 400s naming the part and
// saying why; a request cancelled while its images are encoded never reaches the scheduler.

import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Scheduler } from "@infer-recipes/scheduler";
import type { ChatMessage } from "@infer-recipes/tokenizer";

import { chatPromptIds, InferenceServer, type EncodedImages, type ImageInputData, type ServedModel } from "../src/index.ts";
import { chatTemplate, config, directory, model, send, tokenizer, waitFor } from "./helpers.ts";

/** Placeholder token of the stand-in model, and its positions per image. */
const PLACEHOLDER = 7;
const ROWS = 4;

/** Deterministic embeddings from the bytes (what a real encoder would compute from the pixels). */
function embeddingsOf(bytes: Uint8Array): Float32Array {
  const digest = createHash("sha256").update(bytes).digest();
  const rows = new Float32Array(ROWS * config.hiddenSize);
  for (let index = 0; index < rows.length; index++) rows[index] = (digest[index % digest.length] - 128) / 16;
  return rows;
}

interface Recorded {
  prepared: Array<{ sources: string[]; sizes: number[] }>;
  encoded: Array<{ sources: string[] }>;
}

/** The stand-in: images first (ROWS placeholders each), then the chat rendered without them. */
function imageModel(scheduler: Scheduler, recorded: Recorded, options: { allowLocalFiles?: boolean; encodeDelayMs?: number } = {}): ServedModel {
  return {
    id: "tiny-vlm",
    scheduler,
    tokenizer,
    chatTemplate,
    stopTokenIds: config.eosTokenIds,
    defaultTemperature: 0,
    images: {
      maxRequestImageBytes: 8 * 1024 * 1024,
      async encodeImages(promptIds: readonly number[], images: readonly ImageInputData[], signal: AbortSignal): Promise<EncodedImages> {
        recorded.encoded.push({ sources: images.map((image) => image.source) });
        if (options.encodeDelayMs) await new Promise((resolve) => setTimeout(resolve, options.encodeDelayMs));
        signal.throwIfAborted();
        expect(promptIds.slice(0, ROWS * images.length).every((id) => id === PLACEHOLDER)).toBe(true);
        return {
          embeddingSpans: images.map((image, index) => ({ start: index * ROWS, embeddings: embeddingsOf(image.bytes) })),
          contentKeys: images.map((image, index) => ({ start: index * ROWS, end: (index + 1) * ROWS, key: createHash("sha256").update(image.bytes).digest("hex") })),
        };
      },
      prompts: {
        allowLocalFiles: options.allowLocalFiles,
        maxImageBytes: 4 * 1024 * 1024,
        async promptIds(messages: readonly ChatMessage[], images: readonly ImageInputData[]): Promise<number[]> {
          recorded.prepared.push({ sources: images.map((image) => image.source), sizes: images.map((image) => image.bytes.length) });
          const text = messages.map((message) => ({
            role: message.role,
            content: typeof message.content === "string" ? message.content : (message.content as Array<{ type: string; text?: string }>).map((part) => part.text ?? "").join(""),
          }));
          return [...new Array<number>(ROWS * images.length).fill(PLACEHOLDER), ...chatPromptIds(tokenizer, chatTemplate, text)];
        },
      },
    },
  };
}

const dataUrl = (bytes: Uint8Array, type = "image/png") => `data:${type};base64,${Buffer.from(bytes).toString("base64")}`;
const imagePart = (url: string) => ({ type: "image_url", image_url: { url } });
const ask = (url: string, extra: Record<string, unknown> = {}) => ({
  messages: [{ role: "user", content: [imagePart(url), { type: "text", text: "what is it" }] }],
  max_tokens: 6,
  temperature: 0,
  ...extra,
});

const first = new Uint8Array([1, 2, 3, 4, 5]);
const second = new Uint8Array([9, 8, 7, 6, 5]);

describe("image_url parts", () => {
  const recorded: Recorded = { prepared: [], encoded: [] };
  let server: InferenceServer;
  let scheduler: Scheduler;
  beforeAll(async () => {
    scheduler = new Scheduler(model, model.createPagedCache({ blockCount: 64, blockSize: 4 }));
    server = await InferenceServer.start({ port: 0, served: imageModel(scheduler, recorded) });
  });
  afterAll(() => server.close());

  it("reach the preparer and the encoder with their bytes, in order", async () => {
    const response = await send(server, "POST", "/v1/chat/completions", {
      messages: [{ role: "user", content: [imagePart(dataUrl(first)), { type: "text", text: "and" }, { type: "image_url", image_url: dataUrl(second, "image/jpeg") }] }],
      max_tokens: 3,
    });
    expect(response.status).toBe(200);
    expect(recorded.prepared.at(-1)).toEqual({ sources: ["messages[0].content[0]", "messages[0].content[2]"], sizes: [5, 5] });
    expect(recorded.encoded.at(-1)).toEqual({ sources: ["messages[0].content[0]", "messages[0].content[2]"] });
    expect(response.json.usage.prompt_tokens).toBe(2 * ROWS + chatPromptIds(tokenizer, chatTemplate, [{ role: "user", content: "and" }]).length);
  });

  it("answer from the image's embeddings; the prefix cache reuses an image's blocks only for the same image", async () => {
    const one = await send(server, "POST", "/v1/chat/completions", ask(dataUrl(first)));
    const again = await send(server, "POST", "/v1/chat/completions", ask(dataUrl(first)));
    const other = await send(server, "POST", "/v1/chat/completions", ask(dataUrl(second)));
    for (const response of [one, again, other]) expect(response.status).toBe(200);
    expect(again.json.choices[0].message.content).toBe(one.json.choices[0].message.content);
    // The same placeholder ids with other embeddings: another answer (greedy, so not by chance)…
    expect(other.json.choices[0].message.content).not.toBe(one.json.choices[0].message.content);
    // …and none of the first image's blocks: its positions are 0..3, the first block.
    expect(again.json.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(ROWS);
    expect(other.json.usage.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it("stream like text requests", async () => {
    const response = await send(server, "POST", "/v1/chat/completions", ask(dataUrl(first), { stream: true }));
    expect(response.status).toBe(200);
    expect(response.text.trim().endsWith("data: [DONE]")).toBe(true);
  });

  it("may be larger than a text prompt's body limit, up to what the model accepts for images", async () => {
    // The tiny model's text limit is about 1.1 MB of body; a 3 MB image still fits.
    const large = new Uint8Array(3 * 1024 * 1024).fill(17);
    const response = await send(server, "POST", "/v1/chat/completions", ask(dataUrl(large)));
    expect(response.status).toBe(200);
    expect(recorded.prepared.at(-1)?.sizes).toEqual([large.length]);
  });

  it("that cannot be used are 400s naming the part and saying why", async () => {
    const localFile = path.join(directory, "image.png");
    writeFileSync(localFile, first);
    const cases: Array<[unknown, string, string, RegExp]> = [
      [ask("data:text/plain;base64,aGVsbG8="), "messages[0].content[0]", "invalid_image", /a data: URL of type "text\/plain", expected image/],
      [ask("data:image/png;base64,"), "messages[0].content[0]", "invalid_image", /holds no bytes/],
      [ask(dataUrl(new Uint8Array(5 * 1024 * 1024))), "messages[0].content[0]", "image_too_large", /5\.0 MiB, more than the limit of 4 MiB/],
      [ask("https://example.com/cat.jpg"), "messages[0].content[0]", "invalid_image_url", /"https:" URLs are not fetched; send the image inline as a data: URL/],
      [ask(`file://${localFile}`), "messages[0].content[0]", "invalid_image_url", /local files are not accepted by this server \(it was started without --allow-local-images\)/],
      [ask("cat.jpg"), "messages[0].content[0]", "invalid_image_url", /not a URL/],
    ];
    for (const [body, param, code, message] of cases) {
      const response = await send(server, "POST", "/v1/chat/completions", body);
      expect(response.status, JSON.stringify(body).slice(0, 120)).toBe(400);
      expect(response.json.error).toMatchObject({ param, code, type: "invalid_request_error" });
      expect(response.json.error.message).toMatch(message);
    }
    await scheduler.whenIdle();
    expect(scheduler.cache.pool.usedBlocks).toBe(0);
  });
});

describe("image_url parts with local files allowed", () => {
  it("read files named by file:// URLs and absolute paths, and say which file cannot be read", async () => {
    const recorded: Recorded = { prepared: [], encoded: [] };
    const scheduler = new Scheduler(model, model.createPagedCache({ blockCount: 64, blockSize: 4 }));
    const server = await InferenceServer.start({ port: 0, served: imageModel(scheduler, recorded, { allowLocalFiles: true }) });
    try {
      const localFile = path.join(directory, "local.png");
      writeFileSync(localFile, second);
      for (const url of [`file://${localFile}`, localFile]) {
        const response = await send(server, "POST", "/v1/chat/completions", ask(url));
        expect(response.status).toBe(200);
        expect(recorded.prepared.at(-1)?.sizes).toEqual([second.length]);
      }
      const missing = await send(server, "POST", "/v1/chat/completions", ask(path.join(directory, "missing.png")));
      expect(missing.status).toBe(400);
      expect(missing.json.error.message).toMatch(/cannot read .*missing.png \(ENOENT\)/);
      const folder = await send(server, "POST", "/v1/chat/completions", ask(directory));
      expect(folder.json.error.message).toMatch(/is not a regular file/);
    } finally {
      await server.close();
    }
  });
});

describe("a request cancelled while its images are encoded", () => {
  it("never reaches the scheduler", async () => {
    const recorded: Recorded = { prepared: [], encoded: [] };
    const scheduler = new Scheduler(model, model.createPagedCache({ blockCount: 64, blockSize: 4 }));
    const server = await InferenceServer.start({ port: 0, served: imageModel(scheduler, recorded, { encodeDelayMs: 300 }) });
    try {
      const controller = new AbortController();
      const request = fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(ask(dataUrl(first))),
        signal: controller.signal,
      }).catch((error: unknown) => error);
      await waitFor(async () => recorded.encoded.length === 1, "the encoder to start");
      controller.abort();
      expect(await request).toBeInstanceOf(Error);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(scheduler.stats().completed + scheduler.stats().cancelled + scheduler.stats().running + scheduler.stats().waiting).toBe(0);
      const after = await send(server, "POST", "/v1/chat/completions", ask(dataUrl(first)));
      expect(after.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
