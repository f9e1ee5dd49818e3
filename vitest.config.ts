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
    // Two cores: more workers only make the demo processes fight for CPU.
    maxWorkers: 2,
  },
});
