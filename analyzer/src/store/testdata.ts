/** Test helper: one analysis cycle's findings written to a store, the way `hotpath serve` writes them. */
import type pg from 'pg';
import type { Finding } from '../types.ts';
import { type CycleChanges, recordCycle } from './findings.ts';
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
