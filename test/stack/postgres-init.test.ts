// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/**
 * stack/postgres/init/01-hotpath.sh run for real against the test PostgreSQL (the compose image runs it the same
 * way: psql as the superuser), then each role is checked for exactly what it may do. The test server trusts
 * local connections, so passwords are not what is tested here; privileges are.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/lib/demo.ts';

const server = new URL(inject('postgresUrl'));
const as = async <T>(user: string, database: string, work: (c: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ host: server.hostname, port: Number(server.port), user, database });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
};

describe('PostgreSQL init script of the compose stack', () => {
  beforeAll(() => {
    execFileSync('bash', [join(REPO_ROOT, 'stack/postgres/init/01-hotpath.sh')], {
      env: {
        ...process.env,
        PGHOST: server.hostname,
        PGPORT: server.port,
        POSTGRES_USER: 'postgres',
        SHOP_DB_PASSWORD: 'shop',
        HOTPATH_DB_PASSWORD: 'hotpath',
        HOTPATH_OBSERVER_PASSWORD: 'observer',
        GRAFANA_DB_PASSWORD: 'grafana',
      },
      stdio: 'pipe',
    });
  });

  it('gives the demo its own database and the analyzer read-only access to its statistics and plans', async () => {
    await as('shop', 'shop', async (c) => {
      await c.query('CREATE TABLE orders (id int PRIMARY KEY, customer_id int)');
      await c.query('INSERT INTO orders SELECT g, g % 10 FROM generate_series(1, 100) g');
      await c.query('SELECT count(*) FROM orders WHERE customer_id = $1', [3]);
    });
    await as('hotpath_observer', 'shop', async (c) => {
      const { rows } = await c.query<{ query: string }>(
        "SELECT query FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM orders%'",
      );
      expect(rows[0]?.query).toBe('SELECT count(*) FROM orders WHERE customer_id = $1');
      const plan = await c.query('EXPLAIN SELECT * FROM orders WHERE customer_id = 3');
      expect(plan.rows.length).toBeGreaterThan(0);
      await expect(c.query('INSERT INTO orders VALUES (1000, 1)')).rejects.toThrow(/read-only transaction/);
      await expect(c.query('CREATE INDEX ON orders (customer_id)')).rejects.toThrow(
        /read-only|must be owner/,
      );
      const { rows: timeout } = await c.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(timeout[0]?.statement_timeout).toBe('5s');
    });
  });

  it('lets Grafana read the analyzer’s tables and nothing more', async () => {
    await as('hotpath', 'hotpath', async (c) => {
      await c.query('CREATE TABLE findings (id text PRIMARY KEY, severity text)');
      await c.query("INSERT INTO findings VALUES ('f1', 'critical')");
    });
    await as('grafana_reader', 'hotpath', async (c) => {
      const { rows } = await c.query('SELECT severity FROM findings');
      expect(rows).toEqual([{ severity: 'critical' }]);
      await expect(c.query("UPDATE findings SET severity = 'info'")).rejects.toThrow(/read-only transaction/);
    });
    await expect(as('grafana_reader', 'shop', (c) => c.query('SELECT * FROM orders'))).rejects.toThrow(
      /permission denied/,
    );
  });
});
