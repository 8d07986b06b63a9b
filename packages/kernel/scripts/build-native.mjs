// Builds the native addon (build/Release/kernel.node) with node-gyp, against the headers of the running Node when
// they are installed locally (so no header download is needed), and skips the build when nothing changed.
// On `pnpm install` a failed build only warns (the reference backend still works); `pnpm build` fails loudly.
// INFER_NATIVE_COVERAGE=1 builds the gcov-instrumented, unoptimized addon instead (binding.gyp's kernel_coverage), in
// its own folder build-coverage/ (build-coverage/build/Release/kernel.node), so the normal addon is never replaced;
// load it with INFER_NATIVE_ADDON=<that path> (scripts/coverage-native.mjs does both).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const coverage = process.env.INFER_NATIVE_COVERAGE === "1";
const buildRoot = coverage ? coverageBuildRoot() : packageRoot;
const addon = join(buildRoot, "build", "Release", "kernel.node");
const duringInstall = process.env.npm_lifecycle_event === "install";

/** build-coverage/ with links to binding.gyp and native/: node-gyp always builds into ./build of where it runs. */
function coverageBuildRoot() {
  const root = join(packageRoot, "build-coverage");
  mkdirSync(root, { recursive: true });
  for (const name of ["binding.gyp", "native"]) {
    if (!existsSync(join(root, name))) symlinkSync(join("..", name), join(root, name));
  }
  return root;
}

function newestSource() {
  const files = [join(packageRoot, "binding.gyp"), ...readdirSync(join(packageRoot, "native")).map((name) => join(packageRoot, "native", name))];
  return Math.max(...files.map((file) => statSync(file).mtimeMs));
}

if (existsSync(addon) && statSync(addon).mtimeMs > newestSource() && !process.argv.includes("--force")) {
  console.log("kernel: native addon is up to date");
  process.exit(0);
}

const require = createRequire(import.meta.url);
let nodeGyp;
try {
  nodeGyp = require.resolve("node-gyp/bin/node-gyp.js");
} catch {
  console.warn("kernel: node-gyp is not installed; run `pnpm install` first");
  process.exit(duringInstall ? 0 : 1);
}

const args = [nodeGyp, "rebuild", "--release", `--jobs=${process.env.JOBS ?? "max"}`, `--kernel_coverage=${coverage ? 1 : 0}`];
// Node installed from a distribution package ships its headers under <prefix>/include/node; point node-gyp there.
const prefix = dirname(dirname(process.execPath));
if (existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);

console.log(`kernel: building the native addon (C++, node-gyp${coverage ? ", gcov coverage build in build-coverage/" : ""})…`);
const started = Date.now();
const result = spawnSync(process.execPath, args, { cwd: buildRoot, stdio: "inherit" });
if (result.status !== 0) {
  const message = "kernel: the native addon failed to build; the reference TypeScript backend will be used. " +
    "Install a C++ toolchain (g++ or clang, make, python3) and run `pnpm build`.";
  if (duringInstall) {
    console.warn(message);
    process.exit(0);
  }
  console.error(message);
  process.exit(1);
}
console.log(`kernel: native addon built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
