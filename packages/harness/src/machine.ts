// A short description of the machine a benchmark ran on, for result files.

import { readFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";

/** The machine and moment a result was measured on, stored in every results file. */
export interface MachineInfo {
  /** CPU model name as the operating system reports it, e.g. "AMD EPYC". */
  cpu: string;
  /** Logical CPUs available to the process. */
  logicalCpus: number;
  /** Total memory, rounded to GiB. */
  memoryGiB: number;
  /** Size of the last-level cache in bytes, null when the system does not say. */
  l3Bytes: number | null;
  /** Node.js version, e.g. "v20.20.2". */
  node: string;
  /** When the measurement was taken, ISO 8601 (UTC). */
  date: string;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/** Size of the last-level cache in bytes, from Linux sysfs (null when unknown). */
export function lastLevelCacheBytes(): number | null {
  for (let index = 4; index >= 0; index--) {
    const level = readText(`/sys/devices/system/cpu/cpu0/cache/index${index}/level`);
    const size = readText(`/sys/devices/system/cpu/cpu0/cache/index${index}/size`);
    if (!level || !size) continue;
    const match = /^(\d+)([KMG]?)/.exec(size);
    if (!match) continue;
    const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2] as "" | "K" | "M" | "G"];
    return Number(match[1]) * unit;
  }
  return null;
}

/** The machine this process runs on, and now. */
export function machineInfo(): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    logicalCpus: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    l3Bytes: lastLevelCacheBytes(),
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** One line for a report: "AMD EPYC, 2 logical CPUs, 24 GiB RAM; Node v20.20.2". */
export function describeMachine(info: MachineInfo): string {
  const cache = info.l3Bytes ? `, ${Math.round(info.l3Bytes / 1024 ** 2)} MiB last-level cache` : "";
  return `${info.cpu}, ${info.logicalCpus} logical CPUs, ${info.memoryGiB} GiB RAM${cache}; Node ${info.node}`;
}
