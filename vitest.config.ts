import { defineConfig } from "vitest/config";

// Three tiers (see README): unit tests are pure and run in parallel; integration and
// end-to-end tests share one dockerd and one Redis, so their files run one at a time.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts", "buildpacks/*/test/**/*.test.ts"] } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        // Swarm mode on engines of the tests' own (test/helpers/swarm-engine.ts): slow, last.
        test: {
          name: "swarm",
          include: ["test/swarm/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
