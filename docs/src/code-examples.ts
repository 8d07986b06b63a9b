// The code examples a reader copies — ```ts blocks in the guides and @example blocks in the packages' doc comments —
// extracted into files and compiled with tsc against the packages, so an example that no longer matches the API
// fails the docs build with the guide's (or source file's) line.

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** One code block to compile. */
export interface CodeExample {
  /** Where it was found, relative to the repository root. */
  source: string;
  /** 1-based line in `source` of the block's first code line. */
  line: number;
  code: string;
}

/** The ```ts / ```typescript blocks of a markdown text. */
export function markdownExamples(markdown: string, source: string): CodeExample[] {
  const examples: CodeExample[] = [];
  const lines = markdown.split("\n");
  for (let index = 0; index < lines.length; index++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[index])) continue;
    const start = index + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    examples.push({ source, line: start + 1, code: lines.slice(start, end).join("\n") });
    index = end;
  }
  return examples;
}

/** The ```ts blocks inside the doc comments (`/** ... *\/`) of a TypeScript source, with the comment's `*` removed. */
export function docCommentExamples(typescript: string, source: string): CodeExample[] {
  const examples: CodeExample[] = [];
  for (const comment of typescript.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const commentLine = typescript.slice(0, comment.index).split("\n").length;
    const lines = comment[0].split("\n").map((line) => line.replace(/^\s*\*( |$)/, ""));
    for (const example of markdownExamples(lines.join("\n"), source)) {
      examples.push({ ...example, line: commentLine + example.line - 1 });
    }
  }
  return examples;
}

function typescriptFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** Every example in the guides (markdown files) and in the doc comments of the given source folders. */
export function collectExamples(repositoryRoot: string, guides: readonly string[], sourceDirectories: readonly string[]): CodeExample[] {
  const relative = (file: string) => path.relative(repositoryRoot, file);
  return [
    ...guides.flatMap((file) => markdownExamples(readFileSync(file, "utf8"), relative(file))),
    ...sourceDirectories.flatMap(typescriptFiles).flatMap((file) => docCommentExamples(readFileSync(file, "utf8"), relative(file))),
  ];
}

/** The result of compiling the examples: one line per type error, pointing into the guide or source file. */
export interface ExampleCheck {
  examples: number;
  problems: string[];
}

/**
 * Writes each example as a module in `directory` (emptied first; it must be somewhere the packages resolve from, such
 * as inside the docs package) and type-checks them all with tsc, using `baseTsconfig`'s compiler options.
 */
export function typeCheckExamples(examples: readonly CodeExample[], directory: string, baseTsconfig: string): ExampleCheck {
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  const HEADER_LINES = 1;
  const files = new Map<string, CodeExample>();
  examples.forEach((example, index) => {
    const name = `example-${String(index).padStart(3, "0")}.ts`;
    files.set(name, example);
    // `export {}` makes every example a module, so top-level await and repeated names are fine.
    writeFileSync(path.join(directory, name), `// ${example.source}:${example.line}\n${example.code}\nexport {};\n`);
  });
  writeFileSync(
    path.join(directory, "tsconfig.json"),
    JSON.stringify({ extends: path.relative(directory, baseTsconfig), compilerOptions: { noEmit: true }, include: ["*.ts"] }, null, 2),
  );
  if (examples.length === 0) return { examples: 0, problems: [] };
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const run = spawnSync(process.execPath, [tsc, "-p", path.join(directory, "tsconfig.json"), "--pretty", "false"], { encoding: "utf8" });
  const problems: string[] = [];
  for (const line of `${run.stdout}${run.stderr}`.split("\n")) {
    const match = /^(?:.*[\\/])?(example-\d+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line.trim());
    if (match && files.has(match[1])) {
      const example = files.get(match[1])!;
      problems.push(`${example.source}:${example.line + Number(match[2]) - 1 - HEADER_LINES}: ${match[4]}`);
    } else if (/error TS\d+/.test(line)) problems.push(line.trim());
  }
  if (run.status !== 0 && problems.length === 0) problems.push(`tsc exited with ${run.status}: ${run.stderr || run.stdout}`.trim());
  return { examples: examples.length, problems };
}
