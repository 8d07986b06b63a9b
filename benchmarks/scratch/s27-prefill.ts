// Scratch (s27, not committed): a 512-token prefill op by op, 1 and 2 threads interleaved in one process.
import { NativeBackend, createKernel, OpProfile } from "@infer-recipes/kernel";
import { LlamaModel, loadModelWeights } from "@infer-recipes/models";
const [file, threadsText = "1,2", tokensText = "512", roundsText = "2"] = process.argv.slice(2);
const tokens = Number(tokensText);
const kernel = createKernel({ backend: "native", threads: 1 });
const backend = kernel.backend as NativeBackend;
const profile = new OpProfile(kernel);
const loaded = loadModelWeights(file, { packFor: kernel });
const model = LlamaModel.fromLoadedWeights(loaded, profile.kernel);
const ids = Int32Array.from({ length: tokens }, (_, i) => (i * 7919 + 13) % model.config.vocabSize);
import fs from "node:fs";
if (process.env.WAITFILE) {
  fs.writeFileSync(process.env.WAITFILE + ".ready", "");
  while (!fs.existsSync(process.env.WAITFILE)) await new Promise((r) => setTimeout(r, 200));
}
const threadsList = threadsText.split(",").map(Number);
const variants = (process.env.VARIANTS ?? "0").split(",");
const walls: Record<string, number[]> = {};
const ops: Record<string, Map<string, number>> = {};
const stats: Record<string, unknown> = {};
for (let round = 0; round <= Number(roundsText); round++) {
  for (const threads of (round % 2 ? [...threadsList].reverse() : threadsList)) for (const v of variants) {
    process.env.INFER_PREFILL_V = v;
    const key = `${threads}/${v}`;
    backend.setThreads(threads);
    const cache = model.createCache(tokens + 1);
    profile.reset();
    const started = performance.now();
    model.forward(ids, cache);
    const wall = performance.now() - started;
    if (round === 0) continue;
    (walls[key] ??= []).push(wall);
    const m = (ops[key] ??= new Map());
    for (const e of profile.entries()) {
      const name = e.op === "matmul" ? `matmul ${e.operands.split(" ").slice(-1)[0]}` : e.op;
      m.set(name, (m.get(name) ?? 0) + e.milliseconds / Number(roundsText));
    }
    stats[key] = backend.poolStatistics();
  }
}
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
for (const key of Object.keys(walls)) {
  const wall = median(walls[key]);
  console.log(`${key}: prefill ${tokens} median ${wall.toFixed(0)} ms = ${((tokens / wall) * 1000).toFixed(1)} tok/s [${walls[key].map((w) => w.toFixed(0)).join(",")}] pool ${JSON.stringify(stats[key])}`);
  const entries = [...ops[key].entries()].sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((s, e) => s + e[1], 0);
  console.log(`   ops total ${total.toFixed(0)} ms (outside ops ${(wall - total).toFixed(0)})`);
  for (const [name, ms] of entries.slice(0, 16)) console.log(`   ${ms.toFixed(1).padStart(8)} ms ${name}`);
}
