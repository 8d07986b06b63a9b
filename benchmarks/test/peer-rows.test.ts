// The peer rows: medians and ranges of both engines' runs, their ratio, latency percentiles, memory and the share of
// CPU other processes took, from hand-made measurements with known answers.
import { describe, expect, it } from "vitest";

import { peerRows, type MeasuredRun } from "../src/peer-rows.ts";

/** A run with the given prefill and decode speeds (tokens/s) and evenly spaced decoded tokens. */
function run(prefillTokensPerSecond: number, decodeTokensPerSecond: number, othersCpuShare = 0): MeasuredRun {
  const decodeTokens = 4;
  const step = 1000 / decodeTokensPerSecond;
  return {
    prefillTokens: 512,
    prefillMs: (512 / prefillTokensPerSecond) * 1000,
    decodeTokens,
    decodeMs: decodeTokens * step,
    tokenArrivalMs: Array.from({ length: decodeTokens }, (_, index) => (index + 1) * step),
    generated: [1, 2, 3, 4, 5],
    cpuMs: 1000,
    othersCpuShare,
  };
}

const peerCase = { shape: "1b", format: "q8_0", threads: 2, fileBytes: 1_321_078_944, embeddingDType: "q8_0" as const, madeBy: "this project's writer" };
const memory = { ours: { peakBytes: 1.5e9, afterLoadBytes: 1.4e9 }, peer: { peakBytes: 1.7e9, afterLoadBytes: 1.6e9 } };

