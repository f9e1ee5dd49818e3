import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // Integration tests start real processes and wait for real scrapes.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // One test file at a time: integration files start demo processes whose latency is asserted against the
    // SLOs, and on a 2-core machine two such files at once make each other miss them.
    fileParallelism: false,
  },
});
