/**
 * Whether PostgreSQL plans a parameterized statement, without running it: the check that a proposed rewrite is
 * one the database accepts, before a person pastes it. Read-only and bounded: the session is read-only, every
 * statement has a timeout, the work happens in a transaction that is rolled back, and nothing is EXPLAIN
 * ANALYZEd.
 *
 * PostgreSQL 16+ plans a statement with unknown parameter values itself: EXPLAIN (GENERIC_PLAN). Older servers
 * (15 here) get the same in three steps: PREPARE infers each placeholder's type from where it is used (`key =
 * ANY($1)` makes `$1` an array of the key's type, as the driver's unnamed prepare would); with plan_cache_mode
 * = force_generic_plan, EXPLAIN EXECUTE then plans the prepared statement the way a generic plan is built,
 * without looking at the NULLs passed for the parameters; plain EXPLAIN does not execute.
 */
import { parse } from 'libpg-query';
import pg from 'pg';

export type PlanCheck = { readonly ok: true } | { readonly ok: false; readonly error: string };

const PREPARED = 'hotpath_check';

/** `{ ok: true }` when PostgreSQL plans `sql`; else PostgreSQL's message (or why it could not be asked). */
export async function plannable(databaseUrl: string, sql: string): Promise<PlanCheck> {
  try {
    // Sent as one simple-protocol string: a second statement after a `;` would run too.
    const tree = await parse(sql);
    if (tree.stmts?.length !== 1) return { ok: false, error: 'expected exactly one statement' };
  } catch (error) {
    return { ok: false, error: messageOf(error) };
  }
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: 'hotpath-plannable',
    connectionTimeoutMillis: 5_000,
    statement_timeout: 5_000,
    // PREPARE takes the tables' share locks: behind a migration's exclusive lock, give up rather than queue.
    lock_timeout: 2_000,
    idle_in_transaction_session_timeout: 10_000,
    options: '-c default_transaction_read_only=on',
  });
  client.on('error', () => {}); // a dropped connection surfaces as the failed query, not an unhandled event
  try {
    await client.connect();
  } catch (error) {
    return { ok: false, error: `cannot connect to PostgreSQL: ${messageOf(error)}` };
  }
  let prepared = false;
  try {
    const { rows } = await client.query<{ version: number }>(
      "SELECT current_setting('server_version_num')::int AS version",
    );
    const version = rows[0]?.version ?? 0;
    await client.query('BEGIN READ ONLY');
    try {
      if (version >= 160_000) {
        await client.query(`EXPLAIN (GENERIC_PLAN) ${sql}`);
      } else {
        await client.query(`PREPARE ${PREPARED} AS ${sql}`);
        prepared = true;
        const { rows: params } = await client.query<{ n: number }>(
          'SELECT cardinality(parameter_types) AS n FROM pg_prepared_statements WHERE name = $1',
          [PREPARED],
        );
        const n = params[0]?.n ?? 0;
        // plan_cache_mode exists from PostgreSQL 12; before it EXPLAIN EXECUTE plans with the NULLs.
        if (version >= 120_000) await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
        await client.query(
          `EXPLAIN EXECUTE ${PREPARED}${n > 0 ? `(${Array(n).fill('NULL').join(', ')})` : ''}`,
        );
      }
      return { ok: true };
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      // Prepared statements outlive a rollback.
      if (prepared) await client.query(`DEALLOCATE ${PREPARED}`).catch(() => {});
    }
  } catch (error) {
    return { ok: false, error: messageOf(error) };
  } finally {
    await client.end().catch(() => {});
  }
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0)
    return error.errors.map(messageOf).join('; ');
  return error instanceof Error ? error.message : String(error);
}
