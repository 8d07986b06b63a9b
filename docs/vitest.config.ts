import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    pool: "forks",
    // One file at a time: the site build is heavy, and it empties docs/.generated while it runs.
    fileParallelism: false,
  },
});
