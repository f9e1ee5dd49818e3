// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyDatabase, shopDatabase } from '../../../test/harness.ts';
import { type BatchedStatement, batchedStatement, plannable } from './batched.ts';

// The seeded shop (demo/src/db.ts) for shop-shaped statements; the tables ORMs name (users, reviews) in an
// otherwise empty database.
let shop: string;
let apps: string;

beforeAll(async () => {
  shop = await shopDatabase('batched');
  apps = await emptyDatabase('batched_apps');
  await query(
    apps,
    `CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL, org_id integer NOT NULL,
                         deleted_at timestamptz);
     CREATE TABLE reviews (id serial PRIMARY KEY, product_id integer NOT NULL, rating integer NOT NULL,
                           body text NOT NULL);`,
  );
});

async function query(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** The rewrite, asserted non-null and planned by PostgreSQL. */
async function batched(url: string, sql: string): Promise<BatchedStatement> {
  const b = await batchedStatement(sql);
  expect(b, sql).not.toBeNull();
  if (b === null) throw new Error('unreachable');
  expect(await plannable(url, b.statement), b.statement).toEqual({ ok: true });
  return b;
}

/**
 * Runs the per-item statement once per key and the batched one once, and asserts each key gets the same rows
 * back (as sets of the per-item statement's columns), matched by `matchBy`.
 */
async function sameRowsPerKey(
  url: string,
  perItem: string,
  statement: string,
  keys: readonly number[],
  matchBy: string,
): Promise<void> {
  const all = await query(url, statement, [keys]);
  for (const key of keys) {
    const one = await query(url, perItem, [key]);
    const columns = one.fields.map((f) => f.name);
    const pick = (row: Record<string, unknown>) => JSON.stringify(columns.map((c) => row[c]));
    const mine = all.rows.filter((r: Record<string, unknown>) => r[matchBy] === key).map(pick);
    expect(mine.sort(), `key ${key}`).toEqual(one.rows.map(pick).sort());
  }
}

describe('batchedStatement', () => {
  it('turns a per-item lookup by key into one lookup of all keys, with the key selected to match rows', async () => {
    const perItem = 'SELECT id, quantity, total_cents FROM orders WHERE product_id = $1';
    const b = await batched(shop, perItem);
    expect(b).toEqual({
      table: 'orders',
      keyColumn: 'product_id',
      parameter: '$1',
      statement: 'SELECT product_id, id, quantity, total_cents FROM orders WHERE product_id = ANY($1)',
      shape: 'any',
      notes: [
        "product_id = $1 is now product_id = ANY($1): pass one array with every item's key",
        'product_id is added to the select list so rows can be matched to items',
        'rows come back in any order: match them to items by product_id',
      ],
    });
    await sameRowsPerKey(shop, perItem, b.statement, [1, 2, 3], 'product_id');
  });

  it('groups an aggregate by the key and says that keys without rows come back missing', async () => {
    const perItem =
      'SELECT count(*)::int AS orders, coalesce(sum(quantity),0)::int AS units FROM orders WHERE product_id = $1';
    const b = await batched(shop, perItem);
    expect(b.shape).toBe('group-by');
    expect(b.statement).toBe(
      'SELECT product_id, count(*)::int AS orders, COALESCE(sum(quantity), 0)::int AS units FROM orders ' +
        'WHERE product_id = ANY($1) GROUP BY product_id',
    );
    expect(b.notes).toContainEqual(expect.stringMatching(/keys with no rows come back missing .*count 0/));
    await sameRowsPerKey(shop, perItem, b.statement, [1, 2, 3], 'product_id');
    // A product nobody ordered: one row of zeros per item before, no row at all now.
    const none = await query(shop, b.statement, [[1, 999_999]]);
    expect(none.rows.map((r) => r.product_id)).toEqual([1]);
  });

  it("the regex rewrite's aggregate (key selected, no GROUP BY) is one PostgreSQL rejects", async () => {
    const regexOutput =
      'SELECT product_id, count(*)::int AS orders, coalesce(sum(quantity),0)::int AS units FROM orders ' +
      'WHERE product_id = ANY($1)';
    const check = await plannable(shop, regexOutput);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.error).toMatch(/must appear in the GROUP BY clause/);
  });

  it('rewrites the knex/Bookshelf eager-load IN ($1) to = ANY($1), spelling key and table as written', async () => {
    const b = await batched(apps, 'select "reviews".* from "reviews" where "reviews"."product_id" in ($1)');
    expect(b).toMatchObject({
      table: '"reviews"',
      keyColumn: '"reviews"."product_id"',
      parameter: '$1',
      shape: 'any',
      statement: 'SELECT reviews.* FROM reviews WHERE reviews.product_id = ANY($1)',
    });
    expect(b.notes[0]).toMatch(/IN \(…\) is now "reviews"\."product_id" = ANY\(\$1\)/);
  });

  it('folds an IN list of several placeholders into one and moves the later placeholders down', async () => {
    const b = await batched(
      apps,
      'select "reviews".* from "reviews" where "reviews"."product_id" in ($1, $2, $3) and "reviews"."rating" >= $4',
    );
    expect(b.statement).toBe(
      'SELECT reviews.* FROM reviews WHERE reviews.product_id = ANY($1) AND reviews.rating >= $2',
    );
    expect(b.notes).toContain('the placeholders after the IN list move down: $4 is now $2');
  });

  it('gives an inlined key (Sequelize) the next free placeholder and keeps a select list that has it', async () => {
    const b = await batched(apps, 'SELECT "id", "name" FROM "users" AS "User" WHERE "User"."id" = 5;');
    expect(b).toMatchObject({
      table: '"users"',
      keyColumn: '"User"."id"',
      parameter: '$1',
      shape: 'any',
      statement: 'SELECT id, name FROM users AS "User" WHERE "User".id = ANY($1)',
    });
    const text = await batched(
      shop,
      "SELECT id, name FROM customers WHERE email = 'customer1@example.com' AND created_at < $1",
    );
    expect(text.parameter).toBe('$2');
    expect(text.statement).toBe(
      'SELECT email, id, name FROM customers WHERE email = ANY($2) AND created_at < $1',
    );
    expect(text.notes[0]).toBe(
      "the inlined key 'customer1@example.com' is now the array placeholder $2: pass one array with every item's key",
    );
    // The same constant in a filter is not the item; in another equality it might be.
    const filtered = await batched(shop, 'SELECT id FROM orders WHERE customer_id = 1 AND quantity > 1');
    expect(filtered.statement).toBe(
      'SELECT customer_id, id FROM orders WHERE customer_id = ANY($1) AND quantity > 1',
    );
  });

  it('keeps a top-n per item per key with CROSS JOIN LATERAL instead of making the LIMIT global', async () => {
    const perItem =
      'SELECT id, total_cents, created_at FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 5';
    const b = await batched(shop, perItem);
    expect(b.shape).toBe('lateral');
    expect(b.statement).toBe(
      'SELECT batch_keys.customer_id, per_key.* FROM (SELECT DISTINCT customer_id FROM orders WHERE customer_id = ANY($1)) AS batch_keys ' +
        'CROSS JOIN LATERAL (SELECT id, total_cents, created_at FROM orders WHERE customer_id = batch_keys.customer_id ' +
        'ORDER BY created_at DESC LIMIT 5) AS per_key',
    );
    expect(b.notes).toContainEqual(expect.stringMatching(/^LIMIT 5 stays per item/));
    await sameRowsPerKey(shop, perItem, b.statement, [1, 2, 3, 4], 'customer_id');
    const rows = await query(shop, b.statement, [[1, 2, 3, 4]]);
    expect(rows.rowCount).toBe(20);
  });

  it('names its subqueries so that they cannot capture a name the per-item statement uses', async () => {
    const b = await batched(
      shop,
      'SELECT batch_keys.id FROM orders AS batch_keys WHERE batch_keys.customer_id = $1 ORDER BY batch_keys.id LIMIT 2',
    );
    expect(b.statement).toBe(
      'SELECT batch_keys_2.customer_id, per_key.* FROM (SELECT DISTINCT batch_keys.customer_id FROM orders AS batch_keys ' +
        'WHERE batch_keys.customer_id = ANY($1)) AS batch_keys_2 CROSS JOIN LATERAL (SELECT batch_keys.id FROM orders AS batch_keys ' +
        'WHERE batch_keys.customer_id = batch_keys_2.customer_id ORDER BY batch_keys.id LIMIT 2) AS per_key',
    );
  });

  it('turns a per-item LIMIT 1 into DISTINCT ON (key) with the original order behind the key', async () => {
    const perItem =
      'SELECT id, total_cents FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 1';
    const b = await batched(shop, perItem);
    expect(b.shape).toBe('any');
    expect(b.statement).toBe(
      'SELECT DISTINCT ON (customer_id) customer_id, id, total_cents FROM orders WHERE customer_id = ANY($1) ' +
        'ORDER BY customer_id, created_at DESC',
    );
    await sameRowsPerKey(shop, perItem, b.statement, [1, 2, 3], 'customer_id');
    const findOne = await batched(
      apps,
      'SELECT "id", "email" FROM "users" AS "User" WHERE "User"."org_id" = 7 AND "User"."deleted_at" IS NULL LIMIT 1;',
    );
    expect(findOne.statement).toBe(
      'SELECT DISTINCT ON ("User".org_id) "User".org_id, id, email FROM users AS "User" ' +
        'WHERE "User".org_id = ANY($1) AND "User".deleted_at IS NULL ORDER BY "User".org_id',
    );
  });

  it('drops a LIMIT on an ungrouped aggregate, which returns one row per item anyway', async () => {
    const b = await batched(shop, 'SELECT count(*) AS n FROM orders WHERE customer_id = $1 LIMIT 1');
    expect(b.shape).toBe('group-by');
    expect(b.statement).toBe(
      'SELECT customer_id, count(*) AS n FROM orders WHERE customer_id = ANY($1) GROUP BY customer_id',
    );
  });

  it('keeps joins and aliases, and puts the key first in ORDER BY so each item’s rows stay together', async () => {
    const b = await batched(
      shop,
      'SELECT p.name, o.quantity FROM orders o JOIN products p ON p.id = o.product_id ' +
        'WHERE o.customer_id = $1 AND o.created_at > $2 ORDER BY o.created_at DESC',
    );
    expect(b).toMatchObject({ table: 'orders', keyColumn: 'o.customer_id', parameter: '$1', shape: 'any' });
    expect(b.statement).toBe(
      'SELECT o.customer_id, p.name, o.quantity FROM orders AS o JOIN products AS p ON p.id = o.product_id ' +
        'WHERE o.customer_id = ANY($1) AND o.created_at > $2 ORDER BY o.customer_id, o.created_at DESC',
    );
    const lateral = await batched(
      shop,
      'SELECT p.name, o.created_at FROM orders o JOIN products p ON p.id = o.product_id ' +
        'WHERE o.customer_id = $1 ORDER BY o.created_at DESC LIMIT 3',
    );
    expect(lateral.statement).toContain(
      '(SELECT DISTINCT o.customer_id FROM orders AS o WHERE o.customer_id = ANY($1)) AS batch_keys',
    );
  });

  it('with two placeholders takes the id-like equality as the key and leaves the other alone', async () => {
    const b = await batched(
      shop,
      'SELECT id, total_cents FROM orders WHERE status = $1 AND customer_id = $2',
    );
    expect(b.keyColumn).toBe('customer_id');
    expect(b.parameter).toBe('$2');
    expect(b.statement).toBe(
      'SELECT customer_id, id, total_cents FROM orders WHERE status = $1 AND customer_id = ANY($2)',
    );
    expect(b.notes[0]).toBe(
      'customer_id is taken as the per-item key (status is assumed the same for every item)',
    );
  });

  it('keeps a cast on the key placeholder, as an array cast', async () => {
    const b = await batched(shop, 'SELECT id FROM orders WHERE customer_id = $1::int');
    expect(b.statement).toBe('SELECT customer_id, id FROM orders WHERE customer_id = ANY($1::int[])');
  });

  it('prepends the key to an existing GROUP BY and DISTINCT ON, shifting positional references', async () => {
    const grouped = await batched(
      shop,
      'SELECT status, count(*) FROM orders WHERE customer_id = $1 GROUP BY status ORDER BY 2 DESC',
    );
    expect(grouped.statement).toBe(
      'SELECT customer_id, status, count(*) FROM orders WHERE customer_id = ANY($1) ' +
        'GROUP BY customer_id, status ORDER BY customer_id, 3 DESC',
    );
    const distinctOn = await batched(
      shop,
      'SELECT DISTINCT ON (status) status, id FROM orders WHERE customer_id = $1 ORDER BY status, created_at DESC',
    );
    expect(distinctOn.statement).toBe(
      'SELECT DISTINCT ON (customer_id, status) customer_id, status, id FROM orders WHERE customer_id = ANY($1) ' +
        'ORDER BY customer_id, status, created_at DESC',
    );
  });

  it('prints expressions faithfully: the output parses back to the edited tree and PostgreSQL plans it', async () => {
    const b = await batched(
      shop,
      `SELECT o.id,
              CASE WHEN o.status IN ($2, $3) THEN 'open' ELSE upper(o.status) END AS state,
              EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = o.product_id AND i.in_stock > 0) AS available,
              (SELECT name FROM products WHERE id = o.product_id) AS product,
              o.total_cents::numeric / 100 AS eur, -o.quantity AS negative, buyer.n
       FROM ONLY orders AS o
       LEFT JOIN products p USING (id)
       CROSS JOIN LATERAL (SELECT count(DISTINCT c.id) FILTER (WHERE c.id > 0) AS n FROM customers c
                           WHERE c.id = o.customer_id) AS buyer
       WHERE o.customer_id = $1
         AND NOT (o.status = 'x' OR o.quantity BETWEEN 2 AND 4)
         AND o.created_at > now() - interval '30 days'
         AND o.status NOT LIKE 'ref%' AND o.id IS NOT NULL AND (o.quantity > 1) IS TRUE
         AND o.product_id <> ALL($4::int[]) AND o.quantity IS DISTINCT FROM NULLIF($5::int, 0)
         AND GREATEST(o.quantity, 1) < 10 AND o.created_at < CURRENT_TIMESTAMP AND o.quantity = -1 + 2`,
    );
    expect(b.shape).toBe('any');
    expect(b.statement).toContain('WHERE o.customer_id = ANY($1) AND NOT (o.status = ');
    expect(b.statement).toContain("o.created_at > now() - '30 days'::interval");
  });

  it.each([
    ['an UPDATE', 'UPDATE products SET price_cents = price_cents + 1 WHERE id = $1'],
    ['an INSERT', 'INSERT INTO reviews (product_id, rating, body) VALUES ($1, 5, $2)'],
    ['a DELETE', 'DELETE FROM orders WHERE customer_id = $1'],
    ['a CTE', 'WITH o AS (SELECT * FROM orders) SELECT id FROM o WHERE customer_id = $1'],
    [
      'a UNION',
      'SELECT id FROM orders WHERE customer_id = $1 UNION SELECT id FROM orders WHERE product_id = $2',
    ],
    ['no key equality', 'SELECT * FROM products WHERE price_cents > $1'],
    ['no WHERE', 'SELECT count(*) FROM products'],
    ['the key only under OR', 'SELECT id FROM orders WHERE customer_id = $1 OR product_id = $2'],
    [
      'the key placeholder used twice',
      'SELECT id FROM orders WHERE customer_id = $1 AND total_cents > (SELECT avg(total_cents) FROM orders WHERE customer_id = $1)',
    ],
    [
      'an inlined key that appears again',
      'SELECT id FROM orders WHERE customer_id = 42 AND total_cents > (SELECT avg(total_cents) FROM orders WHERE customer_id = 42)',
    ],
    [
      'a window function',
      'SELECT id, row_number() OVER (ORDER BY created_at) FROM orders WHERE customer_id = $1',
    ],
    ['a row lock', 'SELECT id FROM inventory WHERE product_id = $1 FOR UPDATE'],
    [
      'a top-n whose key table is not known',
      'SELECT o.id FROM orders o JOIN products p ON p.id = o.product_id WHERE customer_id = $1 LIMIT 3',
    ],
    [
      'a construct the printer does not know',
      "SELECT id FROM products WHERE id = $1 AND name SIMILAR TO 'P%'",
    ],
    ['NOT IN', 'SELECT id FROM orders WHERE customer_id NOT IN ($1)'],
    ['two statements', 'SELECT id FROM orders WHERE customer_id = $1; SELECT 1'],
    ['not SQL', 'SELECT FROM WHERE ='],
  ])('declines %s (null, not a wrong statement)', async (_, sql) => {
    expect(await batchedStatement(sql)).toBeNull();
  });
});

