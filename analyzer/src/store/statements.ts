/**
 * pg_stat_statements samples in the analyzer's store: each cycle records the app database's counters and reads
 * the sample of one window ago, so statements are judged on their window (see `statementStats`). Samples older
 * than a day past the window are pruned as new ones come.
 */
import type pg from 'pg';
import type { StatementHistory } from '../sources/snapshot.ts';
import type { StatementCounters, StatementSample } from '../sources/statements.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** How long samples are kept beyond the one a cycle reads: windows up to a day stay answerable. */
const KEEP = '1 day';

export function statementHistory(db: Queryable): StatementHistory {
  return {
    async earlier(database, notAfter) {
      // The latest sample at least a window old; else, while the store is younger than the window, the oldest.
      const { rows } = await db.query<{ taken_at: Date; counters: StatementCounters[] }>(
        `(SELECT taken_at, counters FROM statement_samples WHERE database = $1 AND taken_at <= $2
          ORDER BY taken_at DESC LIMIT 1)
         UNION ALL
         (SELECT taken_at, counters FROM statement_samples WHERE database = $1
          ORDER BY taken_at ASC LIMIT 1)`,
        [database, notAfter],
      );
      const row = rows[0];
      return row === undefined ? undefined : { at: row.taken_at, counters: row.counters };
    },
    async record(database, sample: StatementSample) {
      await db.query('INSERT INTO statement_samples (database, taken_at, counters) VALUES ($1, $2, $3)', [
        database,
        sample.at,
        JSON.stringify(sample.counters),
      ]);
      await db.query(
        `DELETE FROM statement_samples WHERE database = $1 AND taken_at < $2::timestamptz - interval '${KEEP}'`,
        [database, sample.at],
      );
    },
  };
}
