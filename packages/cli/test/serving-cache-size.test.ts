// The --serve cache size: the default paged cache (max-batch × min(context, 4096) positions) stays within 2 GiB with
// the per-sequence key residuals of q8_0 / q4_0 caches counted, and --cache-tokens is taken as given.

import { PagedKvCache, kvCacheKeyResidualBytes, pagedKvCacheBytes, type PagedKvCacheBudgetLayout } from "@infer-recipes/cache";
import type { CacheDType } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { servingCacheTokens } from "../src/index.ts";

const GIB = 1024 ** 3;
// Llama 3.2 3B's cache shape: 28 layers × 8 kv heads × 128.
const config = { layerCount: 28, keyValueHeadCount: 8, headDim: 128, contextLength: 131072 };

function model(cacheDType: CacheDType) {
  return { model: { config, cacheDType } } as unknown as Parameters<typeof servingCacheTokens>[0];
}

function layout(dtype: CacheDType, maxBatch: number): PagedKvCacheBudgetLayout {
  return { ...config, dtype, blockSize: PagedKvCache.defaultBlockSize(dtype), maxSequences: maxBatch };
}

describe("servingCacheTokens", () => {
  it.each(["f32", "f16", "bf16", "q8_0", "q4_0"] as const)("the default %s cache, null block and key residuals included, fits 2 GiB and nearly fills it", (dtype) => {
    const maxBatch = 64; // 64 × 4096 positions would not fit 2 GiB in any type: the budget decides
    const tokens = servingCacheTokens(model(dtype), { cacheTokens: undefined, maxBatch });
    const shape = layout(dtype, maxBatch);
    const blockCount = Math.ceil(tokens / shape.blockSize) + 1;
    const bytes = pagedKvCacheBytes(blockCount, shape);
    expect(tokens % shape.blockSize).toBe(0);
    expect(bytes).toBeLessThanOrEqual(2 * GIB);
    // One more block would not fit: the budget is used, not just respected.
    expect(pagedKvCacheBytes(blockCount + 1, shape)).toBeGreaterThan(2 * GIB);
  });

  it("q8_0 keeps 7 MiB of f32 key residual per sequence on this shape", () => {
    expect(kvCacheKeyResidualBytes(layout("q8_0", 64))).toBe(7 * 1024 ** 2);
    expect(kvCacheKeyResidualBytes(layout("f16", 64))).toBe(0);
  });

  it("asks for no more than max-batch × 4096 positions when those fit", () => {
    expect(servingCacheTokens(model("q4_0"), { cacheTokens: undefined, maxBatch: 2 })).toBe(2 * 4096);
    expect(servingCacheTokens({ model: { config: { ...config, contextLength: 1000 }, cacheDType: "f32" } } as never, { cacheTokens: undefined, maxBatch: 3 })).toBe(3000);
  });

  it("takes --cache-tokens as given", () => {
    expect(servingCacheTokens(model("f32"), { cacheTokens: 512, maxBatch: 8 })).toBe(512);
  });
});
