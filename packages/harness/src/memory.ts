// Memory figures for benchmark rows: resident set now and the process's peak so far (Linux reports the peak in KiB).

import { resourceUsage } from "node:process";

export function residentBytes(): number {
  return process.memoryUsage.rss();
}

/** Peak resident set size of this process since it started. */
export function peakResidentBytes(): number {
  return resourceUsage().maxRSS * 1024;
}
