// Progress for long benchmark and accuracy runs: one line per step on stderr, with elapsed time, so a user sees the
// run advance and the results on stdout stay clean.

export function createStepReporter(total: number, stream: NodeJS.WritableStream = process.stderr): (message: string) => void {
  const started = performance.now();
  let step = 0;
  return (message: string) => {
    step++;
    const elapsed = ((performance.now() - started) / 1000).toFixed(1);
    stream.write(`[${step}/${total} ${elapsed}s] ${message}\n`);
  };
}