describe("peerRows", () => {
  it("gives one prefill and one decode row with medians, ranges and ours ÷ llama.cpp", () => {
    const ours = [run(100, 20), run(110, 22), run(90, 21)];
    const peer = [run(50, 10), run(55, 11), run(60, 12)];
    const [prefill, decode] = peerRows(peerCase, { ours, peer }, memory);
    expect(prefill.phase).toBe("prefill");
    expect(prefill.tokens).toBe(512);
    expect(prefill.ours_tokens_per_s).toBeCloseTo(100, 9);
    expect(prefill.peer_tokens_per_s).toBeCloseTo(55, 9);
    expect(prefill.ratio).toBeCloseTo(100 / 55, 9);
    expect(prefill.ours_tokens_per_s_min).toBeCloseTo(90, 9);
    expect(prefill.ours_tokens_per_s_max).toBeCloseTo(110, 9);
    expect(prefill.ours_inter_token_ms).toBeNull();

    expect(decode.phase).toBe("decode");
    expect(decode.tokens).toBe(4);
    expect(decode.ours_tokens_per_s).toBeCloseTo(21, 9);
    expect(decode.peer_tokens_per_s).toBeCloseTo(11, 9);
    expect(decode.ratio).toBeCloseTo(21 / 11, 9);
    // Evenly spaced tokens: every gap is one run's step, so the percentiles lie between the fastest and slowest step.
    expect(decode.peer_inter_token_ms!.p50).toBeGreaterThan(1000 / 12 - 1e-9);
    expect(decode.peer_inter_token_ms!.p99).toBeLessThanOrEqual(1000 / 10 + 1e-9);
  });

  it("carries the case, memory, others' CPU share and the llama-bench figure into both rows", () => {
    const rows = peerRows(peerCase, { ours: [run(100, 20, 0.1), run(100, 20, 0.3)], peer: [run(50, 10, 0.2), run(50, 10, 0)] }, memory, (phase) => (phase === "decode" ? 28.3 : null));
    for (const row of rows) {
      expect(row).toMatchObject({ shape: "1b", format: "q8_0", threads: 2, file_bytes: 1_321_078_944, embedding_dtype: "q8_0", repetitions: 2, peer: "llama.cpp", made_by: "this project's writer", ratio_llama_bench: null });
      expect(row.ours_peak_memory_bytes).toBe(1.5e9);
      expect(row.peer_resident_after_load_bytes).toBe(1.6e9);
      expect(row.others_cpu_share).toBeCloseTo(0.15, 12); // median of 0, 0.1, 0.2, 0.3
    }
    expect(rows[0].llama_bench_tokens_per_s).toBeNull();
    expect(rows[0].llama_bench_source).toBeNull();
    expect(rows[1].llama_bench_tokens_per_s).toBe(28.3);
    expect(rows[1].llama_bench_source).toBe("BASELINES.md");
  });

  it("with llama-bench measured: its medians and ours ÷ it, the reference figure unused; node-llama-cpp may be absent", () => {
    const bench = [run(200, 25, 0.4), run(220, 30, 0.4), run(180, 20, 0.4)];
    const [prefill, decode] = peerRows(peerCase, { ours: [run(100, 20), run(110, 22), run(90, 21)], llamaBench: bench }, { ours: memory.ours }, () => 99);
    expect(prefill).toMatchObject({ llama_bench_source: "measured", peer_tokens_per_s: null, ratio: null, peer_peak_memory_bytes: null });
    expect(prefill.llama_bench_tokens_per_s).toBeCloseTo(200, 9);
    expect(prefill.llama_bench_tokens_per_s_min).toBeCloseTo(180, 9);
    expect(prefill.llama_bench_tokens_per_s_max).toBeCloseTo(220, 9);
    expect(prefill.ratio_llama_bench).toBeCloseTo(0.5, 12);
    expect(decode.ratio_llama_bench).toBeCloseTo(21 / 25, 12);
    expect(decode.peer_inter_token_ms).toBeNull();
    expect(decode.others_cpu_share).toBeCloseTo(0.2, 12); // median of 0, 0, 0, 0.4, 0.4, 0.4
  });

  it("records the context ours decoded after: the prompt, or BOS alone for a case that decodes from BOS (the tiny model)", () => {
    const [prefill, decode] = peerRows(peerCase, { ours: [run(100, 20)] }, { ours: memory.ours });
    expect([prefill.decode_after_tokens, decode.decode_after_tokens]).toEqual([null, 512]);
    const [tinyPrefill, tinyDecode] = peerRows({ ...peerCase, shape: "tiny", format: "f32", embeddingDType: "f32", decodeFromBos: true }, { ours: [run(100, 20)] }, { ours: memory.ours });
    expect([tinyPrefill.decode_after_tokens, tinyDecode.decode_after_tokens]).toEqual([null, 1]);
    expect(tinyPrefill.tokens).toBe(512);
  });

  it("has the fields --json promises", () => {
    const [row] = peerRows(peerCase, { ours: [run(100, 20)], peer: [run(50, 10)] }, memory);
    for (const key of ["shape", "format", "threads", "phase", "decode_after_tokens", "ours_tokens_per_s", "peer_tokens_per_s", "ratio", "llama_bench_tokens_per_s", "ratio_llama_bench"]) expect(row).toHaveProperty(key);
    expect(JSON.parse(JSON.stringify(row))).toEqual(row);
  });

  it("lists ours' runs in the order they ran: the phase's speed and pool counters, the run's others' CPU, page faults and preemptions", () => {
    const counters = (stalls: number, soloJobs: number, waitMs: number) => ({ jobs: 500, sharedJobs: 400, soloJobs, callerOnlyJobs: 10, stalls, waitMs });
    const first = { ...run(45.5, 7, 0.01), pageFaults: 77_502, involuntaryContextSwitches: 40, pool: { prefill: counters(0, 0, 12), decode: counters(1, 30, 2) } };
    const second = { ...run(38.4, 6, 0.2), pageFaults: 939, involuntaryContextSwitches: 2_100, pool: { prefill: counters(3, 14, 40), decode: counters(0, 0, 1) } };
    const [prefill, decode] = peerRows(peerCase, { ours: [first, second, run(41, 6.5)] }, memory);
    expect(prefill.ours_runs).toEqual([
      { tokens_per_s: expect.closeTo(45.5, 9), others_cpu_share: 0.01, page_faults: 77_502, involuntary_context_switches: 40, pool: counters(0, 0, 12) },
      { tokens_per_s: expect.closeTo(38.4, 9), others_cpu_share: 0.2, page_faults: 939, involuntary_context_switches: 2_100, pool: counters(3, 14, 40) },
      { tokens_per_s: expect.closeTo(41, 9), others_cpu_share: 0, page_faults: null, involuntary_context_switches: null, pool: null },
    ]);
    expect(decode.ours_runs).toEqual([
      { tokens_per_s: expect.closeTo(7, 9), others_cpu_share: 0.01, page_faults: 77_502, involuntary_context_switches: 40, pool: counters(1, 30, 2) },
      { tokens_per_s: expect.closeTo(6, 9), others_cpu_share: 0.2, page_faults: 939, involuntary_context_switches: 2_100, pool: counters(0, 0, 1) },
      { tokens_per_s: expect.closeTo(6.5, 9), others_cpu_share: 0, page_faults: null, involuntary_context_switches: null, pool: null },
    ]);
  });

  it("needs the same number of runs per engine", () => {
    expect(() => peerRows(peerCase, { ours: [run(1, 1)], peer: [] }, memory)).toThrow(/same number/);
    expect(() => peerRows(peerCase, { ours: [], peer: [] }, memory)).toThrow(/same number/);
    expect(() => peerRows(peerCase, { ours: [run(1, 1)], llamaBench: [run(1, 1), run(1, 1)] }, memory)).toThrow(/2 \(llama-bench\)/);
  });
});
