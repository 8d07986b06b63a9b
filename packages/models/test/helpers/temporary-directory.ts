// Temporary directories for tests that write model files; each test file removes its own after all tests ran.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll } from "vitest";

/** A function returning a fresh directory under one per-file root, removed after the file's tests. */
export function useTemporaryDirectories(label: string): () => string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `infer-models-${label}-`));
  let counter = 0;
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  return () => {
    const directory = path.join(root, String(counter++));
    fs.mkdirSync(directory);
    return directory;
  };
}
