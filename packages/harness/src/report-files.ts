// Writing a benchmark's report files (markdown, JSON, SVG charts) into a results directory in one call, so every
// benchmark leaves the same kind of record and says where it went.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Writes each `file name → contents` into `directory` (created if missing); returns the written paths in order. */
export function writeReportFiles(directory: string, files: Readonly<Record<string, string>>): string[] {
  mkdirSync(directory, { recursive: true });
  return Object.entries(files).map(([name, contents]) => {
    const path = join(directory, name);
    writeFileSync(path, contents);
    return path;
  });
}

/** JSON text of a report object, indented, with a final newline. */
export function reportJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
