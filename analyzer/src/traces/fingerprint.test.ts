import { fingerprint } from 'libpg-query';
import { describe, expect, it } from 'vitest';
import { fingerprintSpans, fingerprintSql, normalizeSql } from './fingerprint.ts';
import { spanKey } from './model.ts';
import { query, span, trace } from './testdata.ts';

describe('statement fingerprints', () => {
  it('are libpg-query fingerprints, the same for the same statement with other constants', async () => {
    const a = await fingerprintSql('SELECT * FROM orders WHERE id = 1');
    const b = await fingerprintSql('select *  from orders where id = 42');

    expect(a).toBe(b);
    expect(a).toBe(await fingerprint('SELECT * FROM orders WHERE id = $1'));
    expect(a).not.toBe(await fingerprintSql('SELECT * FROM products WHERE id = 1'));
  });

  it('fall back to a hash of the normalised text for what PostgreSQL cannot parse', async () => {
    const a = await fingerprintSql("SELECT * FROM `orders` WHERE `id` = 7 AND note = 'it''s'");
    const b = await fingerprintSql("select * from `orders`   where `id` = 12 and note = 'other'");

    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(a).toBe(b);
  });

  it('normalise literals, placeholders and IN lists', () => {
    expect(normalizeSql("SELECT a1 FROM t WHERE x IN (1, 2, 3) AND y = 'q' AND z = $2;")).toBe(
      'select a1 from t where x in (?) and y = ? and z = ?',
    );
  });

  it('are computed for every DB span with a statement, keyed by trace and span', async () => {
    const t = trace(
      query({ id: 1, startMs: 0, durationMs: 1, sql: 'SELECT * FROM orders WHERE id = $1' }),
      query({ id: 2, startMs: 1, durationMs: 1, sql: 'SELECT * FROM orders WHERE id = $1' }),
      span({ id: 3, kind: 'client', startMs: 0, durationMs: 1, attributes: { 'db.system.name': 'redis' } }),
      span({ id: 4, startMs: 0, durationMs: 1 }),
    );

    const prints = await fingerprintSpans([t]);

    expect([...prints.keys()]).toEqual([spanKey(t.spans[0] as never), spanKey(t.spans[1] as never)]);
    expect(new Set(prints.values()).size).toBe(1);
  });
});
