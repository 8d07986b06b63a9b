// The contract between the peer benchmark and its engine workers: each engine (this project's, llama.cpp's) runs in
// its own child process, so its peak resident memory is its own, and answers these messages over the IPC channel.

export type EngineName = "ours" | "llama.cpp";
export const engineNames: readonly EngineName[] = ["ours", "llama.cpp"];

/** One measured run: a prefill of the prompt (one batch), then greedy decoding of `decodeTokens` tokens. */
export interface RunMeasurement {
  prefillTokens: number;
  prefillMs: number;
  decodeTokens: number;
  decodeMs: number;
  /** performance.now() offsets from the start of decoding at which each decoded token was known [decodeTokens]. */
  tokenArrivalMs: number[];
  /** The greedy tokens: the one after the prompt, then the decoded ones. */
  generated: number[];
  /** CPU time the worker process used during the run (all its threads), in milliseconds. */
  cpuMs: number;
  /** Page faults (minor and major) the worker process took during the run (engine workers only, not llama-bench). */
  pageFaults?: number;
  /** Times the kernel took a core from one of the worker process's threads while it could still run (a time slice
   *  ended with another thread or process waiting for the core) during the run (engine workers only). */
  involuntaryContextSwitches?: number;
  /** This project's engine only: what its native thread pool did over the prefill and over the decode. */
  pool?: { prefill: PoolCounters; decode: PoolCounters };
}

/** The native thread pool's counters over one phase of a run (differences of NativeBackend.poolStatistics()). */
export interface PoolCounters {
  /** Jobs (parallel_for calls) run, and those a helper thread took part in. */
  jobs: number;
  sharedJobs: number;
  /** Jobs of several tasks the calling thread ran alone because the pool was backing off after a stall. */
  soloJobs: number;
  /** Jobs of several tasks the calling thread ran alone by design (too small to hand over: CallerOnly). */
  callerOnlyJobs: number;
  /** Stalls: the caller waited for a helper descheduled in the middle of a task (each starts a back-off). */
  stalls: number;
  /** Time the calling thread waited for helpers to finish their tasks, in milliseconds. */
  waitMs: number;
}

/** What a worker's engine does; ours and llama.cpp's implement it. */
export interface PeerEngine {
  /** Engine, build and settings, for result files. */
  readonly description: string;
  setThreads(threads: number): Promise<void>;
  run(prompt: readonly number[], decodeTokens: number): Promise<Omit<RunMeasurement, "cpuMs" | "pageFaults" | "involuntaryContextSwitches">>;
  close(): Promise<void>;
}

export interface LoadRequest {
  kind: "load";
  modelPath: string;
  threads: number;
  /** Tokens the KV cache / context holds (prompt + decoded tokens + margin). */
  contextSize: number;
  /** Tokens per batch (llama.cpp's batch size; ours prefills the prompt as one chunk of at most this). */
  batchSize: number;
  /** llama.cpp only: memory-map the file (true) or read it into its own memory as this project's loader does (false). */
  memoryMap: boolean;
}

export type WorkerRequest =
  | LoadRequest
  | { kind: "threads"; threads: number }
  | { kind: "run"; prompt: number[]; decodeTokens: number }
  | { kind: "memory" }
  | { kind: "exit" };

export type WorkerReply =
  | { kind: "loaded"; description: string; loadMs: number; residentBytes: number; peakResidentBytes: number }
  | { kind: "threads"; threads: number }
  | { kind: "run"; measurement: RunMeasurement }
  | { kind: "memory"; peakResidentBytes: number; residentBytes: number }
  | { kind: "error"; message: string };
