// The results-file contract: a complete record passes; a missing machine date, command or headline is named.

import { describe, expect, it } from "vitest";

import { machineInfo, resultsRecordProblems, type ResultsRecord } from "../src/index.ts";

const complete: ResultsRecord = {
  machine: machineInfo(),
  command: "pnpm bench my-recipe",
  headline: [{ label: "decode", value: 12.5, unit: "tok/s" }],
  rows: [],
};

describe("resultsRecordProblems", () => {
  it("accepts a complete record", () => {
    expect(resultsRecordProblems(complete)).toEqual([]);
    expect(resultsRecordProblems(JSON.parse(JSON.stringify(complete)))).toEqual([]);
  });

  it("names each missing or malformed field", () => {
    const { headline: _headline, ...withoutHeadline } = complete;
    expect(resultsRecordProblems(withoutHeadline)).toEqual(["headline: a non-empty list of { label, value, unit }"]);
    expect(resultsRecordProblems({ ...complete, machine: { ...complete.machine, date: "yesterday" } })).toEqual(["machine.date: an ISO 8601 date string"]);
    expect(resultsRecordProblems({ ...complete, command: "" })).toEqual(["command: the command line that produced the file"]);
    expect(resultsRecordProblems({ ...complete, headline: [{ label: "decode", value: Number.NaN, unit: "tok/s" }] })).toEqual([
      "headline[0]: { label: string, value: finite number, unit: string }",
    ]);
    expect(resultsRecordProblems([])).toEqual(["(top level): a JSON object"]);
  });
});
