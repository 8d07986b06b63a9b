// The llama-bench engine of the peer benchmark, against a stand-in executable that answers like llama-bench's
// `-o json` (CI has no llama.cpp build): the arguments it is given, prefill/decode speeds read from its pp and tg
// tests, and clear errors for a failing or unexpected executable.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { llamaBenchArguments, parseLlamaBenchJson, runLlamaBench } from "../src/llama-bench-engine.ts";

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "llama-bench-engine-"));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

/** A stand-in llama-bench: prints a progress line on stderr and the JSON of a pp and a tg test built from its arguments. */
function fakeLlamaBench(behaviour: "ok" | "fail" | "garbage"): string {
  const file = path.join(directory, `llama-bench-${behaviour}`);
  const script = {
    ok: `const a = process.argv.slice(2); const get = (flag) => Number(a[a.indexOf(flag) + 1]);
process.stderr.write("llama-bench: loading\\n");
const common = { build_commit: "3f545bec", build_number: 10573, n_threads: get("-t"), flash_attn: "auto" };
process.stdout.write(JSON.stringify([
  { ...common, n_prompt: get("-p"), n_gen: 0, avg_ts: 250.5 },
  { ...common, n_prompt: 0, n_gen: get("-n"), avg_ts: 40.25 },
], null, 2));`,
    fail: `process.stderr.write("error: failed to load model 'x.gguf'\\n"); process.exit(1);`,
    garbage: `process.stdout.write("[{\\"n_prompt\\": 1}]");`,
  }[behaviour];
  fs.writeFileSync(file, `#!${process.execPath}\n${script}\n`, { mode: 0o755 });
  return file;
}

describe("llama-bench engine", () => {
  it("asks for one pp and one tg test at the thread count, as JSON", () => {
    expect(llamaBenchArguments({ binary: "llama-bench", modelPath: "m.gguf", threads: 2, promptTokens: 512, decodeTokens: 128 })).toEqual(
      ["-m", "m.gguf", "-p", "512", "-n", "128", "-t", "2", "-r", "1", "-o", "json"],
    );
  });

  it("reads prefill and decode tokens/s from the pp and tg tests", async () => {
    const result = await runLlamaBench({ binary: fakeLlamaBench("ok"), modelPath: "m.gguf", threads: 2, promptTokens: 512, decodeTokens: 128 });
    expect(result.measurement.prefillTokens).toBe(512);
    expect((result.measurement.prefillTokens / result.measurement.prefillMs) * 1000).toBeCloseTo(250.5, 9);
    expect((result.measurement.decodeTokens / result.measurement.decodeMs) * 1000).toBeCloseTo(40.25, 9);
    expect(result.measurement.tokenArrivalMs).toEqual([]);
    expect(result.measurement.cpuMs).toBeGreaterThanOrEqual(0);
    expect(result.description).toContain("llama.cpp 3f545bec (build 10573): 2 threads, pp512 and tg128");
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
