// The value axis of a chart: round tick values (1, 2 or 5 times a power of ten) on a linear axis, powers of ten on a
// logarithmic one, and the rule that picks a logarithmic axis when the values span orders of magnitude.

/** How values map to positions: proportionally, or by their logarithm. */
export type AxisScale = "linear" | "log";

/** A value axis: where it starts and ends, and the values that get a grid line and a label. */
export interface ValueAxis {
  scale: AxisScale;
  /** The value at the start of the axis (0 on a linear axis, a power of ten on a log axis). */
  minimum: number;
  /** The value at the end of the axis: the last tick, at or above every value. */
  maximum: number;
  /** Ascending tick values, the first equal to `minimum` and the last to `maximum`. */
  ticks: number[];
  /** Where `value` falls on the axis, from 0 (start) to 1 (end); values below the start map to 0. */
  position(value: number): number;
}

/** The ratio between the largest and smallest positive value above which {@link chooseAxisScale} picks "log". */
export const LOG_SCALE_SPAN = 100;

/** "log" when the positive values span at least {@link LOG_SCALE_SPAN}× (a small bar would be invisible), else "linear". */
export function chooseAxisScale(values: readonly number[]): AxisScale {
  const positive = values.filter((value) => Number.isFinite(value) && value > 0);
  if (positive.length < 2 || positive.length < values.filter(Number.isFinite).length) return "linear";
  return Math.max(...positive) / Math.min(...positive) >= LOG_SCALE_SPAN ? "log" : "linear";
}

/** The smallest "round" step (1, 2, 2.5 or 5 times a power of ten) at least `rough`. */
function roundStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const multiple of [1, 2, 2.5, 5, 10]) {
    if (multiple * power >= rough * (1 - 1e-9)) return multiple * power;
  }
  return 10 * power;
}

/** Removes floating-point noise such as 0.30000000000000004 from a tick value. */
function clean(value: number): number {
  return Number.parseFloat(value.toPrecision(12));
}

/** A linear axis from 0 to the first round tick at or above `maximum`, with about `targetTicks` intervals. */
export function linearAxis(maximum: number, targetTicks = 5): ValueAxis {
  const top = maximum > 0 && Number.isFinite(maximum) ? maximum : 1;
  const step = roundStep(top / targetTicks);
  const count = Math.ceil(top / step - 1e-9);
  const ticks = Array.from({ length: count + 1 }, (_, index) => clean(index * step));
  const end = ticks[ticks.length - 1];
  return { scale: "linear", minimum: 0, maximum: end, ticks, position: (value) => Math.max(0, value) / end };
}

/** A logarithmic axis from the power of ten at or below `minimum` to the one at or above `maximum`. */
export function logAxis(minimum: number, maximum: number): ValueAxis {
  const low = Math.floor(Math.log10(minimum));
  const high = Math.max(low + 1, Math.ceil(Math.log10(maximum) - 1e-9));
  const ticks: number[] = [];
  for (let exponent = low; exponent <= high; exponent++) {
    ticks.push(clean(10 ** exponent));
    // Few decades: 2 and 5 between the powers of ten keep the axis readable.
    if (high - low <= 2 && exponent < high) ticks.push(clean(2 * 10 ** exponent), clean(5 * 10 ** exponent));
  }
  const start = ticks[0], end = ticks[ticks.length - 1];
  const span = Math.log10(end) - Math.log10(start);
  return {
    scale: "log",
    minimum: start,
    maximum: end,
    ticks,
    position: (value) => (value <= start ? 0 : (Math.log10(value) - Math.log10(start)) / span),
  };
}

/** A tick value as text: no exponent for the usual range, and only the digits the value has (0.5, 20, 2.5, 1000). */
export function formatTick(value: number): string {
  if (value === 0) return "0";
  if (Math.abs(value) >= 1e6 || Math.abs(value) < 1e-3) return clean(value).toExponential().replace("e+", "e");
  return String(clean(value));
}
