/**
 * The shop's schema and its seed. The seed is generated inside PostgreSQL (`generate_series`) so a million
 * orders take seconds, and it is deterministic (modular arithmetic, no random()) so runs are comparable.
 */
import type pg from 'pg';

export interface SeedSize {
  readonly products: number;
  readonly customers: number;
  readonly orders: number;
}

/** Products per category: the N in the `n-plus-one` scenario's loop. */
export const PRODUCTS_PER_CATEGORY = 40;

/** The index the `missing-index` scenario removes: orders are looked up by customer on every customer page. */
export const CUSTOMER_ORDERS_INDEX = 'orders_customer_id_idx';
export const CREATE_CUSTOMER_ORDERS_INDEX = `CREATE INDEX IF NOT EXISTS ${CUSTOMER_ORDERS_INDEX} ON orders (customer_id)`;
export const DROP_CUSTOMER_ORDERS_INDEX = `DROP INDEX IF EXISTS ${CUSTOMER_ORDERS_INDEX}`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS products (
  id          integer PRIMARY KEY,
  name        text    NOT NULL,
  category    text    NOT NULL,
  price_cents integer NOT NULL,
  description text    NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
  id         integer     PRIMARY KEY,
  name       text        NOT NULL,
  email      text        NOT NULL UNIQUE,
  created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
  id          bigserial   PRIMARY KEY,
  customer_id integer     NOT NULL,
  product_id  integer     NOT NULL,
  quantity    integer     NOT NULL,
  total_cents integer     NOT NULL,
  status      text        NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS inventory (
  product_id integer PRIMARY KEY,
  in_stock   integer NOT NULL
);
-- The network round trip to a reporting replica, as a one-row table function the report queries join:
-- it waits without using CPU, like a query waiting on the network does.
CREATE OR REPLACE FUNCTION replica_round_trip(seconds double precision)
RETURNS TABLE (waited boolean) LANGUAGE sql VOLATILE ROWS 1 AS $$ SELECT true FROM pg_sleep(seconds) $$;
`;

/** Creates the schema and, if the shop is empty, seeds it. Safe to run on every start. */
export async function migrateAndSeed(
  pool: pg.Pool,
  size: SeedSize,
  progress: (message: string) => void = () => {},
): Promise<{ seeded: boolean }> {
  await pool.query(SCHEMA);
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM products');
  if (Number(rows[0]?.n ?? 0) > 0) {
    await pool.query(CREATE_CUSTOMER_ORDERS_INDEX);
    return { seeded: false };
  }
  const started = Date.now();
  progress(`seeding ${size.products} products, ${size.customers} customers, ${size.orders} orders…`);
  const categories = Math.max(1, Math.ceil(size.products / PRODUCTS_PER_CATEGORY));
  await pool.query(
    `INSERT INTO products (id, name, category, price_cents, description)
     SELECT g, 'Product ' || g, 'category-' || (1 + (g - 1) % $2), 199 + (g * 7919) % 20000,
            repeat('A fine product. ', 8)
     FROM generate_series(1, $1::int) AS g`,
    [size.products, categories],
  );
  await pool.query(
    `INSERT INTO customers (id, name, email, created_at)
     SELECT g, 'Customer ' || g, 'customer' || g || '@example.com', now() - ((g * 13) % 1000) * interval '1 day'
     FROM generate_series(1, $1::int) AS g`,
    [size.customers],
  );
  // 104729 and 7919 are primes: orders spread evenly over customers and products without random().
  // A year of orders, appended in the order they were placed (the newest last), as an orders table grows: the
  // last days' rows sit together on the table's last pages, as they do in production.
  await pool.query(
    `INSERT INTO orders (customer_id, product_id, quantity, total_cents, status, created_at)
     SELECT 1 + (g * 7919) % $2, 1 + (g * 104729) % $3, 1 + g % 5, 199 + (g * 31) % 50000,
            (ARRAY['paid', 'shipped', 'delivered', 'refunded'])[1 + g % 4],
            now() - interval '365 days' * ($1::bigint - g) / $1::bigint
     FROM generate_series(1, $1::bigint) AS g`,
    [size.orders, size.customers, size.products],
  );
  await pool.query('INSERT INTO inventory (product_id, in_stock) SELECT id, 100 + id % 50 FROM products');
  // Covering the category page's per-product sums (count, sum(quantity)): an index-only scan once VACUUM has
  // marked the pages all-visible, instead of visiting ~1,000 scattered heap rows per product.
  await pool.query(
    'CREATE INDEX IF NOT EXISTS orders_product_id_idx ON orders (product_id) INCLUDE (quantity)',
  );
  await pool.query('CREATE INDEX IF NOT EXISTS orders_created_at_idx ON orders (created_at)');
  await pool.query('CREATE INDEX IF NOT EXISTS products_category_idx ON products (category)');
  await pool.query(CREATE_CUSTOMER_ORDERS_INDEX);
  await pool.query('VACUUM ANALYZE');
  // Measured on PostgreSQL 15: the first pass after the bulk load leaves about a quarter of the orders pages
  // without the all-visible bit (13,060 of 17,700), so index-only scans still visit the heap for them. A second
  // pass sets the rest.
  await pool.query('VACUUM orders');
  progress(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { seeded: true };
}
