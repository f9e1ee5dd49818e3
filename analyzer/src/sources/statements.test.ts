import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { shopDatabase } from '../../../test/harness.ts';
import { UpstreamError } from '../errors.ts';
import { readStatements } from './statements.ts';

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
    expect(mine[0]?.meanMs).toBeGreaterThan(0);
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
