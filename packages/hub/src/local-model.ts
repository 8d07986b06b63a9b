// Resolving a model the user named by path: a directory with config.json and *.safetensors or pytorch_model*.bin (or
// holding one GGUF or llama2.c file), a .gguf file (with the other parts of a split GGUF beside it), a llama2.c .bin
// file, or a .safetensors / pytorch_model*.bin file inside a model directory.

import { access, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ggufParts, weightKind } from "./file-selection.ts";
import { expandHome, type Environment } from "./hub-settings.ts";
import { findModelInDirectory } from "./model-in-directory.ts";
import type { ResolvedModel } from "./resolved-model.ts";

export type LocalSearch = { model: ResolvedModel } | { outcome: string; candidates: string[] };

export async function resolveLocalPath(
  path: string,
  pattern: string | undefined,
  additionalPatterns: readonly string[],
  environment: Environment,
): Promise<LocalSearch> {
  const absolute = expandHome(path, environment);
  let isDirectory: boolean;
  try {
    const stats = await stat(absolute);
    isDirectory = stats.isDirectory();
    // A FIFO or a device would block or never end when read: refuse anything that is not a file or a folder.
    if (!isDirectory && !stats.isFile()) return { outcome: "is not a regular file or a directory (a FIFO, device or socket)", candidates: [] };
  } catch {
    return { outcome: "does not exist", candidates: [] };
  }
  if (isDirectory) {
    const search = await findModelInDirectory(absolute, pattern, additionalPatterns, { maxDepth: 3, skipHiddenFolders: true });
    if ("problem" in search) return { outcome: `the directory ${search.problem}`, candidates: search.candidates };
    return { model: { ...search.model, source: "path" } };
  }
  const kind = weightKind(absolute);
  const folder = dirname(absolute);
  if (kind === "gguf") {
    const parts = ggufParts(basename(absolute)).map((part) => join(folder, part));
    const missing: string[] = [];
    for (const part of parts) if (!(await exists(part))) missing.push(basename(part));
    if (missing.length > 0) return { outcome: `is part of a split GGUF whose other parts are missing: ${missing.join(", ")}`, candidates: [] };
    return { model: { format: "gguf", source: "path", path: parts[0], directory: folder, weightFiles: parts, files: parts } };
  }
  if (kind === "llama2c") {
    return { model: { format: "llama2c", source: "path", path: absolute, directory: folder, weightFiles: [absolute], files: [absolute] } };
  }
  if (kind === "safetensors" || kind === "pytorch") {
    const search = await findModelInDirectory(folder, basename(absolute), additionalPatterns, { maxDepth: 0, skipHiddenFolders: true });
    const what = kind === "safetensors" ? "a safetensors file" : "a PyTorch checkpoint";
    if ("problem" in search) return { outcome: `is ${what}, but its directory ${search.problem}`, candidates: search.candidates };
    return { model: { ...search.model, source: "path" } };
  }
  return {
    outcome: "is not a .gguf file, a llama2.c .bin file, or a directory with config.json and *.safetensors or pytorch_model*.bin",
    candidates: [],
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
