// Scratch A/B timing of prefill GEMM: variants selected by INFER_PREFILL_VARIANT (read by the addon per call).
import { NativeBackend, Tensor, createKernel } from "@infer-recipes/kernel";
import { randomActivations, randomWeights } from "@infer-recipes/models";

const variants = (process.env.VARIANTS ?? "2,3,4").split(",");
const formats = (process.env.FORMATS ?? "f16,bf16").split(",") as ("f16" | "bf16")[];
const threadsList = (process.env.THREADS ?? "1,2").split(",").map(Number);
const shapes = (process.env.SHAPES ?? "2048x8192,8192x2048,3072x8192,8192x3072").split(",").map((s) => s.split("x").map(Number));
const tokens = Number(process.env.TOKENS ?? 512);
const reps = Number(process.env.REPS ?? 5);
function setVariant(v: string) {
  const [a, kc, mc] = v.split("/");
  process.env.INFER_PREFILL_G = a;
  if (kc) process.env.INFER_KC = kc; else delete process.env.INFER_KC;
  if (mc) process.env.INFER_MC = mc; else delete process.env.INFER_MC;
}
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
for (const threads of threadsList) {
  const kernel = createKernel({ backend: "native", threads });
  const backend = kernel.backend as NativeBackend;
  for (const format of formats) for (const [rows, cols] of shapes) {
    const weight = kernel.packWeight(randomWeights(format, rows, cols));
    const input = randomActivations(tokens, cols);
    const out = Tensor.zeros("f32", [tokens, rows]);
    const times: Record<string, number[]> = {};
    const peaks: number[] = [];
    const bpeaks: number[] = [];
    for (const v of variants) { setVariant(v); backend.matmul(out, input, weight); times[v] = []; }
    for (let r = 0; r < reps; r++) {
      peaks.push((backend.computePeak("fma", 60)?.operationsPerSecond ?? 0) / 1e9);
      bpeaks.push((backend.computePeak("bf16", 60)?.operationsPerSecond ?? 0) / 1e9);
      for (const v of (r % 2 ? [...variants].reverse() : variants)) {
        setVariant(v);
        const t = process.hrtime.bigint();
        backend.matmul(out, input, weight);
        times[v].push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }
    const fp = Math.max(...peaks), bp = Math.max(...bpeaks);
    const cells = variants.map((v) => { const g = (2 * rows * cols * tokens) / 1e6 / median(times[v]); return `v${v} ${g.toFixed(1)} GOP/s (${(g / (format === "bf16" ? bp : fp)).toFixed(2)} pk)`; });
    console.log(`${format} ${weight.dtype} ${rows}x${cols} t=${tokens} th=${threads} | ${cells.join(" | ")} | fma ${fp.toFixed(0)} bf16 ${bp.toFixed(0)}`);
  }
}
