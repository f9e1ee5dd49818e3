/** Test helper: one analysis cycle's findings written to a store, the way `hotpath serve` writes them. */
import pg from 'pg';
import type { Finding } from '../types.ts';
import { type CycleChanges, recordCycle } from './findings.ts';
import { migrate } from './migrate.ts';
import { queueRun } from './runs.ts';

export async function recordTestCycle(
  pool: pg.Pool,
  findings: readonly Finding[],
  options: { readonly covered?: boolean; readonly autoResolveAfter?: number } = {},
): Promise<CycleChanges> {
  const run = await queueRun(pool, {
    trigger: 'cli',
    windowSeconds: 900,
    replica: 'test',
    requestedBy: null,
  });
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const changes = await recordCycle(client, findings, {
      runId: run.id,
      autoResolveAfter: options.autoResolveAfter ?? 3,
      covered: () => options.covered ?? false,
    });
    await client.query('COMMIT');
    return changes;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

/** A migrated store at `url` holding `findings`, recorded by one cycle. */
export async function seedStore(url: string, findings: readonly Finding[]): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await migrate(pool);
    await recordTestCycle(pool, findings);
  } finally {
    await pool.end();
  }
}
