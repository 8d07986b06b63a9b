// Progress for long benchmark and accuracy runs: one line per step on stderr, with elapsed time, so a user sees the
// run advance and the results on stdout stay clean.

/**
 * A function that writes one progress line per call, numbered out of `total` with the elapsed time:
 * `[2/5 14.1s] + Q8_0 weights`.
 *
 * @example
 * ```ts
 * import { createStepReporter } from "@infer-recipes/harness";
 *
 * const configurations = ["baseline", "optimized"];
 * const progress = createStepReporter(configurations.length);
 * for (const configuration of configurations) {
 *   progress(configuration);
 *   // ... measure it ...
 * }
 * ```
 */
export function createStepReporter(total: number, stream: NodeJS.WritableStream = process.stderr): (message: string) => void {
  const started = performance.now();
  let step = 0;
  return (message: string) => {
    step++;
    const elapsed = ((performance.now() - started) / 1000).toFixed(1);
    stream.write(`[${step}/${total} ${elapsed}s] ${message}\n`);
  };
}
