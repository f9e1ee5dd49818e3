/**
 * Starts the real dependencies once per test run: a PostgreSQL server holding a seeded template shop database
 * (test files copy it instead of seeding their own) and a Prometheus with the generated pull-mode config.
 * Everything is stopped and deleted afterwards, also when tests fail.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateAndSeed } from '../demo/src/db.ts';
import { buildInstrumentation } from '../scripts/lib/build.mjs';
import { createDatabase, startPostgres } from '../scripts/lib/postgres.ts';
import { startPrometheus } from '../scripts/lib/prometheus.ts';
import { TEST_SEED } from './seed.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    prometheusUrl: string;
    prometheusTargetsDir: string;
    shopTemplate: string;
  }
}

const SHOP_TEMPLATE = 'shop_template';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  // The apps these tests start load the instrumentation's build, as users do: build it from the sources now.
  buildInstrumentation();
  const postgres = await startPostgres();
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  try {
    prometheus = await startPrometheus();
    const templateUrl = await createDatabase(postgres, SHOP_TEMPLATE);
    const pool = new pg.Pool({ connectionString: templateUrl, max: 2 });
    try {
      // As the compose init does for the app database: statistics, and HypoPG for the index advisor.
      await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await pool.query('CREATE EXTENSION IF NOT EXISTS hypopg');
      await migrateAndSeed(pool, TEST_SEED);
    } finally {
      await pool.end();
    }
  } catch (error) {
    await prometheus?.stop();
    await postgres.stop();
    throw error;
  }
  console.log(
    `[harness] PostgreSQL ${postgres.url}, Prometheus ${prometheus.url}, seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  project.provide('postgresUrl', postgres.url);
  project.provide('prometheusUrl', prometheus.url);
  project.provide('prometheusTargetsDir', prometheus.targetsDir);
  project.provide('shopTemplate', SHOP_TEMPLATE);
  const prom = prometheus;
  return async () => {
    await prom.stop();
    await postgres.stop();
  };
}
