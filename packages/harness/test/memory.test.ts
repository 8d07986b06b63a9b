// Memory figures are positive and consistent with each other on this machine.
import os from "node:os";

import { describe, expect, it } from "vitest";

import { availableMemoryBytes, peakResidentBytes, residentBytes } from "../src/index.ts";

describe("memory figures", () => {
  it("reports a resident set no larger than its peak", () => {
    expect(residentBytes()).toBeGreaterThan(0);
    // The kernel updates the high-water mark lazily, so allow the current figure to run a little ahead of it.
    expect(peakResidentBytes()).toBeGreaterThanOrEqual(residentBytes() * 0.9);
  });

  it("reports available memory within the machine's total", () => {
    const available = availableMemoryBytes();
    expect(available).toBeGreaterThan(0);
    expect(available).toBeLessThanOrEqual(os.totalmem());
  });
});
