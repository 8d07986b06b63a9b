// The peers command line: defaults of the full and the quick run, and clear errors for bad values.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { batchSize, parsePeerOptions } from "../src/peer-options.ts";

describe("parsePeerOptions", () => {
  it("defaults to the whole matrix: both shapes, five formats, 1 and 2 threads, 512 prompt and 128 decode tokens", () => {
    const options = parsePeerOptions([]);
    expect(options).toMatchObject({ shapes: ["1b", "3b"], formats: ["f16", "bf16", "q8_0", "q4_0", "q4_k_m"], threads: [1, 2], promptTokens: 512, decodeTokens: 128, quietWaitSeconds: 60, llamaMemoryMap: false, engines: ["node-llama-cpp"], quick: false, json: false });
    expect(options.llamaBench).toBeUndefined();
    expect(options.repetitions).toEqual({ "1b": 3, "3b": 2, tiny: 9, "chatglm3-6b": 2 });
    expect(options.tinyWarmupRuns).toBe(10);
  });

  it("measures the real tiny model only when asked: --shape tiny, with its own warm-up count", () => {
    expect(parsePeerOptions(["--shape", "tiny"])).toMatchObject({ shapes: ["tiny"], formats: ["f16", "bf16", "q8_0", "q4_0", "q4_k_m"], repetitions: { tiny: 9 }, tinyWarmupRuns: 10 });
    expect(parsePeerOptions(["--shape", "1b,TINY", "--tiny-warmup", "4", "--repetitions", "5"])).toMatchObject({ shapes: ["1b", "tiny"], repetitions: { "1b": 5, tiny: 5 }, tinyWarmupRuns: 4 });
    expect(parsePeerOptions(["--quick"]).shapes).toEqual(["1b"]);
    expect(() => parsePeerOptions(["--shape", "tiny", "--tiny-warmup", "0"])).toThrow('--tiny-warmup must be an integer ≥ 1, got "0"');
    expect(() => parsePeerOptions(["--architecture", "chatglm", "--shape", "tiny"])).toThrow('--shape: "tiny" is not one of chatglm3-6b');
  });

  it("keeps --quick small and lets options override it", () => {
    expect(parsePeerOptions(["--quick"])).toMatchObject({ shapes: ["1b"], formats: ["q8_0"], threads: [2], promptTokens: 256, decodeTokens: 32, repetitions: { "1b": 2, "3b": 2 } });
    expect(parsePeerOptions(["--quick", "--threads", "1,2", "--repetitions", "4", "--json"])).toMatchObject({ threads: [1, 2], repetitions: { "1b": 4, "3b": 4 }, json: true });
    expect(parsePeerOptions(["--shape", "3B", "--formats", "q4_0,q8_0,q4_0", "--llama-mmap"])).toMatchObject({ shapes: ["3b"], formats: ["q4_0", "q8_0"], llamaMemoryMap: true });
  });

  it("adds llama-bench with --llama-bench (relative to where pnpm ran), with llama-quantize beside it; --engines picks", () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "peer-options-"));
    try {
      fs.writeFileSync(path.join(directory, "llama-bench"), "");
      const previous = process.env.INIT_CWD;
      process.env.INIT_CWD = directory;
      try {
        const options = parsePeerOptions(["--llama-bench", "llama-bench"]);
        expect(options).toMatchObject({ engines: ["node-llama-cpp", "llama-bench"], llamaBench: path.join(directory, "llama-bench") });
        expect(options.llamaQuantize).toBeUndefined(); // none beside it
        fs.writeFileSync(path.join(directory, "llama-quantize"), "");
        expect(parsePeerOptions(["--llama-bench", "llama-bench", "--engines", "llama-bench"])).toMatchObject({ engines: ["llama-bench"], llamaQuantize: path.join(directory, "llama-quantize") });
        expect(() => parsePeerOptions(["--llama-bench", "missing"])).toThrow(/--llama-bench: .*missing is not a file/);
        expect(() => parsePeerOptions(["--engines", "llama-bench"])).toThrow(/llama-bench needs --llama-bench PATH/);
      } finally {
        if (previous === undefined) delete process.env.INIT_CWD;
        else process.env.INIT_CWD = previous;
      }
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  it("names the option in its errors", () => {
    expect(() => parsePeerOptions(["--shape", "7b"])).toThrow('--shape: "7b" is not one of 1b, 3b, tiny');
    expect(() => parsePeerOptions(["--formats", "q5_k"])).toThrow(/--formats/);
    expect(() => parsePeerOptions(["--threads", "0"])).toThrow(/--threads must be an integer ≥ 1/);
    expect(() => parsePeerOptions(["--prompt-tokens", String(batchSize + 1)])).toThrow(/at most the batch size/);
    expect(() => parsePeerOptions(["--repetitions", "two"])).toThrow(/--repetitions/);
    expect(() => parsePeerOptions(["--architecture", "gpt2"])).toThrow(/--architecture must be one of llama, chatglm, got "gpt2"/);
    expect(() => parsePeerOptions(["--architecture", "chatglm", "--shape", "1b"])).toThrow(/--shape: "1b" is not one of chatglm3-6b/);
    expect(() => parsePeerOptions(["--quiet-wait", "-1"])).toThrow(/--quiet-wait/);
  });

  it("with --architecture chatglm: the ChatGLM3-6B shape in the quantized formats users run, files and report where asked", () => {
    const options = parsePeerOptions(["--architecture", "chatglm", "--cache-directory", "/tmp/peer-files", "--results", "/tmp/peer-results"]);
    expect(options).toMatchObject({ architecture: "chatglm", shapes: ["chatglm3-6b"], formats: ["q8_0", "q4_0"], threads: [1, 2], cacheDirectory: "/tmp/peer-files", resultsDirectory: "/tmp/peer-results" });
    expect(parsePeerOptions([]).architecture).toBe("llama");
  });
});
