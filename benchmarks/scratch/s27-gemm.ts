// Scratch (s27, not committed): prefill GEMM at the 3B shapes, 1 vs 2 threads interleaved in one process, variants
// by INFER_PREFILL_V (read per call by an experimental addon; ignored by main's).
import { NativeBackend, Tensor, createKernel } from "@infer-recipes/kernel";
import { randomActivations, randomWeights } from "@infer-recipes/models";

const variants = (process.env.VARIANTS ?? "0").split(",");
const formats = (process.env.FORMATS ?? "f16,bf16").split(",") as ("f16" | "bf16")[];
const threadsList = (process.env.THREADS ?? "1,2").split(",").map(Number);
const shapes = (process.env.SHAPES ?? "3072x3072,1024x3072,8192x3072,3072x8192").split(",").map((s) => s.split("x").map(Number));
const tokens = Number(process.env.TOKENS ?? 512);
const reps = Number(process.env.REPS ?? 7);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const kernel = createKernel({ backend: "native", threads: 1 });
const backend = kernel.backend as NativeBackend;
for (const format of formats) for (const [rows, cols] of shapes) {
  const weight = kernel.packWeight(randomWeights(format, rows, cols));
  const input = randomActivations(tokens, cols);
  const out = Tensor.zeros("f32", [tokens, rows]);
  const times: Record<string, number[]> = {};
  const waits: Record<string, number[]> = {};
  const peaks: Record<number, number[]> = {};
  for (const th of threadsList) { peaks[th] = []; for (const v of variants) { times[`${th}/${v}`] = []; waits[`${th}/${v}`] = []; } }
  for (let r = 0; r < reps; r++) {
    for (const th of (r % 2 ? [...threadsList].reverse() : threadsList)) {
      backend.setThreads(th);
      peaks[th].push((backend.computePeak(format === "bf16" ? "bf16" : "fma", 50)?.operationsPerSecond ?? 0) / 1e9);
      process.env.INFER_PREFILL_V = variants[0];
      backend.matmul(out, input, weight); // warm (after resize)
      for (const v of (r % 2 ? [...variants].reverse() : variants)) {
        process.env.INFER_PREFILL_V = v;
        const w0 = backend.poolStatistics()?.waitMicroseconds ?? 0;
        const t = process.hrtime.bigint();
        backend.matmul(out, input, weight);
        times[`${th}/${v}`].push(Number(process.hrtime.bigint() - t) / 1e6);
        waits[`${th}/${v}`].push(((backend.poolStatistics()?.waitMicroseconds ?? 0) - w0) / 1000);
      }
    }
  }
  for (const th of threadsList) {
    const pk = median(peaks[th]);
    const cells = variants.map((v) => { const g = (2 * rows * cols * tokens) / 1e6 / median(times[`${th}/${v}`]); return `v${v} ${g.toFixed(1)} (${(g / pk).toFixed(2)} w${median(waits[`${th}/${v}`]).toFixed(2)})`; });
    console.log(`${format} ${rows}x${cols} th=${th} | ${cells.join(" | ")} | peak ${pk.toFixed(0)} [${Math.min(...peaks[th]).toFixed(0)}-${Math.max(...peaks[th]).toFixed(0)}]`);
  }
}
