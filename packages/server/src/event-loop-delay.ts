// How long the HTTP thread's event loop was held up, measured inside the server, and why.
//
// perf_hooks.monitorEventLoopDelay keeps a timer due every RESOLUTION_MS and records how late it fires: a request
// that blocks the thread (a synchronous parse, a model step in this thread) shows up as a late timer of that length,
// but so does a thread the operating system did not run (a busy machine). To tell the two apart, a second timer of
// the same period reads the thread's scheduler counters (Linux /proc/thread-self/schedstat: nanoseconds run on a CPU
// and nanoseconds spent runnable but waiting for one) at every tick: the CPU time the thread itself used between two
// ticks bounds how long it can have blocked itself, whatever the machine's load. /health reports both
// (event_loop_delay_ms), so an operator sees a blocked server directly.

import { closeSync, openSync, readSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

/** How often both timers are due, in milliseconds (their lateness is the delay). */
const RESOLUTION_MS = 10;

/** Event-loop delay since the monitor started, in milliseconds beyond the timer's due time. */
export interface EventLoopDelay {
  /** Median delay. */
  p50: number;
  /** 99th-percentile delay. */
  p99: number;
  /** Largest delay. */
  max: number;
  /** Timer ticks measured. */
  samples: number;
  /**
   * The most CPU time this thread used between two consecutive ticks (ms): an upper bound on the longest time it held
   * itself up, independent of other processes' load. Undefined where the scheduler counters cannot be read.
   */
  ownCpuMax?: number;
  /** Of the most delayed tick interval: ms this thread ran on a CPU, and ms it was runnable but not run (the OS's share). */
  longestInterval?: {
    /** How late the tick that ended this interval was (ms). */
    delay: number;
    /** Ms this thread ran on a CPU during the interval. */
    running: number;
    /** Ms this thread was runnable but not run (other processes had the CPUs). */
    waitingForCpu: number;
  };
}

interface SchedulerCounters {
  /** Nanoseconds run on a CPU, and spent runnable but waiting, since the thread started. */
  runningNs: number;
  waitingNs: number;
}

/** Reads this thread's /proc/thread-self/schedstat through an open descriptor (one pread per call); undefined off Linux. */
class ThreadSchedulerCounters {
  private readonly buffer = Buffer.alloc(128);
  private constructor(private readonly descriptor: number) {}

  static open(): ThreadSchedulerCounters | undefined {
    try {
      const counters = new ThreadSchedulerCounters(openSync("/proc/thread-self/schedstat", "r"));
      return counters.read() ? counters : (counters.close(), undefined);
    } catch {
      return undefined;
    }
  }

  read(): SchedulerCounters | undefined {
    const length = readSync(this.descriptor, this.buffer, 0, this.buffer.length, 0);
    const [running, waiting] = this.buffer.toString("latin1", 0, length).split(" ").map(Number);
    return Number.isFinite(running) && Number.isFinite(waiting) ? { runningNs: running, waitingNs: waiting } : undefined;
  }

  close(): void {
    closeSync(this.descriptor);
  }
}

/** Measures this thread's event-loop delay from start() until stop(), with its own and the OS's share. */
export class EventLoopDelayMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private counters: ThreadSchedulerCounters | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ownCpuMax = 0;
  private longestInterval: EventLoopDelay["longestInterval"];

  /** Starts both timers (the scheduler counters only where Linux provides them). */
  start(): void {
    this.histogram.enable();
    this.counters = ThreadSchedulerCounters.open();
    if (!this.counters) return;
    let last = { at: performance.now(), ...this.counters.read()! };
    this.timer = setInterval(() => {
      const now = { at: performance.now(), ...this.counters!.read()! };
      const running = (now.runningNs - last.runningNs) / 1e6;
      const waitingForCpu = (now.waitingNs - last.waitingNs) / 1e6;
      const delay = Math.max(0, now.at - last.at - RESOLUTION_MS);
      this.ownCpuMax = Math.max(this.ownCpuMax, running);
      if (delay > (this.longestInterval?.delay ?? -1)) this.longestInterval = { delay, running, waitingForCpu };
      last = now;
    }, RESOLUTION_MS).unref();
  }

  /** Stops both timers and closes the scheduler-counter file. */
  stop(): void {
    this.histogram.disable();
    clearInterval(this.timer);
    this.counters?.close();
    this.counters = undefined;
  }

  /** The delay since start(). */
  read(): EventLoopDelay {
    // The histogram's values are whole timer intervals: the resolution is taken off.
    const delay = (nanoseconds: number) => (this.histogram.count > 0 ? Math.max(0, nanoseconds / 1e6 - RESOLUTION_MS) : 0);
    const measured: EventLoopDelay = { p50: delay(this.histogram.percentile(50)), p99: delay(this.histogram.percentile(99)), max: delay(this.histogram.max), samples: this.histogram.count };
    if (this.timer) {
      measured.ownCpuMax = this.ownCpuMax;
      measured.longestInterval = this.longestInterval;
    }
    return measured;
  }
}