describe('plannable', () => {
  it('plans a statement with placeholders without being given their types or values', async () => {
    expect(
      await plannable(shop, 'SELECT id FROM orders WHERE customer_id = ANY($1) AND created_at > $2 LIMIT $3'),
    ).toEqual({ ok: true });
  });

  it('plans a write without running it', async () => {
    const before = await query(shop, 'SELECT count(*)::int AS n FROM inventory');
    expect(await plannable(shop, 'DELETE FROM inventory WHERE product_id = ANY($1)')).toEqual({ ok: true });
    expect(await plannable(shop, 'DELETE FROM inventory')).toEqual({ ok: true });
    const after = await query(shop, 'SELECT count(*)::int AS n FROM inventory');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it("returns PostgreSQL's message for a statement it rejects", async () => {
    expect(await plannable(shop, 'SELECT nope FROM orders WHERE id = $1')).toEqual({
      ok: false,
      error: 'column "nope" does not exist',
    });
    expect(await plannable(shop, 'SELECT id FROM orders WHERE customer_id = $1 AND status = $3')).toEqual({
      ok: false,
      error: 'could not determine data type of parameter $2',
    });
  });

  it('refuses more than one statement, and reports an unreachable server instead of throwing', async () => {
    expect(await plannable(shop, 'SELECT 1; DROP TABLE orders')).toEqual({
      ok: false,
      error: 'expected exactly one statement',
    });
    const down = await plannable('postgres://nobody@127.0.0.1:9/shop', 'SELECT 1');
    expect(down.ok).toBe(false);
    expect(down.ok ? '' : down.error).toMatch(/^cannot connect to PostgreSQL: .*ECONNREFUSED/);
  });
});
