// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { shopDatabase } from '../../../test/harness.ts';
import { UpstreamError } from '../errors.ts';
import { readStatements, type StatementCounters, statementStats } from './statements.ts';

describe('readStatements', () => {
  it('reads this database’s pg_stat_statements, one fingerprint per statement shape', async () => {
    const url = await shopDatabase('statements');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (let i = 0; i < 6; i++) await client.query('SELECT id FROM products WHERE id = $1', [i + 1]);
    // The same shape written differently: same fingerprint (libpg-query ignores constants and formatting).
    for (let i = 0; i < 6; i++) await client.query(`select id   from products where id = ${i + 10}`);
    await client.end();

    const statements = await readStatements({ databaseUrl: url, service: 'shop-svc' });
    const mine = statements.filter((s) => /from products where id/i.test(s.query));
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(new Set(mine.map((s) => s.fingerprint)).size).toBe(1);
    expect(mine[0]?.service).toBe('shop-svc');
    expect(mine[0]?.calls).toBeGreaterThanOrEqual(6);
    expect(mine[0]?.totalMs).toBeGreaterThan(0);
    // Only this database: the template's seeding statements are not here.
    expect(statements.some((s) => /generate_series/.test(s.query))).toBe(false);
  });

  it('fails with the database named and a hint, never with a stack', async () => {
    const error = await readStatements({ databaseUrl: 'postgres://nobody@127.0.0.1:9/shop' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toMatch(/^database \(127\.0\.0\.1:9\/shop\): /);
  });
});

describe('statementStats', () => {
  const counters = (
    calls: number,
    totalMs: number,
    meanSqMs: number,
    extra: Partial<StatementCounters> = {},
  ) => ({
    fingerprint: 'fp1',
    query: 'SELECT * FROM orders WHERE customer_id = $1',
    database: 'shop',
    service: 'shop',
    calls,
    totalMs,
    sumSqMs: calls * meanSqMs,
    rows: calls,
    ageSeconds: 3600,
    ...extra,
  });
  const at = new Date('2026-01-01T12:15:00Z');

  it('judges the window: the delta since the sample one window ago, not the totals since the reset', () => {
    // Since the reset: 10 000 calls of 200 ms (a slow statement, since fixed). In the window: 900 calls of 2 ms.
    const earlier = { at: new Date('2026-01-01T12:00:00Z'), counters: [counters(10_000, 2_000_000, 40_000)] };
    const now = counters(10_900, 2_000_000 + 1_800, (10_000 * 40_000 + 900 * 4) / 10_900);

    const [s] = statementStats([now], earlier, at);

    expect(s).toMatchObject({ scope: 'window', calls: 900, callsPerSecond: 1 });
    expect(s?.meanMs).toBeCloseTo(2);
    expect(s?.stddevMs).toBeCloseTo(0, 3);
  });

  it('leaves out statements not called in the window, and takes a reset statement’s totals', () => {
    const earlier = { at: new Date('2026-01-01T12:00:00Z'), counters: [counters(50, 500, 100)] };
    expect(statementStats([counters(50, 500, 100)], earlier, at)).toEqual([]);
    expect(statementStats([counters(7, 70, 100)], earlier, at)[0]).toMatchObject({
      scope: 'since-reset',
      calls: 7,
    });
  });

  it('says it reads totals since the reset when there is no earlier sample', () => {
    expect(statementStats([counters(3600, 36_000, 100)], undefined, at)[0]).toMatchObject({
      scope: 'since-reset',
      meanMs: 10,
      callsPerSecond: 1,
    });
  });
});

describe('readStatements merges the rows of one fingerprint', () => {
  it('sums two roles’ rows of one statement into one, so one cycle has one finding per id', async () => {
    const url = await shopDatabase('merge');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(
      "DO $$ BEGIN CREATE ROLE hotpath_other LOGIN PASSWORD 'x'; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    );
    await admin.query('GRANT SELECT ON products TO hotpath_other');
    for (let i = 0; i < 6; i++) await admin.query('SELECT name FROM products WHERE id = $1', [i + 1]);
    await admin.end();
    const other = new URL(url);
    other.username = 'hotpath_other';
    other.password = 'x';
    const client = new pg.Client({ connectionString: other.toString() });
    await client.connect();
    for (let i = 0; i < 4; i++) await client.query('SELECT name FROM products WHERE id = $1', [i + 1]);
    await client.end();

    const mine = (await readStatements({ databaseUrl: url })).filter((s) =>
      /SELECT name FROM products WHERE id/.test(s.query),
    );

    expect(mine).toHaveLength(1);
    expect(mine[0]?.calls).toBe(10);
  });
});
