import { mutationTestSettings } from "@infer-recipes/test-support/vitest";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // Loading an 11 MB tokenizer.json in beforeAll takes seconds on a busy shared machine; the default 10 s failed there.
    hookTimeout: 120_000,
    pool: "forks",
    ...mutationTestSettings(),
  },
});
