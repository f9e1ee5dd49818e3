/**
 * Starts the real dependencies once per test run: a PostgreSQL server holding a seeded template shop database
 * (test files copy it instead of seeding their own) and a Prometheus with the generated pull-mode config.
 * Everything is stopped and deleted afterwards, also when tests fail.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateAndSeed } from '../demo/src/db.ts';
import { buildInstrumentation } from '../scripts/lib/build.mjs';
import { createDatabase, type PostgresServer, startPostgres } from '../scripts/lib/postgres.ts';
import { type PrometheusServer, startPrometheus } from '../scripts/lib/prometheus.ts';
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

interface Servers {
  readonly postgres: PostgresServer;
  readonly prometheus: PrometheusServer;
}

/**
 * Both integration projects name this setup; Vitest runs it once per project, each in a module instance of its
 * own. The servers are started once, on the main process's global, and stopped after the last project's teardown.
 */
const SHARED = Symbol.for('hotpath.test.global-setup');
type Shared = { servers: Promise<Servers>; users: number };
const shared = globalThis as { [SHARED]?: Shared };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  shared[SHARED] ??= { servers: startServers(), users: 0 };
  const entry = shared[SHARED];
  entry.users += 1;
  const { postgres, prometheus } = await entry.servers;
  project.provide('postgresUrl', postgres.url);
  project.provide('prometheusUrl', prometheus.url);
  project.provide('prometheusTargetsDir', prometheus.targetsDir);
  project.provide('shopTemplate', SHOP_TEMPLATE);
  return async () => {
    entry.users -= 1;
    if (entry.users > 0) return;
    delete shared[SHARED];
    await prometheus.stop();
    await postgres.stop();
  };
}

async function startServers(): Promise<Servers> {
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
  return { postgres, prometheus };
}
