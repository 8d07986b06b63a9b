import { mutationTestSettings } from "@infer-recipes/test-support/vitest";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "forks",
    // Under StrykerJS a mutant that leaves a request or download hanging fails at 10 s instead of being timed out later
    // (at 20 s + 3 × the covering tests' time, then the test process is restarted); the slowest test takes well under 2 s.
    ...mutationTestSettings({ testTimeout: 10_000 }),
  },
});
