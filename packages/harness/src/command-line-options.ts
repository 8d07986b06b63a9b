// Option values shared by the benchmark and accuracy commands (bench.ts, accuracy.ts, benchmarks/): parsed and
// checked in one place so every command refuses a bad count with the same one-line message naming the option.

/**
 * The value of a positive-integer option such as `--runs 5`, or `fallback` when the option is absent.
 * Throws an Error naming the option and the text given when it is not an integer ≥ 1.
 */
export function positiveIntegerOption<Fallback extends number | undefined>(name: string, text: string | undefined, fallback: Fallback): number | Fallback {
  if (text === undefined) return fallback;
  const value = Number(text); // blank text is 0, refused below
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
  return value;
}
