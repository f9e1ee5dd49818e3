/**
 * The advisor's one connection to a user's database, and everything it asks there. Read-only by construction:
 * the session is `default_transaction_read_only`, every plan is taken inside `BEGIN READ ONLY … ROLLBACK` with
 * plain EXPLAIN (never ANALYZE: nothing from pg_stat_statements is executed), every statement has a timeout and
 * gives up behind a lock rather than queue. HypoPG's hypothetical indexes live in this backend's memory only:
 * no catalog write, nothing another session sees, gone with `hypopg_reset()` or the connection.
 *
 * Generic plans: PostgreSQL 16+ plans `$1` placeholders itself (EXPLAIN (GENERIC_PLAN)). On older servers, PREPARE
 * infers each placeholder's type from where it is used, and with plan_cache_mode = force_generic_plan, EXPLAIN
 * EXECUTE plans the prepared statement the way a generic plan is built, without looking at the NULLs passed.
 * Each plan prepares afresh, so it sees the hypothetical indexes of the moment.
 */
import pg from 'pg';
import type { TableName } from './candidates.ts';

/** One node of `EXPLAIN (FORMAT JSON)`, as PostgreSQL names its keys. */
export interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Total Cost': number;
  readonly 'Startup Cost': number;
  readonly 'Plan Rows': number;
  readonly 'Relation Name'?: string;
  readonly Schema?: string;
  readonly 'Index Name'?: string;
  readonly 'Sort Key'?: readonly string[];
  readonly 'Join Type'?: string;
  readonly 'Parent Relationship'?: string;
  readonly Plans?: readonly PlanNode[];
}

export type PlanResult =
  | { readonly ok: true; readonly plan: PlanNode }
  | { readonly ok: false; readonly error: string };

/** What the catalog says about one table the workload reads. */
export interface TableInfo {
  /** `schema.name`, as the DDL writes it (quoted where needed). */
  readonly qualified: string;
  readonly schema: string;
  readonly name: string;
  readonly rows: number;
  readonly pages: number;
  /** From the statistics (relpages × block size): reading the catalog takes no lock on the table. */
  readonly bytes: number;
  readonly columns: readonly string[];
  /** Each column as DDL writes it (PostgreSQL's quote_ident: reserved words and mixed case quoted). */
  readonly quoted: ReadonlyMap<string, string>;
  /** Valid indexes, key columns in order; expression and partial indexes cover nothing here. */
  readonly indexes: readonly {
    readonly name: string;
    readonly columns: readonly string[];
    readonly plain: boolean;
  }[];
  /** pg_stats' n_distinct (negative: a fraction of the rows), by column. */
  readonly distinct: ReadonlyMap<string, number>;
  /**
   * Average stored width of each column, bytes: pg_stats' avg_width, else the type's fixed length, else 32
   * (what PostgreSQL's own get_typavgwidth assumes for a variable-width type it knows nothing of).
   */
  readonly width: ReadonlyMap<string, number>;
  /**
   * Rows inserted, updated or deleted since the table was last analyzed, and how long ago that was
   * (pg_stat_user_tables.n_mod_since_analyze): a write rate over a known stretch; null if never analyzed.
   */
  readonly writes: { readonly rows: number; readonly overSeconds: number } | null;
}

export interface AdvisorSessionOptions {
  readonly databaseUrl: string;
  /** Per statement the advisor sends (default 5 s): a plan that takes longer is reported, not waited for. */
  readonly statementTimeoutMs?: number;
  /** As pg_stat_activity shows the session (default `hotpath-advisor`). */
  readonly applicationName?: string;
}

const PREPARED = 'hotpath_plan';

/** Always quoted: the parser already folded unquoted names, so quoting keeps them exactly as meant. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An error's message; each one of an AggregateError (pg connecting to every address of a host). */
export function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0)
    return error.errors.map(messageOf).join('; ');
  return error instanceof Error ? error.message : String(error);
}

