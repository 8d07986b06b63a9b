// Tests for parsing model specifiers: paths, repository ids with revision and file, and rejected input.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { formatModelSpecifier, InvalidModelSpecifierError, parseModelSpecifier } from "../src/index.ts";
import { temporaryFolder } from "./model-fixtures.ts";

describe("parseModelSpecifier", () => {
  it("reads repository ids with an optional revision and file", () => {
    expect(parseModelSpecifier("meta-llama/Llama-3.2-3B-Instruct")).toEqual({ repo: "meta-llama/Llama-3.2-3B-Instruct" });
    expect(parseModelSpecifier("bartowski/Llama-3.2-3B-Instruct-GGUF:Llama-3.2-3B-Instruct-Q4_K_M.gguf")).toEqual({
      repo: "bartowski/Llama-3.2-3B-Instruct-GGUF",
      file: "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
    });
    expect(parseModelSpecifier("org/name@refs/pr/3:Q8_0")).toEqual({ repo: "org/name", revision: "refs/pr/3", file: "Q8_0" });
  });

  it("treats paths as paths, existing or not", async () => {
    expect(parseModelSpecifier("./models/llama")).toEqual({ path: "./models/llama" });
    expect(parseModelSpecifier("/data/model.gguf")).toEqual({ path: "/data/model.gguf" });
    expect(parseModelSpecifier("~/models/x")).toEqual({ path: "~/models/x" });
    expect(parseModelSpecifier("stories15M.bin")).toEqual({ path: "stories15M.bin" });
    expect(parseModelSpecifier("C:\\models\\x.gguf")).toEqual({ path: "C:\\models\\x.gguf" });
  });

  it("prefers an existing folder over a repository id of the same spelling", async () => {
    const folder = await temporaryFolder();
    await mkdir(join(folder, "org", "name"), { recursive: true });
    // Relative to the working directory (process.chdir is not available in test workers: the cwd is stubbed).
    const cwd = vi.spyOn(process, "cwd").mockReturnValue(folder);
    try {
      expect(parseModelSpecifier("org/name")).toEqual({ path: "org/name" });
    } finally {
      cwd.mockRestore();
    }
    expect(parseModelSpecifier("org/name")).toEqual({ repo: "org/name" });
  });

  it("rejects text that is neither", () => {
    expect(() => parseModelSpecifier("")).toThrow(InvalidModelSpecifierError);
    expect(() => parseModelSpecifier("just-a-name")).toThrow(/neither an existing path nor a Hugging Face repository id/);
    expect(() => parseModelSpecifier("a/b/c")).toThrow(InvalidModelSpecifierError);
  });

  it("formats specifiers back", () => {
    expect(formatModelSpecifier({ repo: "org/name", revision: "v1", file: "Q4_K_M" })).toBe("org/name@v1:Q4_K_M");
    expect(formatModelSpecifier({ repo: "org/name", revision: "main" })).toBe("org/name");
  });
});
