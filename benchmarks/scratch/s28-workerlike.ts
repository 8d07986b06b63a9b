// Scratch (s28, not committed): the peers benchmark's path for ours — the real peer worker (forked, IPC), loaded with
// "file read into memory", warm-up of 32 tokens + 8 decode, then prefill 512 + decode — interleaved with the same
// engine (createOurPeerEngine) run in this process, also warmed up the same way. Per run: tok/s, the pool's counters,
// minor faults and AnonHugePages of the process that ran it.
import fs from "node:fs";
import { PeerWorker } from "../src/peer-worker-client.ts";
import { createOurPeerEngine } from "../src/our-peer-engine.ts";
import { benchmarkPrompt } from "../src/peers.ts";
const [file, threadsText = "2", roundsText = "5", decodeText = "8", modes = "worker,inproc"] = process.argv.slice(2);
const threads = Number(threadsText), rounds = Number(roundsText), decodeTokens = Number(decodeText);
const prompt = benchmarkPrompt(512, [128000], 128000);
const load = { kind: "load" as const, modelPath: file, threads, contextSize: 512 + decodeTokens + 16, batchSize: 512, memoryMap: false };
const useWorker = modes.includes("worker"), useInproc = modes.includes("inproc");
const stat = (pid: number) => { const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return { minflt: Number(f[7]), majflt: Number(f[9]) }; };
const huge = (pid: number) => { const m = /AnonHugePages:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")); return m ? Number(m[1]) / 1024 : -1; };
const t0 = performance.now();
const worker = useWorker ? PeerWorker.start("ours") : undefined;
const workerPid = worker ? (worker as unknown as { child: { pid: number } }).child.pid : 0;
if (worker) { const l = await worker.request(load, "loaded"); console.log(`worker ${workerPid} loaded in ${(l.loadMs / 1000).toFixed(1)} s`); }
const engine = useInproc ? createOurPeerEngine(load) : undefined;
console.log(`loaded all after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (process.env.WAITFILE) {
  fs.writeFileSync(process.env.WAITFILE + ".ready", "");
  while (!fs.existsSync(process.env.WAITFILE)) await new Promise((r) => setTimeout(r, 200));
}
type M = { prefillTokens: number; prefillMs: number; decodeTokens: number; decodeMs: number; pool?: { prefill: Record<string, number>; decode: Record<string, number> } };
const show = (who: string, label: string, m: M, pid: number, before: { minflt: number; majflt: number }) => {
  const after = stat(pid);
  const p = m.pool?.prefill, d = m.pool?.decode;
  const pool = (c?: Record<string, number>) => (c ? `stalls ${c.stalls} solo ${c.soloJobs} shared ${c.sharedJobs}/${c.jobs} wait ${c.waitMs.toFixed(1)} ms` : "-");
  console.log(`${who.padEnd(6)} ${label.padEnd(8)} prefill ${((m.prefillTokens / m.prefillMs) * 1000).toFixed(1)} tok/s (${pool(p)}) decode ${((m.decodeTokens / m.decodeMs) * 1000).toFixed(2)} tok/s (${pool(d)}) minflt +${after.minflt - before.minflt} majflt +${after.majflt - before.majflt} anonhuge ${huge(pid).toFixed(0)} MiB`);
};
const runWorker = async (label: string, p: number[], n: number) => {
  const before = stat(workerPid);
  const r = await worker!.request({ kind: "run", prompt: p, decodeTokens: n }, "run");
  show("worker", label, r.measurement as M, workerPid, before);
};
const runInproc = async (label: string, p: number[], n: number) => {
  const before = stat(process.pid);
  const m = await engine!.run(p, n);
  show("inproc", label, m as M, process.pid, before);
};
if (worker) await runWorker("warm-up", prompt.slice(0, 32), 8);
if (engine) await runInproc("warm-up", prompt.slice(0, 32), 8);
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ["worker", "inproc"] : ["inproc", "worker"];
  for (const who of order) {
    if (who === "worker" && worker) await runWorker(`run ${round + 1}`, prompt, decodeTokens);
    if (who === "inproc" && engine) await runInproc(`run ${round + 1}`, prompt, decodeTokens);
  }
}
await worker?.close();
process.exit(0);
