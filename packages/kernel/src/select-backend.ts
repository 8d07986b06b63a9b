// Chooses the backend at start-up: INFER_BACKEND=native|reference (or an explicit option) wins; otherwise the native
// addon when it loads, else the reference backend with a warning that says why. Threads default to physical cores.

import { readFileSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";

import type { Backend } from "./backend.ts";
import { KernelError } from "./errors.ts";
import { Kernel } from "./kernel.ts";
import { loadAddon } from "./native/addon.ts";
import { NativeBackend } from "./native/native-backend.ts";
import { ReferenceBackend } from "./reference/index.ts";

export type BackendName = Backend["name"];

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

function threadsFromEnvironment(): number | undefined {
  const text = process.env.INFER_THREADS;
  if (!text) return undefined;
  const threads = Number(text);
  if (!Number.isInteger(threads) || threads < 1) throw new KernelError(`INFER_THREADS must be a positive integer, got "${text}"`);
  return threads;
}

export function createKernel(options: KernelOptions = {}): Kernel {
  const requested = options.backend ?? (process.env.INFER_BACKEND as BackendName | undefined) ?? undefined;
  if (requested !== undefined && requested !== "native" && requested !== "reference") {
    throw new KernelError(`INFER_BACKEND must be "native" or "reference", got "${requested}"`);
  }
  const threads = options.threads ?? threadsFromEnvironment() ?? physicalCoreCount();
  if (requested === "reference") return new Kernel(new ReferenceBackend());
  const load = loadAddon();
  if (load.addon) return new Kernel(new NativeBackend(load.addon, threads));
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
export function nativeAvailability(): { available: true } | { available: false; reason: string } {
  const load = loadAddon();
  return load.addon ? { available: true } : { available: false, reason: load.reason };
}
