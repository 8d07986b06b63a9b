#!/usr/bin/env node
// `pnpm bench <name>`: a recipe's bench.ts when <name> is a recipe, otherwise the project benchmarks in benchmarks/
// (kernels, ...). Plain JavaScript so it starts before any TypeScript tooling is involved; signals and the exit
// status pass through as for recipes (run-child.mjs).

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { runTypeScript } from "./run-child.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [name, ...rest] = process.argv.slice(2);
const recipeBench = name ? join(root, "recipes", name, "bench.ts") : "";
const [script, args] = name && existsSync(recipeBench) ? [recipeBench, rest] : [join(root, "benchmarks", "src", "cli.ts"), process.argv.slice(2)];
runTypeScript(script, args);
