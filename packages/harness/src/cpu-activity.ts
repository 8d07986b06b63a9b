// How busy the machine's CPUs are, from the kernel's per-CPU time counters (os.cpus()): a snapshot, the busy share
// between two snapshots, and a wait for a quiet machine before a timed run. On a shared machine a run taken while
// another process computes measures the other process as much as the code, so benchmarks wait for a quiet moment and
// record how much CPU time others took during each run.

import os from "node:os";

/** A snapshot of the machine's CPU time counters, from {@link cpuTimes}. */
export interface CpuTimes {
  /** Milliseconds all CPUs spent on anything but idle since boot (user, nice, sys, irq). */
  busyMs: number;
  /** Milliseconds all CPUs spent idle since boot. */
  idleMs: number;
  /** Logical CPUs counted. */
  cpus: number;
}

/** The CPU time all CPUs spent busy and idle since boot; two snapshots give the busy share between them. */
export function cpuTimes(): CpuTimes {
  let busyMs = 0, idleMs = 0;
  const cpus = os.cpus();
  for (const { times } of cpus) {
    busyMs += times.user + times.nice + times.sys + times.irq;
    idleMs += times.idle;
  }
  return { busyMs, idleMs, cpus: cpus.length };
}

/** Share of all CPU time between two snapshots that was busy (0..1); 0 when no time passed. */
export function busyFraction(before: CpuTimes, after: CpuTimes): number {
  const busy = after.busyMs - before.busyMs;
  const total = busy + after.idleMs - before.idleMs;
  return total > 0 ? Math.min(1, Math.max(0, busy / total)) : 0;
}

/**
 * Share of all CPU time between two snapshots taken by processes other than one whose own CPU time over the same
 * interval is `ownCpuMs` (0..1): (busy − own) ÷ (wall time × CPUs).
 */
export function othersBusyFraction(before: CpuTimes, after: CpuTimes, ownCpuMs: number, wallMs: number): number {
  if (!(wallMs > 0)) return 0;
  const others = after.busyMs - before.busyMs - ownCpuMs;
  return Math.min(1, Math.max(0, others / (wallMs * after.cpus)));
}

/** When {@link waitForQuietCpu} counts the machine as quiet, and how long it waits. */
export interface QuietCpuOptions {
  /** Busy share at or below which the machine counts as quiet (default 0.15). */
  maxBusyFraction?: number;
  /** Length of each sample in milliseconds (default 500). */
  sampleMs?: number;
  /** Give up waiting after this many milliseconds (default 60 000). */
  timeoutMs?: number;
  /** Called after each sample that was too busy, with its busy share and the time waited so far. */
  onBusy?: (busyFraction: number, waitedMs: number) => void;
}

/** How {@link waitForQuietCpu}'s wait ended. */
export interface QuietCpuResult {
  /** Whether a quiet sample was seen before the timeout. */
  quiet: boolean;
  /** Busy share of the last sample. */
  busyFraction: number;
  /** Milliseconds spent waiting. */
  waitedMs: number;
}

const sleep = (milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds));

/** Samples the CPUs until one sample is at most `maxBusyFraction` busy or `timeoutMs` has passed. */
export async function waitForQuietCpu(options: QuietCpuOptions = {}): Promise<QuietCpuResult> {
  const maxBusyFraction = options.maxBusyFraction ?? 0.15;
  const sampleMs = options.sampleMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!(maxBusyFraction >= 0 && maxBusyFraction <= 1)) throw new RangeError(`waitForQuietCpu: maxBusyFraction must be within 0..1, got ${maxBusyFraction}`);
  if (!(sampleMs > 0)) throw new RangeError(`waitForQuietCpu: sampleMs must be positive, got ${sampleMs}`);
  const started = performance.now();
  for (;;) {
    const before = cpuTimes();
    await sleep(sampleMs);
    const fraction = busyFraction(before, cpuTimes());
    const waitedMs = performance.now() - started;
    if (fraction <= maxBusyFraction) return { quiet: true, busyFraction: fraction, waitedMs };
    if (waitedMs >= timeoutMs) return { quiet: false, busyFraction: fraction, waitedMs };
    options.onBusy?.(fraction, waitedMs);
  }
}
