// Memory figures for benchmark rows: resident set now and the process's peak so far (Linux reports the peak in KiB),
// and the memory the machine can still give out before a benchmark loads a large model.

import { readFileSync } from "node:fs";
import os from "node:os";
import { resourceUsage } from "node:process";

/** Resident set size of this process now, in bytes. */
export function residentBytes(): number {
  return process.memoryUsage.rss();
}

/** Peak resident set size of this process since it started. */
export function peakResidentBytes(): number {
  return resourceUsage().maxRSS * 1024;
}

/** Bytes the machine can hand out without swapping: Linux's MemAvailable (free + reclaimable cache), else free memory. */
export function availableMemoryBytes(): number {
  try {
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return os.freemem();
}
