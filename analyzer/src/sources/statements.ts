/**
 * Reads pg_stat_statements of the app database — read-only, with a statement timeout — and fingerprints each
 * statement with libpg-query, so the same statement shape is one subject however pg_stat_statements spells it:
 * rows of one fingerprint (several roles, IN-lists of other lengths) merge into one before detection.
 * pg_stat_statements only counts up since its last reset; `statementStats` turns two samples into the delta over
 * the analysis window. Needs a role with pg_read_all_stats (stack/postgres/init: hotpath_observer) for other
 * roles' statement texts.
 */
import { fingerprint } from 'libpg-query';
import pg from 'pg';
import { UpstreamError, where } from '../errors.ts';
import type { StatementStats } from '../types.ts';

/**
 * One statement shape's counters as pg_stat_statements holds them (cumulative since its reset): what a sample
 * stores. `sumSqMs` (Σ time², from mean and the population σ it reports) lets two samples give the window's σ.
 */
export interface StatementCounters {
  readonly fingerprint: string;
  readonly query: string;
  readonly database: string;
  readonly service: string;
  readonly calls: number;
  readonly totalMs: number;
  readonly sumSqMs: number;
  readonly rows: number;
  /** Seconds since pg_stat_statements was reset, when known. */
  readonly ageSeconds: number | null;
}

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

export async function readStatements(options: StatementSourceOptions): Promise<StatementCounters[]> {
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
    // Every row: the minimum number of calls applies to a fingerprint's rows together, after merging.
    ({ rows } = await client.query(STATEMENTS_SQL, [1, options.limit ?? 200]));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = /pg_stat_statements/.test(message)
      ? ' (is pg_stat_statements in shared_preload_libraries and CREATE EXTENSION pg_stat_statements run?)'
      : '';
    throw new UpstreamError('database', target, `${message}${hint}`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }

  const byPrint = new Map<string, StatementCounters & { topCalls: number }>();
  for (const row of rows) {
    let print: string;
    try {
      print = await fingerprint(row.query);
    } catch {
      // Not parseable (a utility statement pg_stat_statements kept as text): skip, it cannot be a subject.
      continue;
    }
    const sumSq = row.calls * (row.stddev_ms ** 2 + row.mean_ms ** 2);
    const before = byPrint.get(print);
    byPrint.set(print, {
      fingerprint: print,
      // The text of the row with the most calls stands for the shape.
      query: before === undefined || row.calls > before.topCalls ? row.query : before.query,
      topCalls: Math.max(row.calls, before?.topCalls ?? 0),
      database: row.database,
      service: options.service ?? row.database,
      calls: (before?.calls ?? 0) + row.calls,
      totalMs: (before?.totalMs ?? 0) + row.total_ms,
      sumSqMs: (before?.sumSqMs ?? 0) + sumSq,
      rows: (before?.rows ?? 0) + row.rows,
      ageSeconds: row.age_s ?? before?.ageSeconds ?? null,
    });
  }
  const minCalls = options.minCalls ?? 5;
  return [...byPrint.values()].filter((c) => c.calls >= minCalls).map(({ topCalls: _t, ...c }) => c);
}

/** An earlier sample of the same counters, and when it was taken. */
export interface StatementSample {
  readonly at: Date;
  readonly counters: readonly StatementCounters[];
}

function stats(
  c: Pick<StatementCounters, 'calls' | 'totalMs' | 'sumSqMs' | 'rows'>,
  base: StatementCounters,
  seconds: number | null,
  scope: StatementStats['scope'],
): StatementStats {
  const mean = c.calls > 0 ? c.totalMs / c.calls : 0;
  const variance = c.calls > 0 ? Math.max(0, c.sumSqMs / c.calls - mean ** 2) : 0;
  return {
    fingerprint: base.fingerprint,
    query: base.query,
    database: base.database,
    service: base.service,
    calls: c.calls,
    meanMs: mean,
    stddevMs: Math.sqrt(variance),
    totalMs: c.totalMs,
    rowsPerCall: c.calls > 0 ? c.rows / c.calls : 0,
    callsPerSecond: seconds !== null && seconds > 0 ? c.calls / seconds : null,
    scope,
  };
}

/**
 * The statements of the window: the delta between `current` and the `earlier` sample when there is one (a
 * statement missing from it is new since), else the totals since the last reset (`scope: 'since-reset'`). A
 * statement whose counters went down was reset in between: its totals are all of the window that is known.
 * Statements not called since the earlier sample are left out: nothing in the window to judge.
 */
export function statementStats(
  current: readonly StatementCounters[],
  earlier: StatementSample | undefined,
  at: Date,
): StatementStats[] {
  if (earlier === undefined) return current.map((c) => stats(c, c, c.ageSeconds, 'since-reset'));
  const seconds = (at.getTime() - earlier.at.getTime()) / 1000;
  const before = new Map(earlier.counters.map((c) => [`${c.database}\0${c.fingerprint}`, c]));
  const out: StatementStats[] = [];
  for (const c of current) {
    const b = before.get(`${c.database}\0${c.fingerprint}`);
    if (b !== undefined && c.calls < b.calls) {
      out.push(stats(c, c, c.ageSeconds, 'since-reset'));
      continue;
    }
    const delta =
      b === undefined
        ? c
        : {
            calls: c.calls - b.calls,
            totalMs: c.totalMs - b.totalMs,
            sumSqMs: c.sumSqMs - b.sumSqMs,
            rows: c.rows - b.rows,
          };
    if (delta.calls <= 0) continue;
    out.push(stats(delta, c, seconds, 'window'));
  }
  return out;
}