export class AdvisorSession {
  private readonly client: pg.Client;
  readonly version: number;
  /** The HypoPG version, when the extension is installed in this database. */
  readonly hypopg: string | null;

  private constructor(client: pg.Client, version: number, hypopg: string | null) {
    this.client = client;
    this.version = version;
    this.hypopg = hypopg;
  }

  static async open(options: AdvisorSessionOptions): Promise<AdvisorSession> {
    const timeout = options.statementTimeoutMs ?? 5_000;
    const client = new pg.Client({
      connectionString: options.databaseUrl,
      application_name: options.applicationName ?? 'hotpath-advisor',
      connectionTimeoutMillis: 5_000,
      statement_timeout: timeout,
      // PREPARE takes the tables' share locks: behind a migration's exclusive lock, give up rather than queue.
      lock_timeout: Math.min(2_000, timeout),
      idle_in_transaction_session_timeout: timeout * 2,
      options: '-c default_transaction_read_only=on',
    });
    client.on('error', () => {}); // a dropped connection surfaces as the failed query, not an unhandled event
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number; hypopg: string | null }>(
        `SELECT current_setting('server_version_num')::int AS version,
                (SELECT extversion FROM pg_extension WHERE extname = 'hypopg') AS hypopg`,
      );
      return new AdvisorSession(client, rows[0]?.version ?? 0, rows[0]?.hypopg ?? null);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }

  /** The generic plan of `sql` (one statement, `$n` placeholders), never executed. */
  async plan(sql: string): Promise<PlanResult> {
    let prepared = false;
    try {
      await this.client.query('BEGIN READ ONLY');
      try {
        let rows: { 'QUERY PLAN': { Plan: PlanNode }[] }[];
        if (this.version >= 160_000) {
          ({ rows } = await this.client.query(`EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${sql}`));
        } else {
          await this.client.query(`PREPARE ${PREPARED} AS ${sql}`);
          prepared = true;
          const { rows: params } = await this.client.query<{ n: number }>(
            'SELECT cardinality(parameter_types) AS n FROM pg_prepared_statements WHERE name = $1',
            [PREPARED],
          );
          const n = params[0]?.n ?? 0;
          // plan_cache_mode exists from PostgreSQL 12; before it EXPLAIN EXECUTE plans with the NULLs.
          if (this.version >= 120_000)
            await this.client.query('SET LOCAL plan_cache_mode = force_generic_plan');
          ({ rows } = await this.client.query(
            `EXPLAIN (FORMAT JSON) EXECUTE ${PREPARED}${n > 0 ? `(${Array(n).fill('NULL').join(', ')})` : ''}`,
          ));
        }
        const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
        return plan === undefined ? { ok: false, error: 'EXPLAIN returned no plan' } : { ok: true, plan };
      } finally {
        await this.client.query('ROLLBACK').catch(() => {});
        // Prepared statements outlive a rollback.
        if (prepared) await this.client.query(`DEALLOCATE ${PREPARED}`).catch(() => {});
      }
    } catch (error) {
      return { ok: false, error: messageOf(error) };
    }
  }

  /**
   * Runs `work` with hypothetical indexes `definitions` (`CREATE INDEX ON t (a, b)`) in place, then removes
   * them; the estimated size of each, in bytes, and the name each has in a plan's `Index Name`.
   */
  async withIndexes<T>(
    definitions: readonly string[],
    work: (sizes: readonly number[], names: readonly string[]) => Promise<T>,
  ): Promise<T> {
    if (this.hypopg === null) throw new Error('HypoPG is not installed in this database');
    try {
      const sizes: number[] = [];
      const names: string[] = [];
      for (const d of definitions) {
        const { rows } = await this.client.query<{ size: string; name: string }>(
          'SELECT hypopg_relation_size(indexrelid)::text AS size, indexname AS name FROM hypopg_create_index($1)',
          [d],
        );
        sizes.push(Number(rows[0]?.size ?? 0));
        names.push(rows[0]?.name ?? '');
      }
      return await work(sizes, names);
    } finally {
      await this.client.query('SELECT hypopg_reset()').catch(() => {});
    }
  }

  /** The catalog's view of `tables`, keyed by the name as written (`schema.name` or `name`); unknown ones left out. */
  async tables(tables: readonly TableName[]): Promise<Map<string, TableInfo>> {
    const written = [...new Set(tables.map(writtenName))];
    const out = new Map<string, TableInfo>();
    if (written.length === 0) return out;
    const { rows } = await this.client.query<{
      written: string;
      oid: number;
      schema: string;
      name: string;
      rows: number;
      pages: number;
      bytes: number;
      columns: string[];
      quoted: string[];
      widths: number[];
      qualified: string;
      mods: number | null;
      since_analyze_s: number | null;
    }>(
      `SELECT w.written, c.oid::int AS oid, n.nspname AS schema, c.relname AS name,
              greatest(c.reltuples, 0)::float8 AS rows, c.relpages::float8 AS pages,
              c.relpages::float8 * current_setting('block_size')::float8 AS bytes,
              array(SELECT attname::text FROM pg_attribute
                    WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum) AS columns,
              array(SELECT quote_ident(attname) FROM pg_attribute
                    WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum) AS quoted,
              array(SELECT coalesce(st.avg_width, CASE WHEN a.attlen > 0 THEN a.attlen ELSE 32 END)::float8
                    FROM pg_attribute a
                    LEFT JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = c.relname
                                         AND st.attname = a.attname
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS widths,
              quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qualified,
              s.n_mod_since_analyze::float8 AS mods,
              extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze))::float8 AS since_analyze_s
       FROM unnest($1::text[]) AS w(written)
       JOIN pg_class c ON c.oid = to_regclass(w.written)
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
       WHERE c.relkind IN ('r', 'p', 'm')`,
      [written],
    );
    const oids = rows.map((r) => r.oid);
    const { rows: indexes } = await this.client.query<{
      table: number;
      name: string;
      columns: (string | null)[];
      plain: boolean;
    }>(
      `SELECT i.indrelid::int AS table, ic.relname AS name,
              array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                    WHERE k.ord <= i.indnkeyatts ORDER BY k.ord) AS columns,
              (i.indpred IS NULL AND i.indexprs IS NULL) AS plain
       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
       WHERE i.indrelid = ANY($1::oid[]) AND i.indisvalid`,
      [oids],
    );
    const { rows: stats } = await this.client.query<{ table: number; column: string; distinct: number }>(
      `SELECT c.oid::int AS table, s.attname::text AS column, s.n_distinct::float8 AS distinct
       FROM pg_stats s JOIN pg_namespace n ON n.nspname = s.schemaname
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
       WHERE c.oid = ANY($1::oid[])`,
      [oids],
    );
    for (const r of rows) {
      out.set(r.written, {
        qualified: r.qualified,
        schema: r.schema,
        name: r.name,
        rows: r.rows,
        pages: r.pages,
        bytes: r.bytes,
        columns: r.columns,
        quoted: new Map(r.columns.map((c, i) => [c, r.quoted[i] ?? c])),
        width: new Map(r.columns.map((c, i) => [c, r.widths[i] ?? 32])),
        indexes: indexes
          .filter((i) => i.table === r.oid)
          .map((i) => ({
            name: i.name,
            columns: i.columns.map((c) => c ?? ''),
            plain: i.plain && i.columns.every((c) => c !== null),
          })),
        distinct: new Map(stats.filter((s) => s.table === r.oid).map((s) => [s.column, s.distinct])),
        writes:
          r.mods === null || r.since_analyze_s === null
            ? null
            : { rows: r.mods, overSeconds: r.since_analyze_s },
      });
    }
    return out;
  }
}

/** A table name as `to_regclass` takes it: quoted parts, schema when the statement gave one. */
export function writtenName(t: TableName): string {
  return t.schema === undefined ? ident(t.name) : `${ident(t.schema)}.${ident(t.name)}`;
}
