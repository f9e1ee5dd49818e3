/**
 * The index advisor's gain, measured, not estimated: the demo with `missing-index` on, the same closed-loop load
 * on its customer-orders route before and after applying the DDL the advisor prints (and nothing else), on a
 * private PostgreSQL. Prints the route's p95 and the statement's mean (pg_stat_statements, reset before each
 * run) before and after, as ratios. Target: ≥ 5× on the route.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { advise } from '../analyzer/src/advisor/advisor.ts';
import { limitsFor } from '../analyzer/src/limits.ts';
import { loadSlo, objectivesFor, sloFilePath } from '../analyzer/src/slo.ts';
import { statementSnapshot } from '../analyzer/src/sources/snapshot.ts';
import { migrateAndSeed } from '../demo/src/db.ts';
import { startDemo } from '../scripts/lib/demo.ts';
import { createDatabase, startPostgres, withClient } from '../scripts/lib/postgres.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5) * 2;
const CONNECTIONS = 4;
/** The demo's seed at the size the tests use: 2 M orders, 50 000 customers. */
const SEED = { products: 2_000, customers: 50_000, orders: 2_000_000 };
const STATEMENT = '%o.customer_id = $1%';

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** `CONNECTIONS` clients in a closed loop for `SECONDS` over many customers: each request's latency, ms. */
async function load(url: string): Promise<number[]> {
  const until = Date.now() + SECONDS * 1000;
  const latencies: number[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < until) {
        const started = performance.now();
        const response = await fetch(`${url}/api/customers/${1 + ((n++ * 7919) % SEED.customers)}/orders`);
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`GET /api/customers/:id/orders: ${response.status}`);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

async function statementMean(databaseUrl: string): Promise<number> {
  return withClient(databaseUrl, async (c) => {
    const { rows } = await c.query<{ mean: number }>(
      `SELECT sum(total_exec_time) / nullif(sum(calls), 0) AS mean FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE $1`,
      [STATEMENT],
    );
    return Number(rows[0]?.mean ?? Number.NaN);
  });
}

export async function benchAdvisor(): Promise<void> {
  const postgres = await startPostgres();
  try {
    process.stdout.write('  seeding the demo database (2 M orders)… ');
    const databaseUrl = await createDatabase(postgres, `bench_${randomUUID().slice(0, 8)}`);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    try {
      await pool.query('CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg');
      await migrateAndSeed(pool, SEED);
    } finally {
      await pool.end();
    }
    console.log('done');
    const demo = await startDemo({ databaseUrl, service: 'bench-advisor', scenarios: ['missing-index'] });
    try {
      await load(demo.url); // warm-up: JIT, connections, the table in the page cache
      await withClient(databaseUrl, (c) => c.query('SELECT pg_stat_statements_reset()'));
      const before = await load(demo.url);
      const meanBefore = await statementMean(databaseUrl);

      const slo = loadSlo(sloFilePath());
      const advice = await advise(await statementSnapshot(databaseUrl, { service: 'bench-advisor' }), {
        databaseUrl,
        limits: (s) => limitsFor(objectivesFor(slo, s)),
      });
      const index = advice.drafts.find(
        (d) => d.kind === 'missing-index' && d.subject.startsWith('public.orders (customer_id'),
      );
      if (index?.kind !== 'missing-index') {
        throw new Error(
          `the advisor proposed no orders(customer_id …) index: ${advice.drafts.map((d) => d.subject).join(', ')}`,
        );
      }
      console.log(`  the advisor prints: ${index.facts.ddl}`);
      await withClient(databaseUrl, (c) => c.query(index.facts.ddl));

      await load(demo.url); // warm-up on the new plan
      await withClient(databaseUrl, (c) => c.query('SELECT pg_stat_statements_reset()'));
      const after = await load(demo.url);
      const meanAfter = await statementMean(databaseUrl);

      const p95Before = quantile(before, 0.95);
      const p95After = quantile(after, 0.95);
      const routeRatio = p95Before / p95After;
      console.log(`
Index advisor: the demo's missing-index route before and after the printed DDL (${CONNECTIONS} connections, ${SECONDS} s each)
                                      before      after      ratio
  GET /api/customers/:id/orders p95   ${p95Before.toFixed(1).padStart(7)} ms ${p95After.toFixed(1).padStart(7)} ms ${routeRatio.toFixed(1).padStart(7)}×   (target ≥ 5×: ${routeRatio >= 5 ? 'met' : 'NOT met'})
  statement mean (pg_stat_statements) ${meanBefore.toFixed(2).padStart(7)} ms ${meanAfter.toFixed(2).padStart(7)} ms ${(meanBefore / meanAfter).toFixed(1).padStart(7)}×
  requests                            ${String(before.length).padStart(7)}    ${String(after.length).padStart(7)}`);
    } finally {
      await demo.stop();
    }
  } finally {
    await postgres.stop();
  }
}
