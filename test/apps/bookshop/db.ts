/**
 * The bookshop's two database handles and its schema. The catalogue goes through knex (with its own small
 * pool); orders and reporting use a raw `pg.Pool`, as they did before the catalogue moved to knex. The seed is
 * generated inside PostgreSQL (`generate_series`, modular arithmetic, no random()) so it takes a second and
 * every run sees the same shop.
 */
import knex, { type Knex } from 'knex';
import pg from 'pg';

/** Pool sizes: small, as they are in a service that runs many replicas against one primary. */
export const CATALOG_POOL_MAX = 4;
export const ORDERS_POOL_MAX = 3;

/**
 * Size of the seed. Authors 1…houseAuthors are the shop's long-running series authors with
 * booksPerHouseAuthor books each; the other books are spread over the remaining authors (5 or 6 each).
 * Every book has 10 reviews.
 */
export const SEED = {
  authors: 300,
  books: 3_000,
  reviews: 30_000,
  orders: 20_000,
  houseAuthors: 15,
  booksPerHouseAuthor: 100,
} as const;

/**
 * Host, port and database as separate settings rather than a connection string: pg-pool only knows what it
 * was given, and the pool's name in telemetry (`host:port/database`) is built from these fields.
 */
export function connectionSettings(databaseUrl: string, applicationName: string): pg.ClientConfig {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    database: decodeURIComponent(url.pathname.slice(1)),
    user: decodeURIComponent(url.username || 'postgres'),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    application_name: applicationName,
  };
}

export function createCatalogDb(databaseUrl: string): Knex {
  return knex({
    client: 'pg',
    connection: connectionSettings(databaseUrl, 'bookshop-catalog') as Knex.PgConnectionConfig,
    pool: { min: 0, max: CATALOG_POOL_MAX },
  });
}

export function createOrdersPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({ ...connectionSettings(databaseUrl, 'bookshop-orders'), max: ORDERS_POOL_MAX });
  pool.on('error', (error) => console.error(`[bookshop] idle orders connection failed: ${error.message}`));
  return pool;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS authors (
  id   integer PRIMARY KEY,
  name text    NOT NULL,
  bio  text    NOT NULL
);
CREATE TABLE IF NOT EXISTS books (
  id           integer PRIMARY KEY,
  author_id    integer NOT NULL REFERENCES authors (id),
  title        text    NOT NULL,
  isbn         text    NOT NULL UNIQUE,
  price_cents  integer NOT NULL CHECK (price_cents > 0),
  pages        integer NOT NULL,
  published_at date    NOT NULL,
  description  text    NOT NULL
);
CREATE INDEX IF NOT EXISTS books_author_id_idx ON books (author_id);
CREATE TABLE IF NOT EXISTS reviews (
  id         serial      PRIMARY KEY,
  book_id    integer     NOT NULL REFERENCES books (id),
  rating     smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
  body       text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS reviews_book_id_idx ON reviews (book_id);
CREATE TABLE IF NOT EXISTS inventory (
  book_id   integer PRIMARY KEY REFERENCES books (id),
  warehouse text    NOT NULL,
  in_stock  integer NOT NULL CHECK (in_stock >= 0)
);
CREATE TABLE IF NOT EXISTS orders (
  id              bigserial   PRIMARY KEY,
  book_id         integer     NOT NULL REFERENCES books (id),
  quantity        integer     NOT NULL CHECK (quantity > 0),
  total_cents     integer     NOT NULL,
  email           text        NOT NULL,
  status          text        NOT NULL,
  price_signature text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_book_id_idx ON orders (book_id);
CREATE INDEX IF NOT EXISTS orders_created_at_idx ON orders (created_at);
`;

const SENTENCE =
  'A story of ledgers, lighthouses and the people who keep them running through long northern winters. ';

const SEED_STATEMENTS = [
  `INSERT INTO authors (id, name, bio)
   SELECT g, (ARRAY['Ada','Bruno','Clara','Dmitri','Elif','Farah','Goran','Hana','Ines','Jonas'])[1 + g % 10]
             || ' ' || (ARRAY['Abbott','Berg','Castillo','Dahl','Eze','Fischer','Grant','Holm','Iqbal'])[1 + g % 9]
             || ' ' || g,
          repeat('Writes about the sea, about work and about the small hours. ', 24)
   FROM generate_series(1, $1::int) AS g`,
  // Books 1…houseAuthors·booksPerHouseAuthor go round the house authors, the rest round the others.
  `INSERT INTO books (id, author_id, title, isbn, price_cents, pages, published_at, description)
   SELECT g,
          CASE WHEN g <= $4::int * $5::int THEN 1 + (g - 1) % $4 ELSE $4 + 1 + (g - 1) % ($2 - $4) END,
          'The ' || (ARRAY['Quiet','Salt','Iron','Paper','Winter','Glass','Last','Northern'])[1 + g % 8] || ' '
            || (ARRAY['Harbour','Ledger','Garden','Orchard','Lantern','Archive','Crossing'])[1 + (g / 8) % 7]
            || ' ' || (1 + g / 56),
          '978' || lpad(g::text, 10, '0'), 499 + (g * 7919) % 3000, 120 + (g * 31) % 600,
          date '1990-01-01' + (g * 37) % 12000, repeat($3, 60 + g % 20)
   FROM generate_series(1, $1::int) AS g`,
  `INSERT INTO reviews (book_id, rating, body, created_at)
   SELECT 1 + (g * 7919) % $2, 1 + (g * 31) % 5,
          (ARRAY['Could not put it down; the ending lands.', 'The middle drags, the rest is superb.',
                 'Bought it twice, gave one away.', 'Not for me, but well made.'])[1 + g % 4],
          now() - (g % 2000) * interval '1 hour'
   FROM generate_series(1, $1::int) AS g`,
  `INSERT INTO inventory (book_id, warehouse, in_stock)
   SELECT id, (ARRAY['AMS','LEJ','POZ'])[1 + id % 3], 5000 + id % 500 FROM books`,
  `INSERT INTO orders (book_id, quantity, total_cents, email, status, created_at)
   SELECT b.id, 1 + g % 3, b.price_cents * (1 + g % 3), 'reader' || (g * 13) % 5000 || '@example.com',
          (ARRAY['paid','shipped','delivered','refunded'])[1 + g % 4],
          now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second'
   FROM generate_series(1, $1::int) AS g JOIN books b ON b.id = 1 + (g::bigint * 104729) % $2`,
] as const;

/** Creates the schema and, if the shop is empty, seeds it in one transaction. Safe to run on every start. */
export async function migrateAndSeed(pool: pg.Pool, log: (message: string) => void): Promise<void> {
  await pool.query(SCHEMA);
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM authors');
  if ((rows[0]?.n ?? 0) > 0) return;
  const started = Date.now();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const [authors, books, reviews, inventory, orders] = SEED_STATEMENTS;
    await client.query(authors, [SEED.authors]);
    await client.query(books, [
      SEED.books,
      SEED.authors,
      SENTENCE,
      SEED.houseAuthors,
      SEED.booksPerHouseAuthor,
    ]);
    await client.query(reviews, [SEED.reviews, SEED.books]);
    await client.query(inventory);
    await client.query(orders, [SEED.orders, SEED.books]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  await pool.query('ANALYZE');
  log(
    `seeded ${SEED.books} books, ${SEED.reviews} reviews, ${SEED.orders} orders in ${Date.now() - started} ms`,
  );
}
