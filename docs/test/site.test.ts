// `pnpm run docs` end to end, as CI runs it: every recipe is copied with `pnpm new-recipe --out` outside the
// repository (the copy installs and its command line runs), then the site is built with the copies included. Every
// package has its API page, every recipe (the copies too) its gallery page, every guide its page, every link
// resolves and every code example type-checks — the build itself fails otherwise.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { docsDirectory, guidesDirectory, repositoryRoot } from "../src/paths.ts";
import { recipeDirectories } from "../src/recipe-catalog.ts";
import { workspacePackages } from "../src/workspace-packages.ts";

const temporary = mkdtempSync(path.join(tmpdir(), "docs-site-"));
const copies = path.join(temporary, "recipes");
const site = path.join(temporary, "site");
const recipes = recipeDirectories(path.join(repositoryRoot, "recipes")).map((directory) => path.basename(directory));
let build: Run;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the test worker (a blocked worker misses vitest's RPC deadlines). */
function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

afterAll(() => rmSync(temporary, { recursive: true, force: true }));

/** Every built page by its <title>'s first part ("Function generate", "llama-3.2-3b", "Getting started"). */
function pagesByTitle(): Map<string, string> {
  const titles = new Map<string, string>();
  for (const entry of readdirSync(site, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".html")) continue;
    const file = path.join(entry.parentPath, entry.name);
    const title = /<title>(.*?) \| /.exec(readFileSync(file, "utf8"))?.[1];
    if (title) titles.set(title, file);
  }
  return titles;
}

describe("the template of every recipe", () => {
  for (const name of recipes) {
    it(`${name}: pnpm new-recipe --out copies it, and the copy installs and runs on its own`, async () => {
      const target = path.join(copies, `copy-of-${name}`);
      const scaffold = await run(process.execPath, [path.join(repositoryRoot, "scripts/new-recipe.mjs"), `copy-of-${name}`, "--from", name, "--out", target], repositoryRoot, 60_000);
      expect(scaffold.status, scaffold.stderr).toBe(0);
      // --prefer-offline: packages come from the store this repository's install filled.
      const install = await run("pnpm", ["install", "--prefer-offline", "--ignore-workspace"], target, 600_000);
      expect(install.status, install.stdout + install.stderr).toBe(0);
      const help = await run(path.join(target, "node_modules/.bin/tsx"), ["recipe.ts", "--help"], target, 300_000);
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toContain(`copy-of-${name}`);
    });
  }
});

describe("pnpm run docs", () => {
  // About a minute on an idle 2-core machine; far longer when the machine is shared.
  beforeAll(async () => {
    build = await run(path.join(docsDirectory, "node_modules/.bin/tsx"), ["src/build-site.ts", "--out", site, "--recipes", copies], docsDirectory, 1_500_000);
  }, 1_600_000);

  it("builds the site with no problem: exports documented, links resolving, examples type-checking", () => {
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
    expect(build.stdout).toMatch(/code examples type-check; \d+ internal links in \d+ pages resolve/);
  });

  it("gives every package its API page", () => {
    const titles = pagesByTitle();
    for (const item of workspacePackages(path.join(repositoryRoot, "packages")).packages) {
      expect(titles.has(`Module ${item.name}`) || titles.has(item.name), `no page for ${item.name}`).toBe(true);
    }
  });

  it("gives every recipe, and every scaffolded copy, its gallery page with its figures or a note that there are none", () => {
    const titles = pagesByTitle();
    for (const name of [...recipes, ...recipes.map((recipe) => `copy-of-${recipe}`)]) {
      const page = titles.get(name);
      expect(page, `no gallery page for ${name}`).toBeDefined();
      const html = readFileSync(page!, "utf8");
      // The text as a reader sees it: the highlighted command lines are split into one <span> per word.
      const text = html.replace(/<[^>]*>/g, "");
      expect(text).toContain(`pnpm recipe ${name}`);
      const original = path.join(repositoryRoot, "recipes", name.replace(/^copy-of-/, ""));
      const measurable = existsSync(path.join(original, "bench.ts")) || existsSync(path.join(original, "accuracy.ts"));
      // A copy starts without results (new-recipe leaves results/ behind); a recipe without bench.ts has no section.
      if (name.startsWith("copy-of-")) expect(text.includes("No results yet"), `${name}: results section`).toBe(measurable);
      else if (existsSync(path.join(repositoryRoot, "recipes", name, "results", "bench.json"))) expect(text).toMatch(/Measured on \d{4}-\d{2}-\d{2} on /);
    }
  });

  it("gives every guide its page", () => {
    const titles = pagesByTitle();
    for (const file of readdirSync(guidesDirectory).filter((name) => name.endsWith(".md"))) {
      const title = /^title: (.*)$/m.exec(readFileSync(path.join(guidesDirectory, file), "utf8"))?.[1];
      expect(title && titles.has(title), `no page for the guide ${file}`).toBe(true);
    }
  });
});
