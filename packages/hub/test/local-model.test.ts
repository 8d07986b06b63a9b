// Tests for resolving models given by path: safetensors folders, GGUF files (split too), llama2.c files, and the
// errors for paths that hold no usable model.

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelNotFoundError, resolveModel } from "../src/index.ts";
import { ggufRepositoryFiles, safetensorsRepositoryFiles, temporaryFolder, text, writeFiles } from "./model-fixtures.ts";

const options = { environment: {}, progress: false as const };

describe("resolveModel with a path", () => {
  it("resolves a safetensors folder with its shards in index order", async () => {
    const folder = await temporaryFolder();
    await writeFiles(folder, safetensorsRepositoryFiles());
    const model = await resolveModel(folder, options);
    expect(model).toMatchObject({ format: "safetensors", source: "path", path: folder, directory: folder });
    expect(model.weightFiles).toEqual([join(folder, "model-00001-of-00002.safetensors"), join(folder, "model-00002-of-00002.safetensors")]);
    expect(model.files).toContain(join(folder, "tokenizer.json"));
    expect(model.files).toContain(join(folder, "config.json"));
    expect(model.files).not.toContain(join(folder, "README.md"));
  });

  it("resolves GGUF files, whole split GGUFs, and a GGUF chosen inside a folder", async () => {
    const folder = await temporaryFolder();
    await writeFiles(folder, ggufRepositoryFiles());
    const single = await resolveModel(join(folder, "Llama-3.2-3B-Instruct-Q8_0.gguf"), options);
    expect(single).toMatchObject({ format: "gguf", path: join(folder, "Llama-3.2-3B-Instruct-Q8_0.gguf") });
    const split = await resolveModel(join(folder, "Q6_K", "Llama-3.2-3B-Instruct-Q6_K-00002-of-00002.gguf"), options);
    expect(split.path).toBe(join(folder, "Q6_K", "Llama-3.2-3B-Instruct-Q6_K-00001-of-00002.gguf"));
    expect(split.weightFiles).toHaveLength(2);
    const chosen = await resolveModel({ path: folder, file: "Q4_K_M" }, options);
    expect(chosen.path).toBe(join(folder, "Llama-3.2-3B-Instruct-Q4_K_M.gguf"));
  });

  it("resolves a llama2.c checkpoint", async () => {
    const folder = await temporaryFolder();
    await writeFiles(folder, [{ name: "stories260K.bin", content: Buffer.alloc(64) }]);
    const model = await resolveModel(join(folder, "stories260K.bin"), options);
    expect(model).toMatchObject({ format: "llama2c", path: join(folder, "stories260K.bin") });
  });

  it("says what a folder lacks", async () => {
    const folder = await temporaryFolder();
    await writeFiles(folder, [{ name: "config.json", content: text("{}") }, { name: "model.safetensors.index.json", content: text(JSON.stringify({ weight_map: { a: "model-00001-of-00002.safetensors" } })) }]);
    const error = await resolveModel(folder, options).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toContain(`local path ${folder}: the directory lacks model-00001-of-00002.safetensors`);
  });

  it("lists the choices in a folder of several GGUF files", async () => {
    const folder = await temporaryFolder();
    await writeFiles(folder, ggufRepositoryFiles());
    await expect(resolveModel(folder, options)).rejects.toThrow(/choose one of: Llama-3\.2-3B-Instruct-Q4_K_M\.gguf, Llama-3\.2-3B-Instruct-Q8_0\.gguf/);
  });

  it("reports a missing path and a missing split part", async () => {
    const folder = await temporaryFolder();
    await expect(resolveModel(join(folder, "nothing.gguf"), options)).rejects.toThrow(/nothing\.gguf: does not exist/);
    await writeFiles(folder, [{ name: "x-00001-of-00002.gguf", content: Buffer.alloc(8) }]);
    await expect(resolveModel(join(folder, "x-00001-of-00002.gguf"), options)).rejects.toThrow(/other parts are missing: x-00002-of-00002\.gguf/);
  });

  it.skipIf(process.platform === "win32")("refuses a FIFO instead of blocking on it", async () => {
    const folder = await temporaryFolder();
    const fifo = join(folder, "model.gguf");
    execFileSync("mkfifo", [fifo]);
    await expect(resolveModel(fifo, options)).rejects.toThrow(/model\.gguf: is not a regular file or a directory \(a FIFO, device or socket\)/);
  });
});
