// Two contracts at their edges: measureRepeatedly refuses a run that returns something other than a number (naming
// the run), and exactSequenceProbabilities never looks past the vocabulary even when a distribution is longer.
import { describe, expect, it } from "vitest";

import { exactSequenceProbabilities, measureRepeatedly, sequenceIndex } from "../src/index.ts";

describe("measureRepeatedly", () => {
  it("refuses a run that returns text or NaN, naming the run", async () => {
    await expect(measureRepeatedly(() => "5" as unknown as number, { runs: 2 })).rejects.toThrow(new TypeError("measureRepeatedly: run 0 returned 5, not a number"));
    let index = 0;
    await expect(measureRepeatedly(() => (index++ === 1 ? Number.NaN : 3), { runs: 3 })).rejects.toThrow(new TypeError("measureRepeatedly: run 1 returned NaN, not a number"));
  });
});

describe("exactSequenceProbabilities", () => {
  it("visits only tokens below the vocabulary size, whatever the distribution's length", () => {
    const asked: string[] = [];
    const probabilities = exactSequenceProbabilities([], 2, 2, (history) => {
      asked.push(history.join(","));
      return [0.5, 0.5, 0.9]; // an entry past the vocabulary of 2
    });
    expect(asked).toEqual(["", "0", "1"]);
    expect(Array.from(probabilities)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(probabilities[sequenceIndex([1, 1], 2)]).toBe(0.25);
  });
});
