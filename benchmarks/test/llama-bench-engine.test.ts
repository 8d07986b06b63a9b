// The llama-bench engine of the peer benchmark, against a stand-in executable that answers like llama-bench's
// `-o json` (CI has no llama.cpp build): the arguments of its two processes (prefill from an empty context, decode at
// the prompt's depth or from an empty context for the tiny case, weights read into memory unless memory-mapping is asked for), prefill/decode speeds read from
// their pp and tg tests, and clear errors for a failing or unexpected executable.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { llamaBenchArguments, parseLlamaBenchJson, runLlamaBench } from "../src/llama-bench-engine.ts";

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "llama-bench-engine-"));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

/** A stand-in llama-bench: prints a progress line on stderr and, as llama-bench does, the JSON of a pp test when -p is
 *  not 0 and a tg test when -n is not 0, built from its arguments (the tg test's speed depends on the depth -d). */
function fakeLlamaBench(behaviour: "ok" | "fail" | "garbage"): string {
  const file = path.join(directory, `llama-bench-${behaviour}`);
  const script = {
    ok: `const a = process.argv.slice(2); const get = (flag) => Number(a[a.indexOf(flag) + 1]);
process.stderr.write("llama-bench: loading\\n");
const common = { build_commit: "3f545bec", build_number: 10573, n_threads: get("-t"), flash_attn: "auto", n_depth: get("-d") || 0 };
const tests = [];
if (get("-p") > 0) tests.push({ ...common, n_prompt: get("-p"), n_gen: 0, avg_ts: 250.5 });
if (get("-n") > 0) tests.push({ ...common, n_prompt: 0, n_gen: get("-n"), avg_ts: 40.25 - common.n_depth / 1000 });
process.stdout.write(JSON.stringify(tests, null, 2));`,
    fail: `process.stderr.write("error: failed to load model 'x.gguf'\\n"); process.exit(1);`,
    garbage: `process.stdout.write("[{\\"n_prompt\\": 1}]");`,
  }[behaviour];
  fs.writeFileSync(file, `#!${process.execPath}\n${script}\n`, { mode: 0o755 });
  return file;
}

describe("llama-bench engine", () => {
  it("asks for a pp test from an empty context and a tg test at the prompt's depth, weights read into memory, as JSON", () => {
    const common = ["-m", "m.gguf", "-t", "2", "-mmp", "0", "-r", "1", "-o", "json"];
    expect(llamaBenchArguments({ binary: "llama-bench", modelPath: "m.gguf", threads: 2, promptTokens: 512, decodeTokens: 128 })).toEqual({
      prefill: [...common, "-p", "512", "-n", "0"],
      decode: [...common, "-p", "0", "-n", "128", "-d", "512"],
    });
    const mapped = llamaBenchArguments({ binary: "llama-bench", modelPath: "m.gguf", threads: 1, promptTokens: 64, decodeTokens: 8, memoryMap: true });
    expect([mapped.prefill.slice(4, 6), mapped.decode.slice(4, 6)]).toEqual([["-mmp", "1"], ["-mmp", "1"]]);
  });

  it("reads prefill and decode tokens/s from the pp and tg tests", async () => {
    const result = await runLlamaBench({ binary: fakeLlamaBench("ok"), modelPath: "m.gguf", threads: 2, promptTokens: 512, decodeTokens: 128 });
    expect(result.measurement.prefillTokens).toBe(512);
    expect((result.measurement.prefillTokens / result.measurement.prefillMs) * 1000).toBeCloseTo(250.5, 9);
    // The stand-in's tg speed at depth 512 (the prompt): 40.25 − 0.512.
    expect((result.measurement.decodeTokens / result.measurement.decodeMs) * 1000).toBeCloseTo(39.738, 9);
    expect(result.measurement.tokenArrivalMs).toEqual([]);
    expect(result.measurement.cpuMs).toBeGreaterThanOrEqual(0);
    expect(result.description).toContain("llama.cpp 3f545bec (build 10573): 2 threads, pp512 from an empty context and tg128 at depth 512");
    expect(result.description).toContain("read into memory (-mmp 0)");
  });

  it("with decodeDepth 0 (the tiny case, decoding from BOS) asks for -p 0 -n N without -d, and says so", async () => {
    const common = ["-m", "m.gguf", "-t", "1", "-mmp", "0", "-r", "1", "-o", "json"];
    expect(llamaBenchArguments({ binary: "llama-bench", modelPath: "m.gguf", threads: 1, promptTokens: 512, decodeTokens: 128, decodeDepth: 0 })).toEqual({
      prefill: [...common, "-p", "512", "-n", "0"],
      decode: [...common, "-p", "0", "-n", "128"],
    });
    expect(llamaBenchArguments({ binary: "llama-bench", modelPath: "m.gguf", threads: 1, promptTokens: 512, decodeTokens: 128, decodeDepth: 64 }).decode.slice(-2)).toEqual(["-d", "64"]);
    const result = await runLlamaBench({ binary: fakeLlamaBench("ok"), modelPath: "m.gguf", threads: 1, promptTokens: 512, decodeTokens: 128, decodeDepth: 0 });
    // The stand-in's tg speed at depth 0: 40.25.
    expect((result.measurement.decodeTokens / result.measurement.decodeMs) * 1000).toBeCloseTo(40.25, 9);
    expect(result.description).toContain("1 threads, pp512 from an empty context and tg128 at depth 0 (from an empty context, as ours decodes from BOS)");
  });

  it("says which executable failed and shows the end of its error output", async () => {
    await expect(runLlamaBench({ binary: fakeLlamaBench("fail"), modelPath: "x.gguf", threads: 1, promptTokens: 16, decodeTokens: 4 }))
      .rejects.toThrow(/llama-bench .*llama-bench-fail failed on x\.gguf \(exit 1\): error: failed to load model/);
    await expect(runLlamaBench({ binary: path.join(directory, "absent"), modelPath: "x.gguf", threads: 1, promptTokens: 16, decodeTokens: 4 }))
      .rejects.toThrow(/did not start/);
    await expect(runLlamaBench({ binary: fakeLlamaBench("garbage"), modelPath: "x.gguf", threads: 1, promptTokens: 16, decodeTokens: 4 }))
      .rejects.toThrow(/expected an array of tests with n_prompt, n_gen and avg_ts/);
  });

  it("parses JSON after any leading text", () => {
    expect(parseLlamaBenchJson('note\n[{"n_prompt": 8, "n_gen": 0, "avg_ts": 1}]')).toHaveLength(1);
  });
});
