// The recipe end to end through its command line, as a user runs it, on a tiny random SmolVLM-shaped model: the
// Hugging Face folder and llama.cpp's GGUF + mmproj pair give the same greedy answer on every backend, several images
// and the processor options work, and the failures a user can cause (no image, a missing or broken image, the mmproj
// passed as the model, offline without the default files) end with one message and a non-zero exit, no stack trace.
// Without --model the default GGUF pair comes through the hub package, here from a fake hub on 127.0.0.1 serving the
// tiny model under the public files' names, then from the Hugging Face cache offline.

import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { passes, resultsRecordProblems } from "@infer-recipes/harness";
import { recipeMetadataProblems } from "@infer-recipes/cli";
import { startFakeHub } from "@infer-recipes/hub/testing";
import { nativeAvailability } from "@infer-recipes/kernel";
import { randomIdefics3Tensors, tinyIdefics3Config, writeIdefics3GgufPair, writeIdefics3HfModel } from "@infer-recipes/models";

import { targetChecks, type EncoderRow, type LatencyRow } from "../bench.ts";
import { recipe } from "../recipe.ts";

const recipeDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const temporary = fs.mkdtempSync(path.join(os.tmpdir(), "recipe-smolvlm-"));
afterAll(() => fs.rmSync(temporary, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json?: { token_ids: number[]; text: string; prompt_tokens: number; image_tokens: number; images: Array<{ tiles: number; rows: number; cols: number; cached: boolean }>; backend: string };
}

/** Runs recipe.ts in a child process (asynchronously, so the test worker stays responsive while it runs). */
function runRecipe(args: string[], environment: Record<string, string> = {}): Promise<Run> {
  const tsx = path.resolve(recipeDirectory, "node_modules/.bin/tsx");
  return new Promise((resolve) => {
    execFile(tsx, ["recipe.ts", ...args], { cwd: recipeDirectory, encoding: "utf8", env: { ...process.env, INIT_CWD: temporary, ...environment }, timeout: 180_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve(parseRun(status, stdout, stderr));
    });
  });
}

function parseRun(status: number | null, stdout: string, stderr: string): Run {
  const lines = stdout.trim().split("\n");
  let json;
  try {
    json = JSON.parse(lines[lines.length - 1]);
  } catch {
    json = undefined;
  }
  return { status, stdout, stderr, json };
}

const backends = nativeAvailability().available ? ["native", "reference"] : ["reference"];
const tiny = tinyIdefics3Config();
const tensors = randomIdefics3Tensors(tiny, 5);
const hfDirectory = path.join(temporary, "SmolVLM-tiny");
const ggufDirectory = path.join(temporary, "SmolVLM-tiny-GGUF");

beforeAll(async () => {
  writeIdefics3HfModel(hfDirectory, tiny, tensors);
  fs.mkdirSync(ggufDirectory);
  writeIdefics3GgufPair(path.join(ggufDirectory, "SmolVLM-tiny-f32.gguf"), path.join(ggufDirectory, "mmproj-SmolVLM-tiny-f32.gguf"), tiny, tensors);
  const gradient = Buffer.alloc(90 * 60 * 3);
  for (let y = 0; y < 60; y++) for (let x = 0; x < 90; x++) gradient.set([x * 2, y * 4, (x + y) % 256], (y * 90 + x) * 3);
  await sharp(gradient, { raw: { width: 90, height: 60, channels: 3 } }).jpeg({ quality: 95 }).toFile(path.join(temporary, "photo.jpg"));
  await sharp({ create: { width: 20, height: 40, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } } }).png().toFile(path.join(temporary, "small.png"));
  fs.writeFileSync(path.join(temporary, "broken.png"), "this is not a png");
});

