/**
 * Reads pg_stat_statements of the app database — read-only, with a statement timeout — and fingerprints each
 * statement with libpg-query, so the same statement shape is one subject however pg_stat_statements spells it.
 * Needs a role with pg_read_all_stats (stack/postgres/init: hotpath_observer) for other roles' statement texts.
 */
import { fingerprint } from 'libpg-query';
import pg from 'pg';
import { UpstreamError, where } from '../errors.ts';
import type { StatementStats } from '../types.ts';

export interface StatementSourceOptions {
  readonly databaseUrl: string;
  /** The service (Prometheus job) that owns the database; defaults to the database name. */
  readonly service?: string;
  /** Statements with fewer calls are ignored (default 5). */
  readonly minCalls?: number;
  /** At most this many statements, by total time (default 200). */
  readonly limit?: number;
}

const STATEMENTS_SQL = `
SELECT s.query, s.calls::float8 AS calls, s.mean_exec_time AS mean_ms, s.stddev_exec_time AS stddev_ms,
       s.total_exec_time AS total_ms, s.rows::float8 AS rows,
       extract(epoch FROM now() - i.stats_reset)::float8 AS age_s, current_database() AS database
FROM pg_stat_statements s
CROSS JOIN pg_stat_statements_info i
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.calls >= $1
  AND s.toplevel
ORDER BY s.total_exec_time DESC
LIMIT $2`;

/** The SQL the source runs, for evidence. */
export const STATEMENTS_QUERY = STATEMENTS_SQL.trim();

export async function readStatements(options: StatementSourceOptions): Promise<StatementStats[]> {
  const target = where(options.databaseUrl);
  const client = new pg.Client({
    connectionString: options.databaseUrl,
    application_name: 'hotpath-analyzer',
    statement_timeout: 5_000,
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => {}); // a dropped connection surfaces as the failed query, not an unhandled event
  let rows: {
    query: string;
    calls: number;
    mean_ms: number;
    stddev_ms: number;
    total_ms: number;
    rows: number;
    age_s: number | null;
    database: string;
  }[];
  try {
    await client.connect();
    // Read-only, whatever the role allows: the analyzer never changes a user's database.
    await client.query('SET default_transaction_read_only = on');
    ({ rows } = await client.query(STATEMENTS_SQL, [options.minCalls ?? 5, options.limit ?? 200]));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = /pg_stat_statements/.test(message)
      ? ' (is pg_stat_statements in shared_preload_libraries and CREATE EXTENSION pg_stat_statements run?)'
      : '';
    throw new UpstreamError('database', target, `${message}${hint}`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }

  const out: StatementStats[] = [];
  for (const row of rows) {
    let print: string;
    try {
      print = await fingerprint(row.query);
    } catch {
      // Not parseable (a utility statement pg_stat_statements kept as text): skip, it cannot be a subject.
      continue;
    }
    out.push({
      fingerprint: print,
      query: row.query,
      database: row.database,
      service: options.service ?? row.database,
      calls: row.calls,
      meanMs: row.mean_ms,
      stddevMs: row.stddev_ms,
      totalMs: row.total_ms,
      rowsPerCall: row.calls > 0 ? row.rows / row.calls : 0,
      callsPerSecond: row.age_s !== null && row.age_s > 0 ? row.calls / row.age_s : null,
    });
  }
  return out;
}
