// Scratch (s27, not committed): what `pnpm bench peers` times for ours (prefill 512 + decode steps, repeated), with
// the pool's counters attributed per op, so back-off after a stall can be seen.
import fs from "node:fs";
import { NativeBackend, createKernel } from "@infer-recipes/kernel";
import { LlamaModel, loadModelWeights } from "@infer-recipes/models";
const [file, threadsText = "2", tokensText = "512", roundsText = "3", decodeText = "32"] = process.argv.slice(2);
const tokens = Number(tokensText), decodeSteps = Number(decodeText);
const kernel = createKernel({ backend: "native", threads: 1 });
const backend = kernel.backend as NativeBackend;
type S = { jobs: number; sharedJobs: number; soloJobs: number; stalls: number; waitMicroseconds: number };
let phase = "prefill";
const perOp = new Map<string, { calls: number; ms: number; stalls: number; solo: number; wait: number }>();
const wrapped = new Proxy(backend, {
  get(target, property, receiver) {
    const value = Reflect.get(target, property, receiver) as unknown;
    if (typeof value !== "function" || property === "packWeight" || property === "setThreads" || property === "poolStatistics") return value;
    return (...args: unknown[]) => {
      const before = target.poolStatistics() as S;
      const t = performance.now();
      const result = (value as (...a: unknown[]) => unknown).apply(target, args);
      const ms = performance.now() - t;
      const after = target.poolStatistics() as S;
      let name = String(property);
      if (name === "matmul") name += ` ${(args[2] as { shape: number[] }).shape.join("x")}`;
      const key = `${phase} ${name}`;
      const e = perOp.get(key) ?? { calls: 0, ms: 0, stalls: 0, solo: 0, wait: 0 };
      e.calls++; e.ms += ms; e.stalls += after.stalls - before.stalls; e.solo += after.soloJobs - before.soloJobs; e.wait += after.waitMicroseconds - before.waitMicroseconds;
      perOp.set(key, e);
      return result;
    };
  },
});
const { Kernel } = await import("@infer-recipes/kernel");
const pk = new Kernel(wrapped as never);
const loaded = loadModelWeights(file, { packFor: kernel });
const model = LlamaModel.fromLoadedWeights(loaded, pk);
const cache = model.createCache(tokens + decodeSteps + 16);
const ids = Int32Array.from({ length: tokens }, (_, i) => (i * 7919 + 13) % model.config.vocabSize);
if (process.env.WAITFILE) {
  fs.writeFileSync(process.env.WAITFILE + ".ready", "");
  while (!fs.existsSync(process.env.WAITFILE)) await new Promise((r) => setTimeout(r, 200));
}
const variants = (process.env.VARIANTS ?? "0").split(",");
for (const threads of threadsText.split(",").map(Number)) {
  kernel.setThreads(threads);
  // warm-up as peers does: a short prompt and a few steps
  cache.clear(); let tok = pk.argmax(model.forward(ids.slice(0, 16), cache)); for (let i = 0; i < 4; i++) tok = pk.argmax(model.forward(Int32Array.of(tok), cache));
  perOp.clear();
  for (let round = 0; round < Number(roundsText); round++) for (const v of variants) {
    process.env.INFER_PREFILL_V = v;
    cache.clear();
    phase = "prefill";
    const s0 = backend.poolStatistics() as S;
    const t0 = performance.now();
    let token = pk.argmax(model.forward(ids, cache));
    const t1 = performance.now();
    const s1 = backend.poolStatistics() as S;
    phase = "decode";
    for (let i = 0; i < decodeSteps; i++) token = pk.argmax(model.forward(Int32Array.of(token), cache));
    const t2 = performance.now();
    const s2 = backend.poolStatistics() as S;
    console.log(`th=${threads} v${v} round ${round}: prefill ${(t1 - t0).toFixed(0)} ms = ${((tokens / (t1 - t0)) * 1000).toFixed(1)} tok/s (stalls ${s1.stalls - s0.stalls}, solo ${s1.soloJobs - s0.soloJobs}, wait ${((s1.waitMicroseconds - s0.waitMicroseconds) / 1000).toFixed(1)} ms); decode ${decodeSteps} ${((decodeSteps / (t2 - t1)) * 1000).toFixed(2)} tok/s (stalls ${s2.stalls - s1.stalls}, solo ${s2.soloJobs - s1.soloJobs})`);
  }
  const entries = [...perOp.entries()].sort((a, b) => b[1].ms - a[1].ms);
  for (const [k, e] of entries.slice(0, 24)) console.log(`   ${k.padEnd(34)} ${String(e.calls).padStart(5)}× ${e.ms.toFixed(0).padStart(7)} ms stalls ${e.stalls} solo ${e.solo} wait ${(e.wait / 1000).toFixed(1)} ms`);
}
