// The routes of the pool test apps, given the app's own `pg` and `knex` (imported as ESM or required as CJS, so
// both loaders' patching is exercised). Every statement carries `/* req=<i> step=<n> */` so a test can tell
// which request issued it; both pools are deliberately small (max 2) so 20 concurrent requests queue.
const { createServer } = require('node:http');

module.exports = function start({ pg, PgPool, knex, kind }) {
  const url = new URL(process.env.DATABASE_URL);
  // Fields, not a connection string: instrumentation-pg names a pg.Pool from them (a string is parsed for it).
  const options = {
    host: url.hostname,
    port: Number(url.port),
    database: url.pathname.slice(1),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    max: 2,
  };
  const pool = new pg.Pool(options);
  // pg-pool as the app loaded it (the class pg.Pool extends): in the ESM app, patched through import-in-the-middle.
  const direct = new PgPool({ ...options, Client: pg.Client });
  // A connection string: the knex instrumentation parses it for the pool name.
  const db = knex({ client: 'pg', connection: process.env.DATABASE_URL, pool: { max: 2 } });

  // One connection and a 50 ms acquire timeout: a second concurrent caller fails to get a connection. On a
  // database of their own, so these pools' metrics never mix with the ones above (pools that share a name add up).
  const tight = new pg.Pool({ connectionString: process.env.TIGHT_DATABASE_URL, max: 1, connectionTimeoutMillis: 50 });
  const tightKnex = knex({
    client: 'pg',
    connection: process.env.TIGHT_DATABASE_URL,
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 50,
  });

  const tag = (i, step) => `/* req=${i} step=${step} */`;

  /** Two statements at once on a one-connection pool; the second times out waiting. Says what the app saw. */
  async function timeout(run, i) {
    const [held, starved] = await Promise.allSettled([
      run(`select pg_sleep(0.3) ${tag(i, 1)}`),
      new Promise((resolve) => setTimeout(resolve, 20)).then(() => run(`select 1 ${tag(i, 2)}`)),
    ]);
    return { held: held.status, starved: starved.status, error: starved.reason?.message };
  }

  /** Promise-style pool.query, callback-style pool.connect and client.query, callback-style pool.query. */
  async function pgWork(pool, i) {
    await pool.query(`select pg_sleep(0.002) ${tag(i, 1)}`);
    await new Promise((resolve, reject) => {
      pool.connect((error, client, release) => {
        if (error) return reject(error);
        client.query(`select 1 ${tag(i, 2)}`, (queryError) => {
          if (queryError) {
            release(queryError);
            return reject(queryError);
          }
          client.query(`select 2 ${tag(i, 3)}`).then(
            () => {
              release();
              resolve();
            },
            (e) => {
              release(e);
              reject(e);
            },
          );
        });
      });
    });
    await Promise.all([pool.query(`select pg_sleep(0.001) ${tag(i, 4)}`), pool.query(`select 3 ${tag(i, 5)}`)]);
    await new Promise((resolve, reject) =>
      pool.query(`select 4 ${tag(i, 6)}`, (error) => (error ? reject(error) : resolve())),
    );
    const client = await pool.connect();
    try {
      await client.query(`select 5 ${tag(i, 7)}`);
    } finally {
      client.release();
    }
  }

  async function knexWork(i) {
    await db.raw(`select pg_sleep(0.002) ${tag(i, 1)}`);
    await db.transaction(async (trx) => {
      await trx.raw(`select 1 ${tag(i, 2)}`);
      await trx.raw(`select 2 ${tag(i, 3)}`);
    });
    await Promise.all([db.raw(`select pg_sleep(0.001) ${tag(i, 4)}`), db.raw(`select 3 ${tag(i, 5)}`)]);
  }

  /** One statement that holds a connection for `seconds`; the response says how long the caller waited in all. */
  async function sleep(run, i, seconds) {
    const started = performance.now();
    await run(`select pg_sleep(${seconds}) ${tag(i, 1)}`);
    return { elapsedMs: performance.now() - started };
  }

  const routes = {
    pg: (i) => pgWork(pool, i).then(() => ({ ok: true })),
    'pg-pool': (i) => pgWork(direct, i).then(() => ({ ok: true })),
    knex: (i) => knexWork(i).then(() => ({ ok: true })),
    'pg-sleep': (i, s) => sleep((sql) => pool.query(sql), i, s),
    'knex-sleep': (i, s) => sleep((sql) => db.raw(sql), i, s),
    'pg-timeout': (i) => timeout((sql) => tight.query(sql), i),
    'knex-timeout': (i) => timeout((sql) => tightKnex.raw(sql), i),
  };

  const server = createServer((req, res) => {
    const { pathname, searchParams } = new URL(req.url, 'http://localhost');
    const [, route, id] = pathname.split('/');
    const handler = routes[route];
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    handler(Number(id), Number(searchParams.get('s') ?? '0.05')).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind, ...body })),
      (error) => res.writeHead(500).end(String(error?.stack ?? error)),
    );
  });
  server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
  process.on('SIGTERM', () => {
    server.close();
    void pool.end();
    void direct.end();
    void tight.end();
    void db.destroy();
    void tightKnex.destroy();
  });
};
