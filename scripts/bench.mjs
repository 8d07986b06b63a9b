#!/usr/bin/env node
// `pnpm bench <name>`: a recipe's bench.ts when <name> is a recipe, otherwise the project benchmarks in benchmarks/
// (kernels, ...). Plain JavaScript so it starts before any TypeScript tooling is involved.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [name, ...rest] = process.argv.slice(2);
const tsx = join(root, "node_modules", ".bin", process.platform === "win32" ? "tsx.cmd" : "tsx");
const recipeBench = name ? join(root, "recipes", name, "bench.ts") : "";
const [script, args] = name && existsSync(recipeBench) ? [recipeBench, rest] : [join(root, "benchmarks", "src", "cli.ts"), process.argv.slice(2)];
const result = spawnSync(tsx, [script, ...args], { stdio: "inherit", cwd: process.cwd() });
if (result.error) {
  process.stderr.write(`could not start tsx (${result.error.message}); run pnpm install first\n`);
  process.exit(1);
}
process.exit(result.status ?? 1);
