import { mutationTestSettings } from "@infer-recipes/test-support/vitest";
import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "forks",
    // Under StrykerJS the comparison with Pillow on real photos is left out: with Stryker's coverage counters in every
    // pixel loop one photo takes over a minute. The score then rests on the tests on images made in the tests.
    ...mutationTestSettings({ exclude: [...configDefaults.exclude, "test/processor-reference.test.ts"] }),
  },
});
