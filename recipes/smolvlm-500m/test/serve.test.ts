// `pnpm recipe smolvlm-500m --serve` end to end, as a user runs it, on a tiny random SmolVLM (GGUF + mmproj): an
// OpenAI client sends images as data: URLs in image_url parts and gets the answer the one-shot command line gives
// for the same image and question; asking again about the same image reuses its KV blocks (cached_tokens covers the
// image); a broken image, a remote URL and a local file (without --allow-local-images) are 400s that say why; with
// --allow-local-images a file:// URL works; SIGINT stops the server cleanly.

import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startServerProcess, type ServerProcess } from "@infer-recipes/harness";
import { randomIdefics3Tensors, tinyIdefics3Config, writeIdefics3GgufPair } from "@infer-recipes/models";

const recipeDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tsx = path.resolve(recipeDirectory, "node_modules/.bin/tsx");
const temporary = fs.mkdtempSync(path.join(os.tmpdir(), "recipe-smolvlm-serve-"));
afterAll(() => fs.rmSync(temporary, { recursive: true, force: true }));

const tiny = tinyIdefics3Config();
const languageFile = path.join(temporary, "SmolVLM-tiny-f32.gguf");
const photoFile = path.join(temporary, "photo.jpg");
let photo: Buffer;
let otherPhoto: Buffer;

beforeAll(async () => {
  writeIdefics3GgufPair(languageFile, path.join(temporary, "mmproj-SmolVLM-tiny-f32.gguf"), tiny, randomIdefics3Tensors(tiny, 5));
  const gradient = Buffer.alloc(90 * 60 * 3);
  for (let y = 0; y < 60; y++) for (let x = 0; x < 90; x++) gradient.set([x * 2, y * 4, (x + y) % 256], (y * 90 + x) * 3);
  photo = await sharp(gradient, { raw: { width: 90, height: 60, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  fs.writeFileSync(photoFile, photo);
  otherPhoto = await sharp({ create: { width: 20, height: 40, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toBuffer();
});

/** Starts the recipe's server; its URL resolves once it serves. */
function startServer(extra: string[]): ServerProcess {
  return startServerProcess(tsx, ["recipe.ts", "--model", languageFile, "--serve", "--port", "0", "--backend", "reference", ...extra], { cwd: recipeDirectory, readyPattern: /serving ".*" on (http:\/\/[^\s]+)/ });
}

const dataUrl = (bytes: Uint8Array, type: string) => `data:${type};base64,${Buffer.from(bytes).toString("base64")}`;

interface ChatAnswer {
  status: number;
  json: {
    choices: Array<{ message: { content: string } }>;
    usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } };
    error: { message: string; param: string; code: string };
  };
}

async function askServer(url: string, imageUrl: string, question = "What is this?"): Promise<ChatAnswer> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: imageUrl } }, { type: "text", text: question }] }], max_tokens: 6, temperature: 0 }),
  });
  return { status: response.status, json: (await response.json()) as ChatAnswer["json"] };
}

/** The one-shot command line's answer (--json). */
function askCommandLine(): Promise<{ text: string; prompt_tokens: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      tsx,
      ["recipe.ts", "--model", languageFile, "--image", photoFile, "--question", "What is this?", "--max-tokens", "6", "--backend", "reference", "--json"],
      { cwd: recipeDirectory, encoding: "utf8", timeout: 180_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split("\n").at(-1)!));
      },
    );
  });
}

describe("smolvlm-500m --serve", () => {
  it("answers image_url requests as the command line does, reuses an image's KV blocks, refuses bad images with 400", async () => {
    const expected = askCommandLine();
    const server = startServer([]);
    try {
      const url = await server.url;
      expect(server.stderr()).toMatch(/images: ≤ 20 MiB each, embeddings cached by content/);
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> };
      expect(models.data[0].id).toBe("SmolVLM-tiny-f32");

      const first = await askServer(url, dataUrl(photo, "image/jpeg"));
      expect(first.status, JSON.stringify(first.json)).toBe(200);
      const oneShot = await expected;
      expect(first.json.choices[0].message.content).toBe(oneShot.text);
      expect(first.json.usage.prompt_tokens).toBe(oneShot.prompt_tokens);

      // The same image again: the embedding cache skips the encoder and the prefix cache holds every full block.
      const again = await askServer(url, dataUrl(photo, "image/jpeg"));
      expect(again.json.choices[0].message.content).toBe(first.json.choices[0].message.content);
      expect(again.json.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(again.json.usage.prompt_tokens - 16);
      // Another image at the same positions: no block holding the first image's positions is reused.
      const other = await askServer(url, dataUrl(otherPhoto, "image/png"));
      expect(other.status).toBe(200);
      expect(other.json.usage.prompt_tokens_details.cached_tokens).toBeLessThan(16);

      const broken = await askServer(url, dataUrl(Buffer.from("this is not a png"), "image/png"));
      expect(broken.status).toBe(400);
      expect(broken.json.error).toMatchObject({ param: "messages[0].content[0]", code: "invalid_image" });
      expect(broken.json.error.message).toMatch(/messages\[0\]\.content\[0\]: is not an image sharp can read/);
      const remote = await askServer(url, "https://example.com/cat.jpg");
      expect(remote.status).toBe(400);
      expect(remote.json.error.message).toMatch(/URLs are not fetched/);
      const local = await askServer(url, `file://${photoFile}`);
      expect(local.status).toBe(400);
      expect(local.json.error.message).toMatch(/--allow-local-images/);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 300_000);

  it("reads local files with --allow-local-images", async () => {
    const server = startServer(["--allow-local-images"]);
    try {
      const url = await server.url;
      const answer = await askServer(url, `file://${photoFile}`);
      expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 300_000);
});