describe("smolvlm-500m recipe on a tiny random SmolVLM", () => {
  it("has the metadata the docs gallery reads, and results files in the ResultsRecord shape", () => {
    expect(recipeMetadataProblems(recipe, "smolvlm-500m")).toEqual([]);
    const results = path.join(recipeDirectory, "results");
    const files = fs.readdirSync(results).filter((name) => name.endsWith(".json"));
    expect(files).toContain("accuracy.json");
    for (const name of files) expect([name, resultsRecordProblems(JSON.parse(fs.readFileSync(path.join(results, name), "utf8")))]).toEqual([name, []]);
  });

  const ask = (model: string[], backend: string, extra: string[] = []): Promise<Run> =>
    runRecipe([...model, "--image", "photo.jpg", "--question", "What is this?", "--max-tokens", "8", "--backend", backend, "--json", ...extra]);

  it("answers the same from the HF folder and from the GGUF pair (the mmproj found beside it), on every backend", async () => {
    const runs: Run[] = [];
    for (const backend of backends) {
      runs.push(
        await ask(["--model", hfDirectory], backend),
        await ask(["--model", path.join(ggufDirectory, "SmolVLM-tiny-f32.gguf")], backend),
        await ask(["--model", "SmolVLM-tiny-GGUF/SmolVLM-tiny-f32.gguf", "--mmproj", "SmolVLM-tiny-GGUF/mmproj-SmolVLM-tiny-f32.gguf"], backend),
      );
    }
    for (const run of runs) {
      expect(run.status, run.stderr).toBe(0);
      expect(run.json).toBeDefined();
    }
    const first = runs[0].json!;
    // 90×60 → longest edge 64: 64×42 → tiles of 32: 2×2 + global, 4 tokens each.
    expect(first.images).toEqual([expect.objectContaining({ rows: 2, cols: 2, tiles: 5, cached: false })]);
    expect(first.image_tokens).toBe(20);
    expect(first.token_ids.length).toBeGreaterThan(0);
    for (const run of runs) expect(run.json!.token_ids).toEqual(first.token_ids);
    expect(runs[1].stderr).toMatch(/loading .*mmproj-SmolVLM-tiny-f32\.gguf/);
    expect(runs[0].stderr).toMatch(/photo\.jpg: 2×2 tiles \+ global, decode \d+ ms, preprocess \d+ ms, encoder \d+ ms/);
  });

  it("takes several images, a smaller longest edge and quantized vision weights", async () => {
    const run = await runRecipe(["--model", hfDirectory, "--image", "photo.jpg", "--image", "small.png", "--question", "Compare them.", "--max-tokens", "4", "--json", "--image-longest-edge", "32", "--vision-quant", "q8_0"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.json!.images.map((image) => image.tiles)).toEqual([1, 1]);
    expect(run.json!.image_tokens).toBe(8);
    expect(run.stderr).toMatch(/vision 2 layers, hidden 64, q8_0/);
  });

  it("refuses a missing image, a broken image and no image, naming them", async () => {
    const missing = await runRecipe(["--model", hfDirectory, "--image", "nope.jpg", "--question", "?"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope\.jpg: file not found/);
    const broken = await runRecipe(["--model", hfDirectory, "--image", "broken.png", "--question", "?"]);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/broken\.png: is not an image sharp can read/);
    const none = await runRecipe(["--model", hfDirectory, "--question", "?"]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/at least one --image/);
    for (const run of [missing, broken, none]) expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses the mmproj given as the model, and a language model without its projector", async () => {
    const swapped = await runRecipe(["--model", path.join(ggufDirectory, "mmproj-SmolVLM-tiny-f32.gguf"), "--image", "photo.jpg", "--question", "?"]);
    expect(swapped.status).toBe(1);
    expect(swapped.stderr).toMatch(/is an mmproj \(vision projector\) file; pass the language-model GGUF as --model/);
    const alone = path.join(temporary, "alone");
    fs.mkdirSync(alone);
    fs.copyFileSync(path.join(ggufDirectory, "SmolVLM-tiny-f32.gguf"), path.join(alone, "text.gguf"));
    const run = await runRecipe(["--model", path.join(alone, "text.gguf"), "--image", "photo.jpg", "--question", "?"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/pass its vision projector with --mmproj FILE/);
  });

  it("offline and uncached: names the default files and every place it looked, no stack trace", async () => {
    const run = await runRecipe(["--image", "photo.jpg", "--question", "?"], { HF_ENDPOINT: "http://127.0.0.1:9", HF_HUB_CACHE: path.join(temporary, "empty-cache"), HF_HOME: path.join(temporary, "empty-home") });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/SmolVLM-500M-Instruct-Q8_0\.gguf/);
    expect(run.stderr).toMatch(/empty-cache/);
    expect(run.stderr).toMatch(/127\.0\.0\.1:9/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("without --model: downloads the default GGUF pair through the hub (progress, HF cache) and answers; then answers offline from the cache", async () => {
    const [repository, file] = recipe.defaultModel.split(":");
    const hub = await startFakeHub({
      repositories: [{
        id: repository,
        commit: "5a".repeat(20),
        files: [
          { name: file, content: fs.readFileSync(path.join(ggufDirectory, "SmolVLM-tiny-f32.gguf")), lfs: true },
          { name: recipe.defaultMmproj, content: fs.readFileSync(path.join(ggufDirectory, "mmproj-SmolVLM-tiny-f32.gguf")), lfs: true },
          { name: "README.md", content: Buffer.from("# SmolVLM GGUF\n") },
        ],
      }],
    });
    const question = ["--image", "photo.jpg", "--question", "What is this?", "--max-tokens", "8", "--json"];
    const cache = { HF_HUB_CACHE: path.join(temporary, "hub-cache"), HF_HOME: path.join(temporary, "hub-home") };
    try {
      const [downloaded, local] = [await runRecipe(question, { ...cache, HF_ENDPOINT: hub.endpoint }), await runRecipe(["--model", path.join(ggufDirectory, "SmolVLM-tiny-f32.gguf"), ...question])];
      expect(downloaded.status, downloaded.stderr).toBe(0);
      expect(downloaded.stderr).toContain(file);
      expect(downloaded.stderr).toContain(recipe.defaultMmproj);
      expect(hub.requests.some((request) => request.server === "cdn")).toBe(true);
      expect(downloaded.json!.token_ids).toEqual(local.json!.token_ids);
    } finally {
      await hub.close();
    }
    const offline = await runRecipe(question, { ...cache, HF_ENDPOINT: "http://127.0.0.1:9" });
    expect(offline.status, offline.stderr).toBe(0);
    expect(offline.json!.images).toEqual([expect.objectContaining({ tiles: 5 })]);
  });
});

describe("smolvlm-500m bench targets", () => {
  const latency = (measurement: string, speedup?: number): LatencyRow => ({ measurement, tiles: 1, prompt_tokens: 80, image_ms: 1, prefill_ms: 1, time_to_first_token_ms: 1, speedup });
  const encoder = (engine: EncoderRow["engine"], ms: number): EncoderRow => ({ weights: "f16", engine, ms_per_tile: ms, ms_per_tile_min: ms, ms_per_tile_max: ms, gflops: 1, weight_bytes: 1 });

  it("fail when the embedding cache saves < 5× or the encoder is < 0.8× llama.cpp, pass otherwise", () => {
    const met = targetChecks([latency("first question, 1-tile image"), latency("second question, same image: embedding cache", 12)], [encoder("this project", 100), encoder("llama.cpp", 90)]);
    expect(met.map(passes)).toEqual([true, true]);
    const missed = targetChecks([latency("second question, same image: embedding cache", 3)], [encoder("this project", 100), encoder("llama.cpp", 70)]);
    expect(missed.map((check) => [check.what, passes(check)])).toEqual([["embedding cache, 1 tile(s)", false], ["encoder vs llama.cpp, f16", false]]);
  });
});
