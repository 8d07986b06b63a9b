#!/usr/bin/env node
// `pnpm recipe <name> [options]` runs recipes/<name>/recipe.ts with tsx; `pnpm recipe --list` lists the recipes.
// `pnpm accuracy <name>` and `pnpm bench <name>` come through here too (--entry accuracy|bench) to run the recipe's
// accuracy.ts or bench.ts. Plain JavaScript so it starts before any TypeScript tooling is involved. The recipe runs
// in a child process that gets this process's signals and whose exit status becomes this process's (run-child.mjs).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { runTypeScript } from "./run-child.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const recipesDirectory = join(root, "recipes");

function recipes() {
  if (!existsSync(recipesDirectory)) return [];
  return readdirSync(recipesDirectory, { withFileTypes: true })
    .filter((item) => item.isDirectory() && existsSync(join(recipesDirectory, item.name, "recipe.ts")))
    .map((item) => {
      const packagePath = join(recipesDirectory, item.name, "package.json");
      const description = existsSync(packagePath) ? JSON.parse(readFileSync(packagePath, "utf8")).description ?? "" : "";
      return { name: item.name, description };
    });
}

function list() {
  const found = recipes();
  if (found.length === 0) return "no recipes yet (recipes/<name>/recipe.ts)";
  const width = Math.max(...found.map((recipe) => recipe.name.length));
  return found.map((recipe) => `  ${recipe.name.padEnd(width)}  ${recipe.description}`).join("\n");
}

let argv = process.argv.slice(2);
let entry = "recipe";
if (argv[0] === "--entry") {
  entry = argv[1];
  argv = argv.slice(2);
}
const [name, ...rest] = argv;
if (!name || name === "--list" || name === "--help" || name === "-h") {
  process.stdout.write(`usage: pnpm ${entry} <name> [options]   (pnpm recipe <name> --help for a recipe's options)\n\nrecipes:\n${list()}\n`);
  process.exit(0);
}
if (!recipes().some((recipe) => recipe.name === name)) {
  process.stderr.write(`unknown recipe "${name}"\n\nrecipes:\n${list()}\n`);
  process.exit(2);
}
const file = join(recipesDirectory, name, `${entry}.ts`);
if (!existsSync(file)) {
  process.stderr.write(`recipe "${name}" has no ${entry}.ts\n`);
  process.exit(2);
}
runTypeScript(file, rest);
