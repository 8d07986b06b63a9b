// Reliability under load: 64 concurrent streaming requests on a tiny random Llama with a block pool far too small for
// all of them (so requests are preempted and recomputed, some several times), a token budget that forces chunked
// prefill, shared prompt prefixes (prefix-cache hits) and random cancellations — before admission, from inside a
// streaming callback, and from a timer. Every request that was not cancelled must finish with exactly the greedy
// tokens it gets when run alone through the dense single-sequence path, its streamed tokens and text must equal its
// result, and at the end no block may be in use and the pool's invariants must hold. It runs with the f32 cache and
// with a q4_0 cache (quantized blocks preempted, shared and copied; solo runs on a dense q4_0 cache).

import { describe, expect, it } from "vitest";

import { generate } from "@infer-recipes/engine";
import { createRandom } from "@infer-recipes/models";

import { Scheduler, type RequestResult } from "../src/index.ts";
import { letterDecoder, tinyBlockConfig, tinyConfig, tinyLlama } from "./helpers.ts";

const REQUESTS = 64;
/** Replay another random workload with RELIABILITY_SEED=n. */
const SEED = Number(process.env.RELIABILITY_SEED ?? 2024);

// A q4_0 cache groups keys per channel in 32 positions, so its blocks hold 32: 6 of them (192 positions) and a shared
// prefix of 40 tokens (one full block for the prefix cache), against 24 blocks of 4 and 12 tokens for f32.
describe.each([
  { cacheDType: "f32", config: tinyConfig, blockSize: 4, blockCount: 25, prefixLength: 12 },
  { cacheDType: "q4_0", config: tinyBlockConfig, blockSize: 32, blockCount: 7, prefixLength: 40 },
] as const)("64 concurrent streaming requests with preemption and cancellations, $cacheDType cache", ({ cacheDType, config, blockSize, blockCount, prefixLength }) => {
  it(`every surviving request gets its solo greedy output and no block leaks (seed ${SEED})`, async () => {
    const model = tinyLlama(config, cacheDType);
    const random = createRandom(SEED);
    const sharedPrefix = Array.from({ length: prefixLength }, (_, index) => (index * 5 + 3) % config.vocabSize);
    const requests = Array.from({ length: REQUESTS }, (_, index) => {
      const ownLength = 2 + Math.floor(random() * 30);
      const own = Array.from({ length: ownLength }, () => 3 + Math.floor(random() * (config.vocabSize - 3)));
      const promptIds = [1, ...(index % 3 === 0 ? sharedPrefix : []), ...own];
      const maxTokens = 4 + Math.floor(random() * 24);
      const cancel = random() < 0.25 ? (["before", "callback", "timer"] as const)[Math.floor(random() * 3)] : undefined;
      const cancelAfter = 1 + Math.floor(random() * 6);
      return { promptIds, maxTokens, cancel, cancelAfter };
    });

    // 96 (f32) or 192 (q4_0) positions for 64 requests of up to ~70 (~100) positions each: constant preemption.
    const cache = model.createPagedCache({ blockCount, blockSize });
    const scheduler = new Scheduler(model, cache, { maxBatchSize: 12, maxBatchTokens: 24 });
    const streamed = requests.map(() => ({ tokens: [] as number[], text: "" }));
    const handles = requests.map((request, index) => {
      const controller = new AbortController();
      const handle = scheduler.submit({
        id: `r${index}`,
        promptIds: request.promptIds,
        maxTokens: request.maxTokens,
        stopTokenIds: config.eosTokenIds,
        decoder: letterDecoder(),
        signal: controller.signal,
        onToken: (id) => {
          streamed[index].tokens.push(id);
          if (request.cancel === "callback" && streamed[index].tokens.length === request.cancelAfter) controller.abort();
        },
        onText: (text) => (streamed[index].text += text),
      });
      if (request.cancel === "before") controller.abort();
      if (request.cancel === "timer") setTimeout(() => controller.abort(), request.cancelAfter * 3);
      return handle;
    });
    const results: RequestResult[] = await Promise.all(handles.map((handle) => handle.result));
    await scheduler.whenIdle();

    cache.pool.checkInvariants();
    expect(cache.pool.usedBlocks).toBe(0);
    const stats = scheduler.stats();
    expect(stats.preemptions).toBeGreaterThan(0);
    expect(stats.cachedPromptTokens).toBeGreaterThan(0);
    expect(stats.failed).toBe(0);

    let survivors = 0;
    for (const [index, request] of requests.entries()) {
      const result = results[index];
      expect(streamed[index].tokens).toEqual(result.tokenIds);
      expect(streamed[index].text).toBe(result.text);
      if (result.finishReason === "cancelled") {
        expect(request.cancel).toBeDefined();
        continue;
      }
      survivors++;
      const alone = await generate(model, request.promptIds, { maxTokens: request.maxTokens, stopTokenIds: config.eosTokenIds, temperature: 0 });
      expect(result.tokenIds, `request r${index} (preempted ${result.preemptions}×)`).toEqual(alone.tokenIds);
      expect(result.finishReason).toBe(alone.finishReason);
    }
    expect(survivors).toBeGreaterThan(REQUESTS / 2);
  });
});
