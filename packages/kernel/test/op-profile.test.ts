// OpProfile (src/op-profile.ts): the profiled kernel computes what the kernel it wraps computes, and its entries sum
// calls and floating-point operations by op and operand shapes. No timing is asserted.

import { describe, expect, it } from "vitest";
import { Kernel } from "../src/kernel.ts";
import { OpProfile } from "../src/op-profile.ts";
import { createReferenceBackend } from "../src/reference/index.ts";
import { randomTensor, zerosLike } from "./helpers.ts";

describe("OpProfile", () => {
  it("passes every op through and sums calls and flops by op and operands", () => {
    const kernel = new Kernel(createReferenceBackend());
    const profile = new OpProfile(kernel);
    const input = randomTensor([3, 8], 1), weight = randomTensor([5, 8], 2); // [tokens, cols], [rows, cols]
    const expected = zerosLike([3, 5]), actual = zerosLike([3, 5]);
    kernel.matmul(expected, input, weight);
    profile.kernel.matmul(actual, input, weight);
    profile.kernel.matmul(actual, input, weight);
    expect(actual.data).toEqual(expected.data);
    profile.kernel.add(actual, actual, actual);
    const query = randomTensor([4, 2, 8], 3), keys = randomTensor([6, 2, 8], 4), values = randomTensor([6, 2, 8], 5); // [tokens|positions, heads, headDim]
    profile.kernel.attention(zerosLike([4, 2, 8]), query, keys, values, { startPosition: 0, kvLength: 6, causal: false, scale: 0.35 });

    const entries = profile.entries();
    const matmul = entries.find((entry) => entry.op === "matmul")!;
    expect(matmul).toMatchObject({ operands: "f32[3×5] f32[3×8] f32[5×8]", calls: 2, flops: 2 * (2 * 3 * 5 * 8) });
    expect(entries.find((entry) => entry.op === "add")).toMatchObject({ calls: 1, flops: 0 });
    expect(entries.find((entry) => entry.op === "attention")).toMatchObject({ calls: 1, flops: 4 * 4 * 2 * 8 * 6 });
    expect(entries.every((entry) => entry.milliseconds >= 0)).toBe(true);
    profile.reset();
    expect(profile.entries()).toEqual([]);
  });
});
