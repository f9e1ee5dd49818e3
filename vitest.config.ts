import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';
import { integrationGroups } from './test/projects.ts';

// Three projects (see test/projects.ts for which file goes where): `npx vitest run --project unit` runs the
// unit tests alone, with no PostgreSQL or Prometheus started; `--project 'integration*'` the integration tests.
const { parallel, serial } = integrationGroups(import.meta.dirname);
const integration = [...parallel, ...serial];

export default defineConfig({
  // In-process imports of @hotpath/instrumentation read its sources, never a stale build (scripts/lib/build.mjs);
  // the processes the integration tests start run the build, as users do.
  resolve: { conditions: ['hotpath-source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['hotpath-source', ...defaultServerConditions] } },
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    // Integration tests start real processes and wait for real scrapes.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', ...integration],
          // In parallel, first: none of them asserts a latency or shares a server.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-parallel',
          include: parallel,
          exclude: ['**/node_modules/**'],
          // The real PostgreSQL (with the seeded shop template) and Prometheus, started once for both integration
          // projects (test/global-setup.ts shares them).
          globalSetup: ['test/global-setup.ts'],
          // Two at a time, after the unit tests: these files assert no latency (test/projects.ts).
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: serial,
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/global-setup.ts'],
          // One file at a time, last: these start demo processes whose latency is asserted against the SLOs, and
          // on a 2-core machine two such files at once make each other miss them.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
