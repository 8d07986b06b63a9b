// Entry point of an engine worker process of the peer benchmark (started by peer-worker-client.ts with the engine
// name as its argument): loads the engine on request and answers measurement requests over the IPC channel, one at a
// time, so the benchmark can interleave the two engines run by run while each keeps its model loaded. Each run's reply
// carries the CPU time, page faults and involuntary context switches the process took during it.

import { peakResidentBytes, residentBytes } from "@infer-recipes/harness";

import { createLlamaCppPeerEngine } from "./llama-cpp-peer-engine.ts";
import { createOurPeerEngine } from "./our-peer-engine.ts";
import type { EngineName, PeerEngine, WorkerReply, WorkerRequest } from "./peer-protocol.ts";

const engineName = process.argv[2] as EngineName;
let engine: PeerEngine | undefined;

/** Page faults in a resource usage reading: minor (a page touched for the first time, or moved) and major (read in). */
function pageFaults(usage: NodeJS.ResourceUsage): number {
  return usage.minorPageFault + usage.majorPageFault;
}

function reply(message: WorkerReply): void {
  process.send!(message);
}

async function handle(request: WorkerRequest): Promise<WorkerReply | undefined> {
  switch (request.kind) {
    case "load": {
      const started = performance.now();
      engine = engineName === "ours" ? createOurPeerEngine(request) : await createLlamaCppPeerEngine(request);
      const loadMs = performance.now() - started;
      return { kind: "loaded", description: engine.description, loadMs, residentBytes: residentBytes(), peakResidentBytes: peakResidentBytes() };
    }
    case "threads":
      await engine!.setThreads(request.threads);
      return { kind: "threads", threads: request.threads };
    case "run": {
      const cpuBefore = process.cpuUsage();
      const before = process.resourceUsage();
      const measurement = await engine!.run(request.prompt, request.decodeTokens);
      const cpu = process.cpuUsage(cpuBefore);
      const after = process.resourceUsage();
      return {
        kind: "run",
        measurement: {
          ...measurement,
          cpuMs: (cpu.user + cpu.system) / 1000,
          pageFaults: pageFaults(after) - pageFaults(before),
          involuntaryContextSwitches: after.involuntaryContextSwitches - before.involuntaryContextSwitches,
        },
      };
    }
    case "memory":
      return { kind: "memory", peakResidentBytes: peakResidentBytes(), residentBytes: residentBytes() };
    case "exit":
      await engine?.close();
      process.disconnect();
      return undefined;
  }
}

if (!process.send) {
  process.stderr.write("peer-worker.ts is started by the peer benchmark with an IPC channel, not run directly\n");
  process.exit(2);
}
let queue = Promise.resolve();
process.on("message", (request: WorkerRequest) => {
  queue = queue.then(async () => {
    try {
      const answer = await handle(request);
      if (answer) reply(answer);
    } catch (error) {
      reply({ kind: "error", message: (error as Error).stack ?? String(error) });
    }
  });
});
