/**
 * `hotpath advise` as a user runs it, on the test PostgreSQL, with a role that has only pg_read_all_stats and
 * SELECT, in a database without HypoPG: it says what it could not do, gives the unverified advice, and reports
 * a lookup table nobody writes as a cache candidate, but not the same shape on a table written meanwhile.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../../scripts/lib/postgres.ts';
import { emptyDatabase } from '../../../test/harness.ts';
import { hotpath } from './run-cli.ts';

/** One statement over its own connection (the harness's helper). */
const sql = (url: string, text: string, params: unknown[] = []) =>
  withClient(url, (c) => c.query(text, params));

interface Reported {
  kind: string;
  subject: string;
  title: string;
  evidence: { values: Record<string, number | string> };
  recommendations: { action: string; artifact?: string }[];
}

const LOOKUP = 'SELECT name FROM plans WHERE code = $1';
const WRITTEN = 'SELECT name FROM prices WHERE code = $1';

describe('hotpath advise', () => {
  let readOnlyUrl: string;
  beforeAll(async () => {
    const url = await emptyDatabase('advise');
    const role = `advisor_${randomUUID().slice(0, 8)}`;
    await sql(
      url,
      `CREATE EXTENSION pg_stat_statements;
       CREATE TABLE plans (id serial PRIMARY KEY, code text NOT NULL, name text NOT NULL);
       INSERT INTO plans (code, name) SELECT 'p' || i, 'Plan ' || i FROM generate_series(1, 300000) AS i;
       CREATE TABLE prices (id serial PRIMARY KEY, code text NOT NULL, name text NOT NULL);
       INSERT INTO prices (code, name) SELECT 'p' || i, 'Price ' || i FROM generate_series(1, 300000) AS i;
       CREATE ROLE ${role} LOGIN;
       GRANT pg_read_all_stats TO ${role};
       GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role};`,
    );
    await sql(url, 'VACUUM ANALYZE');
    await sql(url, 'SELECT pg_stat_statements_reset()');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (let i = 0; i < 30; i++) {
        await c.query(LOOKUP, [`p${i}`]);
        await c.query(WRITTEN, [`p${i}`]);
        // prices is written while it is read: a cache would serve stale rows.
        await c.query('UPDATE prices SET name = name WHERE id = $1', [i + 1]);
      }
    } finally {
      await c.end(); // a backend flushes its table statistics when it ends
    }
    const u = new URL(url);
    u.username = role;
    readOnlyUrl = u.toString();
  }, 120_000);

  it('works with pg_read_all_stats and SELECT only, and says that without HypoPG nothing is verified', async () => {
    const before = await sql(readOnlyUrl, 'SELECT sum(length(name))::int AS n FROM prices');
    const { code, stdout, stderr } = await hotpath('advise', '--database', readOnlyUrl, '--format', 'json');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as {
      findings: Reported[];
      advisor: { hypopg: string | null; notes: string[]; ran: boolean };
    };
    expect(out.advisor.ran).toBe(true);
    expect(out.advisor.hypopg).toBeNull();
    expect(out.advisor.notes.join(' ')).toMatch(/HypoPG is not installed.*not verified/);
    const index = out.findings.find((f) => f.kind === 'missing-index' && f.subject === 'public.plans (code)');
    expect(index?.title).toMatch(
      /^Possible missing index on public\.plans \(code\) \(not verified: no HypoPG\)/,
    );
    expect(index?.evidence.values.verified).toBe('false');
    expect(index?.recommendations[0]?.artifact).toContain(
      'CREATE INDEX CONCURRENTLY ON public.plans (code);',
    );
    expect(await sql(readOnlyUrl, 'SELECT sum(length(name))::int AS n FROM prices')).toMatchObject({
      rows: before.rows,
    });
  });

  it('reports the lookup on a table nobody writes as a cache candidate, not the same shape on a written one', async () => {
    const { code, stdout } = await hotpath('advise', '--database', readOnlyUrl, '--format', 'json');
    expect(code).toBe(0);
    const findings = (JSON.parse(stdout) as { findings: Reported[] }).findings;
    const caches = findings.filter((f) => f.kind === 'cache-candidate');
    expect(caches.map((f) => f.evidence.values.statement)).toEqual([LOOKUP]);
    const [cache] = caches;
    expect(cache?.evidence.values.tables).toBe('public.plans');
    expect(Number(cache?.evidence.values.quiet_s)).toBeGreaterThan(0);
    expect(cache?.recommendations[0]?.action).toMatch(/a cache in the process/);
  });

  it('explains a bad URL (exit 2) and an unreachable database (exit 3) without a stack trace', async () => {
    const bad = await hotpath('advise', '--database', 'localhost:5432');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not a PostgreSQL URL/);
    const down = await hotpath('advise', '--database', 'postgres://nobody@127.0.0.1:9/none');
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/^hotpath: database \(127\.0\.0\.1:9\/none\): connect ECONNREFUSED/m);
    for (const r of [bad, down]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
