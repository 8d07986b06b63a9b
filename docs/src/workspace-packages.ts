// The shared packages the API reference documents: every packages/*/package.json, with its entry point. A package's
// entry file must carry a doc comment with `@module <package name>`: it names the package's section of the site and
// is the package's introduction there.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** One workspace package as the API reference sees it. */
export interface WorkspacePackage {
  /** The npm name, e.g. `@infer-recipes/cache`. */
  name: string;
  /** Absolute path of the package folder. */
  directory: string;
  /** Absolute path of the file its `exports["."]` points at. */
  entryPoint: string;
}

/** The packages under `packagesDirectory`, sorted by name, and what is wrong with any of them. */
export function workspacePackages(packagesDirectory: string): { packages: WorkspacePackage[]; problems: string[] } {
  const packages: WorkspacePackage[] = [];
  const problems: string[] = [];
  for (const folder of readdirSync(packagesDirectory, { withFileTypes: true })) {
    const directory = path.join(packagesDirectory, folder.name);
    const manifestPath = path.join(directory, "package.json");
    if (!folder.isDirectory() || !existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { name?: string; exports?: Record<string, string> | string };
    const where = path.relative(path.dirname(packagesDirectory), directory);
    const entry = typeof manifest.exports === "string" ? manifest.exports : manifest.exports?.["."];
    if (!manifest.name || !entry) {
      problems.push(`${where}/package.json: needs "name" and "exports": { ".": "./src/index.ts" } to be documented`);
      continue;
    }
    const entryPoint = path.join(directory, entry);
    if (!existsSync(entryPoint)) {
      problems.push(`${where}/package.json: exports["."] points at ${entry}, which does not exist`);
      continue;
    }
    const source = readFileSync(entryPoint, "utf8");
    if (!new RegExp(`^\\s*/\\*\\*[\\s\\S]*?@module ${manifest.name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s`, "m").test(source)) {
      problems.push(`${path.relative(path.dirname(packagesDirectory), entryPoint)}: the package's doc comment (/** ... */ at the top) must end with "@module ${manifest.name}"`);
    }
    packages.push({ name: manifest.name, directory, entryPoint });
  }
  packages.sort((a, b) => a.name.localeCompare(b.name));
  return { packages, problems };
}
