// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/** The harness's PostgreSQL is what the analyzer will need: pg_stat_statements collecting, HypoPG available. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopDatabase } from './harness.ts';

describe('test PostgreSQL', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: await shopDatabase('harness') });
    await client.connect();
  });
  afterAll(() => client?.end());

  it('runs as a non-root server with pg_stat_statements preloaded and collecting', async () => {
    const { rows } = await client.query<{ setting: string }>(
      "SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'",
    );
    expect(rows[0]?.setting).toContain('pg_stat_statements');
    await client.query('SELECT count(*) FROM products WHERE category = $1', ['category-1']);
    const stats = await client.query<{ calls: string }>(
      "SELECT calls FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM products WHERE category = $1'",
    );
    expect(Number(stats.rows[0]?.calls)).toBeGreaterThanOrEqual(1);
  });

  it('has HypoPG: a hypothetical index changes the plan without building anything', async () => {
    await client.query('DROP INDEX IF EXISTS orders_customer_id_idx');
    await client.query('CREATE EXTENSION IF NOT EXISTS hypopg');
    const explain = async () =>
      JSON.stringify(
        (await client.query('EXPLAIN (FORMAT JSON) SELECT id FROM orders WHERE customer_id = 42')).rows,
      );
    expect(await explain()).toContain('Seq Scan');
    await client.query('SELECT * FROM hypopg_create_index($1)', ['CREATE INDEX ON orders (customer_id)']);
    expect(await explain()).toMatch(/Index.*<\d+>btree_orders_customer_id/);
    await client.query('SELECT hypopg_reset()');
  });
});
