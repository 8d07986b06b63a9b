// The value axis at its boundaries: the log-scale rule at exactly 100× and with non-finite values, the linear axis'
// kind and positions, a log axis whose values are one power of ten, tick formatting at 1e6 and 1e-3.
import { describe, expect, it } from "vitest";

import { chooseAxisScale, formatTick, linearAxis, logAxis } from "../src/chart-axis.ts";

describe("chooseAxisScale", () => {
  it("turns logarithmic at exactly 100×, ignoring values that are not finite", () => {
    expect(chooseAxisScale([1, 100])).toBe("log");
    expect(chooseAxisScale([1, 99.9])).toBe("linear");
    expect(chooseAxisScale([1, 500, Number.NaN])).toBe("log");
    expect(chooseAxisScale([1, 500, Number.POSITIVE_INFINITY])).toBe("log");
    expect(chooseAxisScale([1, 500, -3])).toBe("linear");
    expect(chooseAxisScale([7])).toBe("linear");
    expect(chooseAxisScale([])).toBe("linear");
  });
});

describe("linearAxis", () => {
  it("is linear from 0, places values proportionally and clamps negative ones to the start", () => {
    const axis = linearAxis(10);
    expect(axis).toMatchObject({ scale: "linear", minimum: 0, maximum: 10, ticks: [0, 2, 4, 6, 8, 10] });
    expect(axis.position(5)).toBe(0.5);
    expect(axis.position(10)).toBe(1);
    expect(axis.position(-5)).toBe(0);
    expect(linearAxis(Number.NaN).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearAxis(-3).maximum).toBe(1);
    expect(linearAxis(12, 2).ticks).toEqual([0, 10, 20]);
  });
});

describe("logAxis", () => {
  it("spans at least one power of ten, even for equal values on a power of ten", () => {
    expect(logAxis(10, 10).ticks).toEqual([10, 20, 50, 100]);
    expect(logAxis(5, 5).ticks).toEqual([1, 2, 5, 10]);
  });

  it("ends at a power of ten that is the maximum itself when the maximum is one", () => {
    expect(logAxis(1, 100).ticks).toEqual([1, 2, 5, 10, 20, 50, 100]);
    expect(logAxis(0.01, 1000).ticks).toEqual([0.01, 0.1, 1, 10, 100, 1000]);
  });

  it("puts values at or below the start at 0 and the end at 1", () => {
    const axis = logAxis(1, 100);
    expect(axis).toMatchObject({ scale: "log", minimum: 1, maximum: 100 });
    expect(axis.position(1)).toBe(0);
    expect(axis.position(0.5)).toBe(0);
    expect(axis.position(0)).toBe(0);
    expect(axis.position(100)).toBe(1);
    expect(axis.position(10)).toBeCloseTo(0.5, 12);
  });
});

describe("formatTick", () => {
  it("writes an exponent from 1e6 up and below 1e-3", () => {
    expect(formatTick(1e6)).toBe("1e6");
    expect(formatTick(999_999)).toBe("999999");
    expect(formatTick(0.001)).toBe("0.001");
    expect(formatTick(0.0001)).toBe("1e-4");
    expect(formatTick(-2e6)).toBe("-2e6");
    expect(formatTick(0)).toBe("0");
  });
});
