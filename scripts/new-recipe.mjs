#!/usr/bin/env node
// `pnpm new-recipe <name> [--from <recipe>] [--out <dir>]`: starts a new recipe from an existing one.
// Inside the repository (the default, recipes/<name>) the copy keeps its semver dependencies, which pnpm links to
// the workspace packages. Anywhere else (--out outside the repository) the shared packages are linked from this
// checkout with `link:` paths and the TypeScript settings are inlined, so the folder installs and runs on its own.

import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function fail(message) {
  process.stderr.write(`new-recipe: ${message}\nusage: pnpm new-recipe <name> [--from <recipe>] [--out <dir>]\n`);
  process.exit(2);
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { from: { type: "string" }, out: { type: "string" } } });
const [name] = positionals;
if (!name || !/^[a-z0-9][a-z0-9.-]*$/.test(name)) fail(`the recipe name must be lowercase letters, digits, "." or "-", got "${name ?? ""}"`);
const from = values.from ?? "llama-3.2-3b";
const source = join(root, "recipes", from);
if (!existsSync(join(source, "recipe.ts"))) fail(`no recipe "${from}" to start from`);
// --out is relative to where the user ran pnpm (INIT_CWD; pnpm runs scripts from the repository root).
const target = values.out === undefined ? join(root, "recipes", name) : resolve(process.env.INIT_CWD || process.cwd(), values.out);
if (existsSync(target)) fail(`${target} already exists`);
const inside = !relative(root, target).startsWith("..");

cpSync(source, target, {
  recursive: true,
  filter: (path) => !/[\\/](node_modules|results)([\\/]|$)/.test(relative(source, path) ? path : ""),
});

const packagePath = join(target, "package.json");
const manifest = JSON.parse(readFileSync(packagePath, "utf8"));
manifest.name = `@infer-recipes/recipe-${name}`;
manifest.description = `${name}: started from the ${from} recipe`;
if (!inside) {
  for (const field of ["dependencies", "devDependencies"]) {
    for (const dependency of Object.keys(manifest[field] ?? {})) {
      if (dependency.startsWith("@infer-recipes/")) {
        manifest[field][dependency] = `link:${join(root, "packages", dependency.slice("@infer-recipes/".length))}`;
      }
    }
  }
  // Outside the workspace the base tsconfig is not there: inline it.
  const base = JSON.parse(readFileSync(join(root, "tsconfig.base.json"), "utf8"));
  const tsconfig = JSON.parse(readFileSync(join(target, "tsconfig.json"), "utf8"));
  delete tsconfig.extends;
  tsconfig.compilerOptions = { ...base.compilerOptions, ...tsconfig.compilerOptions };
  writeFileSync(join(target, "tsconfig.json"), JSON.stringify(tsconfig, null, 2) + "\n");
}
writeFileSync(packagePath, JSON.stringify(manifest, null, 2) + "\n");

// The copy answers to its new name: its metadata, its package name, and the commands its files print or document
// (`pnpm recipe|bench|accuracy <from>`). Model ids that contain the old name (e.g. THUDM/chatglm3-6b) stay as they are.
const escaped = from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const renames = [
  [new RegExp(`(name:\\s*")${escaped}(")`, "g"), `$1${name}$2`],
  [new RegExp(`(pnpm (?:recipe|bench|accuracy) )${escaped}(?![\\w.-])`, "g"), `$1${name}`],
  [new RegExp(`@infer-recipes/recipe-${escaped}(?![\\w.-])`, "g"), `@infer-recipes/recipe-${name}`],
];
function renameIn(directory) {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "results") renameIn(path);
    } else if (/\.(ts|md|mjs|json)$/.test(entry.name) && entry.name !== "package.json") {
      const text = readFileSync(path, "utf8");
      const renamed = renames.reduce((current, [pattern, replacement]) => current.replace(pattern, replacement), text);
      if (renamed !== text) writeFileSync(path, renamed);
    }
  }
}
renameIn(target);

process.stdout.write(
  `created ${target}\n` +
    (inside
      ? `next: pnpm install, then pnpm recipe ${name} --help\n`
      : `next: cd ${target} && pnpm install && pnpm exec tsx recipe.ts --help   (shared packages linked from ${root}/packages)\n`),
);
