// vitest settings for runs under StrykerJS (scripts/mutate.mjs; its test-runner processes have STRYKER_MUTATOR_WORKER
// set). Stryker reruns the tests that cover a mutant and stops at the first failure, so the order of the test files
// decides how long a killed mutant takes: the files that failed last run first, then the fastest. vitest's own order
// (slowest first) suits parallel runs, not one bailing run per mutant.
//
// Plain JavaScript: the packages' vitest.config.ts import it, and vitest loads a config's package imports with Node
// itself, which does not run TypeScript.

import { relative } from "node:path";

import { BaseSequencer } from "vitest/node";

export const underMutationTesting = process.env.STRYKER_MUTATOR_WORKER !== undefined;

/** Test files that failed in the last run first, then by their last duration, shortest first. */
export class FastestFirstSequencer extends BaseSequencer {
  /** @param {import("vitest/node").TestSpecification[]} files */
  async sort(files) {
    /** @param {import("vitest/node").TestSpecification} file */
    const results = (file) => this.ctx.cache.getFileTestResults(`${file.project.name}:${relative(this.ctx.config.root, file.moduleId)}`);
    return [...files].sort((a, b) => {
      const [first, second] = [results(a), results(b)];
      if (Boolean(first?.failed) !== Boolean(second?.failed)) return first?.failed ? -1 : 1;
      return (first?.duration ?? 0) - (second?.duration ?? 0);
    });
  }
}

/**
 * The `test` settings to spread into a package's vitest config: none outside mutation testing; under StrykerJS the
 * fastest-first order, plus `overrides` (e.g. a shorter testTimeout so a mutant that hangs a request fails sooner, or
 * test files to leave out because instrumented code makes them far too slow).
 * @param {{ testTimeout?: number, exclude?: string[] }} [overrides]
 */
export function mutationTestSettings(overrides = {}) {
  return underMutationTesting ? { sequence: { sequencer: FastestFirstSequencer }, ...overrides } : {};
}
