import { relative } from "node:path";

import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Under StrykerJS (scripts/mutate.mjs; its test runner processes have STRYKER_MUTATOR_WORKER set): the test files that
 * failed last, then the fastest first, so a mutant that a quick test kills is not first run through the slow ones
 * (vitest's own order is slowest first, which suits parallel runs, not one bailing run per mutant).
 */
class FastestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const results = (file: TestSpecification) => this.ctx.cache.getFileTestResults(`${file.project.name}:${relative(this.ctx.config.root, file.moduleId)}`);
    return [...files].sort((a, b) => {
      const [first, second] = [results(a), results(b)];
      if (Boolean(first?.failed) !== Boolean(second?.failed)) return first?.failed ? -1 : 1;
      return (first?.duration ?? 0) - (second?.duration ?? 0);
    });
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "forks",
    // Under StrykerJS a mutant that leaves a request hanging fails at 40 s instead of being timed out later (at 20 s +
    // 3 × the covering tests' time, then the test process is restarted); the slowest test takes about 12 s there.
    ...(process.env.STRYKER_MUTATOR_WORKER === undefined ? {} : { sequence: { sequencer: FastestFirstSequencer }, testTimeout: 40_000 }),
  },
});
