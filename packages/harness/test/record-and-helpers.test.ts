// The small contracts of the harness, each problem and boundary on its own: every field resultsRecordProblems names,
// positiveIntegerOption at 1, summarize and timeMilliseconds (with a fixed clock), the step reporter's lines (with fake
// time), and availableMemoryBytes reading /proc/meminfo (with a fixed file).

import os from "node:os";

import { afterEach, describe, expect, it, vi } from "vitest";

vi.mock("node:fs", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:fs")>();
  return { ...original, readFileSync: vi.fn(original.readFileSync) };
});
import * as fs from "node:fs";

import { availableMemoryBytes, createStepReporter, positiveIntegerOption, resultsRecordProblems, summarize, median, timeMilliseconds } from "../src/index.ts";

const complete = {
  machine: { cpu: "test cpu", date: "2026-12-04T12:00:00.000Z" },
  command: "pnpm bench my-recipe",
  headline: [{ label: "decode", value: 12.5, unit: "tok/s" }],
  rows: [],
};
const figureProblem = (index: number) => `headline[${index}]: { label: string, value: finite number, unit: string }`;

describe("resultsRecordProblems, field by field", () => {
  const cases: Array<[string, unknown, string[]]> = [
    ["complete", complete, []],
    ["null", null, ["(top level): a JSON object"]],
    ["a string", "record", ["(top level): a JSON object"]],
    ["no machine", { ...complete, machine: undefined }, ["machine: an object (machineInfo() from @infer-recipes/harness)"]],
    ["a null machine", { ...complete, machine: null }, ["machine: an object (machineInfo() from @infer-recipes/harness)"]],
    ["a machine list", { ...complete, machine: [] }, ["machine: an object (machineInfo() from @infer-recipes/harness)"]],
    ["no cpu", { ...complete, machine: { date: complete.machine.date } }, ["machine.cpu: a string"]],
    ["no date", { ...complete, machine: { cpu: "x" } }, ["machine.date: an ISO 8601 date string"]],
    ["a numeric date", { ...complete, machine: { cpu: "x", date: 5 } }, ["machine.date: an ISO 8601 date string"]],
    ["a numeric command", { ...complete, command: 7 }, ["command: the command line that produced the file"]],
    ["a blank command", { ...complete, command: "   " }, ["command: the command line that produced the file"]],
    ["no headline", { ...complete, headline: undefined }, ["headline: a non-empty list of { label, value, unit }"]],
    ["an empty headline", { ...complete, headline: [] }, ["headline: a non-empty list of { label, value, unit }"]],
    ["a null figure", { ...complete, headline: [null] }, [figureProblem(0)]],
    ["a figure list", { ...complete, headline: [["decode", 1, "x"]] }, [figureProblem(0)]],
    ["a numeric label", { ...complete, headline: [{ label: 1, value: 1, unit: "x" }] }, [figureProblem(0)]],
    ["a text value", { ...complete, headline: [{ label: "a", value: "1", unit: "x" }] }, [figureProblem(0)]],
    ["an infinite value", { ...complete, headline: [{ label: "a", value: Infinity, unit: "x" }] }, [figureProblem(0)]],
    ["no unit", { ...complete, headline: [{ label: "a", value: 1 }] }, [figureProblem(0)]],
    ["an empty unit", { ...complete, headline: [{ label: "a", value: 1, unit: "" }] }, []],
    ["no rows", { ...complete, rows: undefined }, ["rows: a list of the measured configurations"]],
    ["rows as an object", { ...complete, rows: {} }, ["rows: a list of the measured configurations"]],
  ];
  for (const [name, record, problems] of cases) {
    it(`${name}: ${problems.length === 0 ? "no problem" : problems.join("; ")}`, () => {
      expect(resultsRecordProblems(record)).toEqual(problems);
    });
  }

  it("lists every problem, in field order, and each bad figure by its index", () => {
    const record = { machine: { cpu: 1, date: "never" }, command: "", headline: [complete.headline[0], { label: "x" }, null], rows: null };
    expect(resultsRecordProblems(record)).toEqual([
      "machine.cpu: a string",
      "machine.date: an ISO 8601 date string",
      "command: the command line that produced the file",
      figureProblem(1),
      figureProblem(2),
      "rows: a list of the measured configurations",
    ]);
  });
});

describe("positiveIntegerOption at its boundary", () => {
  it("accepts 1 and refuses 0", () => {
    expect(positiveIntegerOption("runs", "1", 5)).toBe(1);
    expect(() => positiveIntegerOption("runs", "0", 5)).toThrow('--runs must be a positive integer, got "0"');
    expect(positiveIntegerOption("runs", " 3 ", 5)).toBe(3);
  });
});

describe("summarize and timeMilliseconds", () => {
  afterEach(() => vi.restoreAllMocks());

  it("gives the median, minimum, maximum and count of odd and even counts, whatever the order", () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, count: 3 });
    expect(summarize([4, 10, 1, 2])).toEqual({ median: 3, min: 1, max: 10, count: 4 });
    expect(summarize([7])).toEqual({ median: 7, min: 7, max: 7, count: 1 });
    expect(median([9, 100, 2, 3, 1])).toBe(3);
    expect(() => summarize([])).toThrow(new RangeError("summarize: no values"));
  });

  it("converts the high-resolution clock's nanoseconds to milliseconds around one call", () => {
    const clock = vi.spyOn(process.hrtime, "bigint").mockReturnValueOnce(1_000_000n).mockReturnValueOnce(3_500_000n);
    let calls = 0;
    expect(timeMilliseconds(() => calls++)).toBe(2.5);
    expect(calls).toBe(1);
    expect(clock).toHaveBeenCalledTimes(2);
  });
});

describe("createStepReporter", () => {
  afterEach(() => vi.useRealTimers());

  it("numbers each step out of the total with the elapsed seconds", () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    const lines: string[] = [];
    const stream = { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream;
    const progress = createStepReporter(3, stream);
    vi.advanceTimersByTime(1500);
    progress("baseline");
    vi.advanceTimersByTime(12_340);
    progress("+ KV cache");
    expect(lines).toEqual(["[1/3 1.5s] baseline\n", "[2/3 13.8s] + KV cache\n"]);
  });
});

describe("availableMemoryBytes", () => {
  afterEach(() => vi.restoreAllMocks());
  const meminfo = vi.mocked(fs.readFileSync);

  it("reads MemAvailable from /proc/meminfo, in bytes", () => {
    meminfo.mockReturnValueOnce("MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    8123456 kB\nBuffers:          100 kB\n");
    expect(availableMemoryBytes()).toBe(8_123_456 * 1024);
    expect(meminfo).toHaveBeenLastCalledWith("/proc/meminfo", "utf8");
  });

  it("falls back to the free memory without a MemAvailable line or without the file", () => {
    const free = vi.spyOn(os, "freemem").mockReturnValue(4096);
    meminfo.mockReturnValueOnce("MemTotal:       16000000 kB\nMemFree:         1000000 kB\n");
    expect(availableMemoryBytes()).toBe(4096);
    meminfo.mockReturnValueOnce("XMemAvailable: 5 kB\nMemAvailable: 5 kBytes\n");
    expect(availableMemoryBytes()).toBe(4096);
    meminfo.mockImplementationOnce(() => {
      throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
    });
    expect(availableMemoryBytes()).toBe(4096);
    expect(free).toHaveBeenCalledTimes(3);
  });

  it("reads a value of many digits after any whitespace", () => {
    meminfo.mockReturnValueOnce("MemAvailable:\t123 kB\n");
    expect(availableMemoryBytes()).toBe(123 * 1024);
  });
});
