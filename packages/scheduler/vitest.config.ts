import { mutationTestSettings } from "@infer-recipes/test-support/vitest";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "forks",
    // Under StrykerJS a mutant that leaves a request hanging fails at 40 s instead of being timed out later (at 20 s +
    // 3 × the covering tests' time, then the test process is restarted); the slowest test takes about 12 s there.
    ...mutationTestSettings({ testTimeout: 40_000 }),
  },
});
