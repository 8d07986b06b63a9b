// Scratch (s28, not committed): the real peer worker, warmed up as peers does, then runs of prefill 512 + decode with,
// between some of them, what a llama-bench -mmp 0 run does to memory: another process reads the whole GGUF file into
// anonymous memory and exits. Per run: tok/s, pool counters, the worker's faults, and /proc/vmstat deltas (page
// migration, compaction, reclaim) over the run.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { PeerWorker } from "../src/peer-worker-client.ts";
import { benchmarkPrompt } from "../src/peers.ts";
const [file, plan = "r,r,L,r,L,r,r,L,r", decodeText = "8", loadFile = ""] = process.argv.slice(2);
const decodeTokens = Number(decodeText);
const prompt = benchmarkPrompt(512, [128000], 128000);
const vm = () => Object.fromEntries(fs.readFileSync("/proc/vmstat", "utf8").trim().split("\n").map((l) => l.split(" ")).map(([k, v]) => [k, Number(v)]));
const keys = ["pgmigrate_success", "compact_isolated", "compact_stall", "compact_daemon_wake", "pgsteal_kswapd", "pgsteal_direct", "thp_fault_alloc"];
const worker = PeerWorker.start("ours");
const pid = (worker as unknown as { child: { pid: number } }).child.pid;
const loaded = await worker.request({ kind: "load", modelPath: file, threads: 2, contextSize: 512 + decodeTokens + 16, batchSize: 512, memoryMap: false }, "loaded");
console.log(`worker ${pid} loaded in ${(loaded.loadMs / 1000).toFixed(1)} s`);
if (process.env.WAITFILE) {
  fs.writeFileSync(process.env.WAITFILE + ".ready", "");
  while (!fs.existsSync(process.env.WAITFILE)) await new Promise((r) => setTimeout(r, 200));
}
const run = async (label: string, p: number[], n: number) => {
  const v0 = vm();
  const m = (await worker.request({ kind: "run", prompt: p, decodeTokens: n }, "run")).measurement;
  const v1 = vm();
  const c = (x?: { stalls: number; soloJobs: number; sharedJobs: number; jobs: number; waitMs: number }) => (x ? `stalls ${x.stalls} solo ${x.soloJobs} shared ${x.sharedJobs}/${x.jobs} wait ${x.waitMs.toFixed(0)} ms` : "-");
  console.log(`${label.padEnd(8)} prefill ${((m.prefillTokens / m.prefillMs) * 1000).toFixed(1)} tok/s (${c(m.pool?.prefill)}) decode ${((m.decodeTokens / m.decodeMs) * 1000).toFixed(2)} (${c(m.pool?.decode)}) faults ${m.pageFaults} preempted ${m.involuntaryContextSwitches} cpu ${(m.cpuMs / 1000).toFixed(1)} s | ${keys.map((k) => `${k} +${v1[k] - v0[k]}`).join(" ")}`);
};
await run("warm-up", prompt.slice(0, 32), 8);
let index = 0;
for (const step of plan.split(",")) {
  if (step === "r") await run(`run ${++index}`, prompt, decodeTokens);
  else if (step === "w") await run("warm", prompt.slice(0, 32), 8);
  else if (step === "A") {
    // what a big allocation does: another process maps and touches 6.4 GB of anonymous memory, then exits
    const v0 = vm();
    const t = performance.now();
    execFileSync("python3", ["-c", "import mmap\nn=6433684000\nm=mmap.mmap(-1,n)\nfor i in range(0,n,4096): m[i]=1\nprint(m[4096])"], { stdio: "ignore" });
    const v1 = vm();
    console.log(`  anon-like: touched 6.4 GB of anonymous memory in ${((performance.now() - t) / 1000).toFixed(1)} s | ${keys.map((k) => `${k} +${v1[k] - v0[k]}`).join(" ")}`);
  } else {
    const v0 = vm();
    const t = performance.now();
    execFileSync("python3", ["-c", `import sys\nf=open(sys.argv[1],'rb',buffering=0)\nimport os\nn=os.fstat(f.fileno()).st_size\nb=bytearray(n)\nf.readinto(b)\nprint(sum(b[::1<<20]))`, file], { stdio: "ignore" });
    const v1 = vm();
    console.log(`  load-like: read ${file.split("/").pop()} into anonymous memory in ${((performance.now() - t) / 1000).toFixed(1)} s | ${keys.map((k) => `${k} +${v1[k] - v0[k]}`).join(" ")}`);
  }
}
await worker.close();
process.exit(0);
