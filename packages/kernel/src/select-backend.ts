// Chooses the backend at start-up: INFER_BACKEND=native|reference (or an explicit option) wins; otherwise the native
// addon when it loads, else the reference backend with a warning that says why. Threads default to physical cores.
// Every environment setting is checked: an unknown or out-of-range value is a KernelError naming it and what is
// allowed, never silently ignored.

import { readFileSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";

import type { Backend } from "./backend.ts";
import { KernelError } from "./errors.ts";
import { Kernel } from "./kernel.ts";
import { loadAddon, type NativeAddon } from "./native/addon.ts";
import { NativeBackend } from "./native/native-backend.ts";
import { ReferenceBackend } from "./reference/index.ts";

/** "native" or "reference". */
export type BackendName = Backend["name"];

/** Which backend {@link createKernel} makes, and with how many threads. */
export interface KernelOptions {
  /** "native" or "reference"; defaults to INFER_BACKEND, then native when available. */
  backend?: BackendName;
  /** Worker threads for the native backend; defaults to INFER_THREADS, then the number of physical cores. */
  threads?: number;
  /** Called with the fallback warning instead of console.warn. */
  warn?: (message: string) => void;
}

/** Physical cores (hyper-threads of one core count once), read from Linux sysfs; logical CPUs elsewhere. */
export function physicalCoreCount(): number {
  try {
    const root = "/sys/devices/system/cpu";
    const cores = new Set<string>();
    for (const entry of readdirSync(root)) {
      if (!/^cpu\d+$/.test(entry)) continue;
      try {
        cores.add(readFileSync(`${root}/${entry}/topology/thread_siblings_list`, "utf8").trim());
      } catch {
        // offline CPU: no topology
      }
    }
    if (cores.size > 0) return Math.min(cores.size, availableParallelism());
  } catch {
    // not Linux
  }
  return availableParallelism();
}

/** The most threads the native thread pool runs (native/addon.cc setThreads). */
export const MAXIMUM_THREADS = 256;

/** The instruction sets INFER_NATIVE_ISA may name. */
export const NATIVE_ISAS = ["avx512", "avx2", "portable"] as const;
/** "avx512", "avx2" or "portable". */
export type NativeIsa = (typeof NATIVE_ISAS)[number];

function threadsFromEnvironment(): number | undefined {
  const text = process.env.INFER_THREADS;
  if (!text) return undefined;
  const threads = Number(text);
  if (!Number.isInteger(threads) || threads < 1 || threads > MAXIMUM_THREADS) {
    throw new KernelError(`INFER_THREADS must be an integer in 1..${MAXIMUM_THREADS}, got "${text}"`);
  }
  return threads;
}

function checkThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAXIMUM_THREADS) {
    throw new KernelError(`threads must be an integer in 1..${MAXIMUM_THREADS}, got ${threads}`);
  }
  return threads;
}

/** INFER_NATIVE_ISA, checked: undefined when unset; a KernelError for a name that is not an instruction set. */
export function requestedNativeIsa(environment: NodeJS.ProcessEnv = process.env): NativeIsa | undefined {
  const text = environment.INFER_NATIVE_ISA;
  if (text === undefined || text === "") return undefined;
  if (!(NATIVE_ISAS as readonly string[]).includes(text)) {
    throw new KernelError(`INFER_NATIVE_ISA must be one of ${NATIVE_ISAS.join(", ")}, got "${text}"`);
  }
  return text as NativeIsa;
}

/** Makes the addon run INFER_NATIVE_ISA's kernels; a KernelError when this CPU cannot run them. */
function applyRequestedIsa(addon: NativeAddon): void {
  const isa = requestedNativeIsa();
  if (isa === undefined) return;
  if (!addon.selectIsa(isa)) {
    const features = addon.features();
    const usable = NATIVE_ISAS.filter((name) => name === "portable" || (name === "avx2" ? features.avx2 : features.avx512));
    throw new KernelError(`INFER_NATIVE_ISA=${isa}, but this CPU cannot run it (it runs: ${usable.join(", ")})`);
  }
}

/**
 * A kernel on the backend asked for (option, then INFER_BACKEND), else on the native addon when it loads, else on
 * the reference backend with a warning that says why the addon is missing. Asking for "native" when the addon cannot
 * load is an error.
 *
 * @example
 * ```ts
 * import { createKernel } from "@infer-recipes/kernel";
 *
 * const kernel = createKernel({ threads: 2 });
 * console.log(kernel.name); // "native" when the addon built
 * const reference = createKernel({ backend: "reference" }); // the oracle, for comparisons
 * ```
 */
export function createKernel(options: KernelOptions = {}): Kernel {
  const requested = options.backend ?? (process.env.INFER_BACKEND as BackendName | undefined) ?? undefined;
  if (requested !== undefined && requested !== "native" && requested !== "reference") {
    throw new KernelError(`INFER_BACKEND must be "native" or "reference", got "${requested}"`);
  }
  const threads = checkThreads(options.threads ?? threadsFromEnvironment() ?? Math.min(physicalCoreCount(), MAXIMUM_THREADS));
  if (requested === "reference") return new Kernel(new ReferenceBackend());
  const load = loadAddon();
  if (load.addon) {
    applyRequestedIsa(load.addon);
    return new Kernel(new NativeBackend(load.addon, threads));
  }
  if (requested === "native") throw new KernelError(`INFER_BACKEND=native, but the native addon is unavailable: ${load.reason}`);
  (options.warn ?? console.warn)(`warning: native kernels unavailable, using the slow reference backend: ${load.reason}`);
  return new Kernel(new ReferenceBackend());
}

let shared: Kernel | undefined;

/** The process-wide kernel, created on first use with the default options. */
export function defaultKernel(): Kernel {
  shared ??= createKernel();
  return shared;
}

/** Whether the native addon can be loaded here, and if not, why. */
export function nativeAvailability():
  | {
      /** The addon loads. */
      available: true;
    }
  | {
      /** The addon does not load. */
      available: false;
      /** Why: not built, built for another platform, failed to load. */
      reason: string;
    } {
  const load = loadAddon();
  return load.addon ? { available: true } : { available: false, reason: load.reason };
}
