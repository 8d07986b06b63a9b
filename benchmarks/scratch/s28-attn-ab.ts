// Scratch (s28, not committed): in one process, the peers engine's prefill 512 (+ a few decode steps) with prefill
// attention marked LongTasks (new) or not (old: S28_ATTN_OLD set; needs the experimental addon exp-attn.node via
// INFER_NATIVE_ADDON), interleaved ABBA, with the pool's counters per prefill; medians at the end.
import fs from "node:fs";
import { createOurPeerEngine } from "../src/our-peer-engine.ts";
import { benchmarkPrompt } from "../src/peers.ts";
const [file, threadsText = "2", repsText = "6", decodeText = "2"] = process.argv.slice(2);
const reps = Number(repsText), decodeTokens = Number(decodeText);
const prompt = benchmarkPrompt(512, [128000], 128000);
const engine = createOurPeerEngine({ kind: "load", modelPath: file, threads: Number(threadsText), contextSize: 512 + decodeTokens + 16, batchSize: 512, memoryMap: false });
console.log(`loaded ${file.split("/").pop()}`);
if (process.env.WAITFILE) {
  fs.writeFileSync(process.env.WAITFILE + ".ready", "");
  while (!fs.existsSync(process.env.WAITFILE)) await new Promise((r) => setTimeout(r, 200));
}
await engine.run(prompt.slice(0, 32), 8);
await engine.run(prompt, 1); // first 512-token pass: its scratch buffers' first touch, for neither variant
const speeds: Record<string, number[]> = { old: [], new: [] };
for (let rep = 0; rep < reps; rep++) {
  const order = rep % 2 === 0 ? ["old", "new"] : ["new", "old"];
  for (const variant of order) {
    if (variant === "old") process.env.S28_ATTN_OLD = "1";
    else delete process.env.S28_ATTN_OLD;
    const m = await engine.run(prompt, decodeTokens);
    const speed = (m.prefillTokens / m.prefillMs) * 1000;
    speeds[variant].push(speed);
    const p = m.pool!.prefill;
    console.log(`rep ${rep} ${variant}: prefill ${speed.toFixed(1)} tok/s (stalls ${p.stalls} solo ${p.soloJobs} shared ${p.sharedJobs}/${p.jobs} wait ${p.waitMs.toFixed(0)} ms)`);
  }
}
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
console.log(`median prefill: old ${median(speeds.old).toFixed(1)}, new ${median(speeds.new).toFixed(1)} tok/s (new/old ${(median(speeds.new) / median(speeds.old)).toFixed(3)})`);
process.exit(0);
