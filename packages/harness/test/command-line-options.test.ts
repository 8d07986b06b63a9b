// positiveIntegerOption: the fallback when absent, the value when valid, a one-line error naming the option otherwise.

import { describe, expect, it } from "vitest";

import { positiveIntegerOption } from "../src/command-line-options.ts";

describe("positiveIntegerOption", () => {
  it("returns the fallback when the option is absent and the value when it is a positive integer", () => {
    expect(positiveIntegerOption("runs", undefined, 5)).toBe(5);
    expect(positiveIntegerOption("tokens", undefined, undefined)).toBeUndefined();
    expect(positiveIntegerOption("runs", "12", 5)).toBe(12);
  });

  it("refuses zero, negatives, fractions, words and empty text, naming the option", () => {
    for (const text of ["0", "-3", "2.5", "many", "", " "]) {
      expect(() => positiveIntegerOption("runs", text, 5)).toThrow(`--runs must be a positive integer, got "${text}"`);
    }
  });
});
