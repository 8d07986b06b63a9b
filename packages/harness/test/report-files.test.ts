// writeReportFiles creates the directory, writes every file with its contents, and returns the paths in order.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { reportJson, writeReportFiles } from "../src/index.ts";

describe("writeReportFiles", () => {
  it("writes each file into a new directory and returns the paths in order", () => {
    const directory = path.join(mkdtempSync(path.join(tmpdir(), "report-files-")), "results", "nested");
    const paths = writeReportFiles(directory, { "a.md": "# a\n", "a.json": reportJson({ rows: [1, 2] }) });
    expect(paths).toEqual([path.join(directory, "a.md"), path.join(directory, "a.json")]);
    expect(readFileSync(paths[0], "utf8")).toBe("# a\n");
    expect(JSON.parse(readFileSync(paths[1], "utf8"))).toEqual({ rows: [1, 2] });
    expect(readFileSync(paths[1], "utf8").endsWith("}\n")).toBe(true);
  });
});
