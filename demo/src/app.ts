/**
 * The shop's HTTP API. `createApp(deps)` builds it; only `main.ts` listens. Each scenario changes one code path
 * here, in the way such bugs are written in real services.
 */
import { pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { promisify } from 'node:util';
import { browserCollector, traceparentMeta } from '@hotpath/instrumentation';
import express, { type NextFunction, type Request, type Response } from 'express';
import type pg from 'pg';
import { z } from 'zod';
import { ASSETS, isAssetName, RUM_PATH, renderPage, SLOW_LCP_DELAY_MS } from './page.ts';
import { isScenarioName, SCENARIO_NAMES, type Scenarios } from './scenarios.ts';

const pbkdf2Async = promisify(pbkdf2);

/** Knobs of the scenarios, fixed so each bottleneck costs a known amount. */
export const TUNING = {
  /** `event-loop-block`: PBKDF2-SHA512 iterations run synchronously per checkout (≈ 150 ms here). */
  fraudKeyIterationsBlocking: 500_000,
  /** Healthy checkout: the same derivation, cheaper and on libuv's thread pool. */
  fraudKeyIterations: 10_000,
  /** `error-burst`: this many of every 5 checkouts fail. */
  failingCheckoutsPerFive: 2,
  /** `memory-leak`: bytes retained per product view. */
  leakBytesPerRequest: 256 * 1024,
  /** `memory-leak`: the leak stops growing here so the demo process survives a long run. */
  leakCapBytes: 768 * 1024 * 1024,
  /** `pool-exhaustion`: the warehouse reservation call held inside the transaction. */
  warehouseCallMs: 400,
  /** `slow-endpoint`: scoring work per candidate product (inner iterations; ≈ 300 ms for 2 000 products). */
  scoringIterations: 9_000,
  /** `parallelizable-queries`: the report window. */
  statsWindowDays: 3,
  /**
   * Reports and the category page's sales figures read from a reporting replica across the network: each query
   * waits this long for the round trip (simulated with pg_sleep, which costs no CPU, so five of them overlap on
   * any machine as they would in production). Five in a row cost ~5 × this; together ~1 ×; an N+1 over a
   * category's 40 products ~40 ×, which is what makes an N+1 costly in production: round trips, not rows.
   */
  reportingLatencyMs: 25,
} as const;

export interface AppDeps {
  readonly pool: pg.Pool;
  readonly scenarios: Scenarios;
}

export class HttpError extends Error {
  readonly status: number;
  readonly details: unknown;
  constructor(status: number, message: string, details?: unknown) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.details = details;
  }
}

/** Thrown by the (simulated) payment provider in the `error-burst` scenario. */
export class PaymentProviderError extends Error {
  constructor() {
    super('payment provider unavailable (upstream 502)');
    this.name = 'PaymentProviderError';
  }
}

const positiveInt = z.coerce.number().int().positive().max(2_147_483_647);

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(
      400,
      `invalid ${what}`,
      result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return result.data;
}

/** The store report: five independent queries, each a round trip to the reporting replica plus its aggregate. */
const STATS_QUERIES = [
  `SELECT coalesce(sum(total_cents), 0)::bigint AS revenue_cents FROM orders, replica_round_trip($2)
   WHERE created_at > now() - $1::int * interval '1 day'`,
  `SELECT status, count(*)::int AS orders FROM orders, replica_round_trip($2)
   WHERE created_at > now() - $1::int * interval '1 day' GROUP BY status`,
  `SELECT product_id, sum(quantity)::int AS units FROM orders, replica_round_trip($2)
   WHERE created_at > now() - $1::int * interval '1 day' GROUP BY product_id ORDER BY units DESC LIMIT 5`,
  `SELECT count(DISTINCT customer_id)::int AS customers FROM orders, replica_round_trip($2)
   WHERE created_at > now() - $1::int * interval '1 day'`,
  `SELECT round(avg(total_cents))::int AS basket_cents FROM orders, replica_round_trip($2)
   WHERE created_at > now() - $1::int * interval '1 day'`,
] as const;

export function createApp({ pool, scenarios }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Before the JSON parser: the collector reads (and bounds) the body itself.
  app.post(RUM_PATH, browserCollector({ routes: ['/'] }));
  app.use(express.json({ limit: '16kb' }));

  const on = (name: Parameters<Scenarios['isOn']>[0]) => scenarios.isOn(name);
  const leaked = new Map<string, number[]>();
  let leakedBytes = 0;
  let checkouts = 0;

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // --- scenario switches ---------------------------------------------------------------------------------
  app.get('/admin/scenarios', (_req, res) => {
    res.json({ scenarios: scenarios.list() });
  });
  app.put('/admin/scenarios', async (req, res) => {
    const body = parse(z.object({ on: z.array(z.string()) }).strict(), req.body, 'body');
    const unknown = body.on.filter((n) => !isScenarioName(n));
    if (unknown.length > 0) {
      throw new HttpError(400, `unknown scenarios: ${unknown.join(', ')}`, { valid: SCENARIO_NAMES });
    }
    await scenarios.setExactly(body.on.filter(isScenarioName));
    res.json({ scenarios: scenarios.list() });
  });
  app.post('/admin/scenarios/:name', async (req, res) => {
    const name = req.params.name;
    if (!isScenarioName(name)) {
      throw new HttpError(404, `unknown scenario "${name}"`, { valid: SCENARIO_NAMES });
    }
    const body = parse(
      z.object({ on: z.boolean() }).strict(),
      req.body,
      'body (expected {"on": true|false})',
    );
    await scenarios.set(name, body.on);
    if (name === 'memory-leak' && !body.on) {
      leaked.clear();
      leakedBytes = 0;
    }
    res.json({ name, on: scenarios.isOn(name) });
  });

  // --- page and assets -----------------------------------------------------------------------------------
  app.get('/', (_req, res) => {
    res
      .type('html')
      .set('Cache-Control', 'no-store')
      .send(renderPage({ heavyAsset: on('heavy-asset'), traceparent: traceparentMeta() }));
  });
  app.get('/assets/:name', async (req, res) => {
    const name = req.params.name;
    if (!isAssetName(name)) throw new HttpError(404, `no asset "${name}"`);
    if (name === 'hero.svg' && on('slow-lcp')) await sleep(SLOW_LCP_DELAY_MS);
    const asset = ASSETS[name];
    res
      .set('Content-Type', asset.contentType)
      .set('Cache-Control', 'no-store')
      .set('Vary', 'Accept-Encoding');
    // The heavy vendor bundle is the one asset sent uncompressed: that is half of the scenario's cost.
    if (name !== 'vendor.js' && req.acceptsEncodings('gzip') === 'gzip') {
      res.set('Content-Encoding', 'gzip').send(asset.gzipped);
    } else {
      res.send(asset.body);
    }
  });

  // --- catalogue -----------------------------------------------------------------------------------------
  app.get('/api/products', async (req, res) => {
    const query = parse(
      z.object({ category: z.string().max(64).optional(), limit: positiveInt.max(100).default(20) }),
      req.query,
      'query',
    );
    const { rows } = await pool.query(
      `SELECT id, name, category, price_cents FROM products
       WHERE ($1::text IS NULL OR category = $1) ORDER BY id LIMIT $2`,
      [query.category ?? null, query.limit],
    );
    res.json({ products: rows });
  });

  app.get('/api/products/:id', async (req, res) => {
    const id = parse(positiveInt, req.params.id, 'product id');
    const { rows } = await pool.query(
      'SELECT id, name, category, price_cents, description FROM products WHERE id = $1',
      [id],
    );
    const product = rows[0];
    if (product === undefined) throw new HttpError(404, `no product ${id}`);
    if (on('memory-leak') && leakedBytes < TUNING.leakCapBytes) {
      // A "render cache" keyed by request: every view adds an entry, nothing ever evicts one. (An array of
      // doubles, 8 bytes each on the V8 heap: a padded string would be a rope of shared pieces, not a leak.)
      const rows = Array.from({ length: TUNING.leakBytesPerRequest / 8 }, (_, k) => k + id / 7);
      leaked.set(`${id}:${leaked.size}`, rows);
      leakedBytes += TUNING.leakBytesPerRequest;
    }
    res.json({ product });
  });

  app.get('/api/products/:id/stock', async (req, res) => {
    const id = parse(positiveInt, req.params.id, 'product id');
    if (on('pool-exhaustion')) {
      // The reservation is made inside the transaction, so the pooled connection is held while the
      // warehouse answers: a handful of concurrent requests take every connection of the pool.
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query('SELECT in_stock FROM inventory WHERE product_id = $1', [id]);
        await sleep(TUNING.warehouseCallMs);
        await client.query(
          'UPDATE inventory SET in_stock = greatest(in_stock - 1, 0) WHERE product_id = $1',
          [id],
        );
        await client.query('COMMIT');
        res.json({ productId: id, inStock: rows[0]?.in_stock ?? 0 });
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
      return;
    }
    const { rows } = await pool.query('SELECT in_stock FROM inventory WHERE product_id = $1', [id]);
    res.json({ productId: id, inStock: rows[0]?.in_stock ?? 0 });
  });

  app.get('/api/products/:id/recommendations', async (req, res) => {
    const id = parse(positiveInt, req.params.id, 'product id');
    if (on('slow-endpoint')) {
      // Scores every product in JavaScript. It yields between chunks, so the event loop stays responsive,
      // but the request itself takes hundreds of milliseconds of CPU.
      const { rows } = await pool.query<{ id: number; price_cents: number }>(
        'SELECT id, price_cents FROM products',
      );
      const scored: { id: number; score: number }[] = [];
      for (let start = 0; start < rows.length; start += 100) {
        for (const p of rows.slice(start, start + 100)) {
          let h = p.id ^ id;
          for (let k = 0; k < TUNING.scoringIterations; k++) {
            h = ((h * 31 + Math.imul(p.id, k)) ^ (h >>> 7)) | 0;
            h = (Math.sqrt(Math.abs(h)) * 1e6) | 0;
          }
          scored.push({ id: p.id, score: h % 1000 });
        }
        await yieldToLoop();
      }
      scored.sort((a, b) => b.score - a.score);
      res.json({ productId: id, recommendations: scored.slice(0, 5).map((s) => s.id) });
      return;
    }
    const { rows } = await pool.query(
      `SELECT p.id FROM products p
       WHERE p.category = (SELECT category FROM products WHERE id = $1) AND p.id <> $1
       ORDER BY p.price_cents DESC LIMIT 5`,
      [id],
    );
    res.json({ productId: id, recommendations: rows.map((r) => r.id) });
  });

  app.get('/api/categories/:category/products', async (req, res) => {
    const category = parse(z.string().min(1).max(64), req.params.category, 'category');
    const { rows: products } = await pool.query<{ id: number; name: string; price_cents: number }>(
      'SELECT id, name, price_cents FROM products WHERE category = $1 ORDER BY id',
      [category],
    );
    type Sales = { orders: number; units: number };
    const sales = new Map<number, Sales>();
    // Sales figures come from the reporting replica, as the store report's do: each query is a round trip.
    const replica = TUNING.reportingLatencyMs / 1000;
    if (on('n-plus-one')) {
      for (const p of products) {
        const { rows } = await pool.query<Sales>(
          'SELECT count(*)::int AS orders, coalesce(sum(quantity), 0)::int AS units FROM orders, replica_round_trip($2) WHERE product_id = $1',
          [p.id, replica],
        );
        sales.set(p.id, rows[0] ?? { orders: 0, units: 0 });
      }
    } else if (products.length > 0) {
      const { rows } = await pool.query<Sales & { product_id: number }>(
        `SELECT product_id, count(*)::int AS orders, coalesce(sum(quantity), 0)::int AS units
         FROM orders, replica_round_trip($2) WHERE product_id = ANY($1::int[]) GROUP BY product_id`,
        [products.map((p) => p.id), replica],
      );
      for (const r of rows) sales.set(r.product_id, { orders: r.orders, units: r.units });
    }
    res.json({
      category,
      products: products.map((p) => ({ ...p, ...(sales.get(p.id) ?? { orders: 0, units: 0 }) })),
    });
  });

  // --- customers and orders ------------------------------------------------------------------------------
  app.get('/api/customers/:id/orders', async (req, res) => {
    const id = parse(positiveInt, req.params.id, 'customer id');
    // With `missing-index` on, orders(customer_id) has no index and this becomes a scan of every order.
    const { rows } = await pool.query(
      `SELECT o.id, o.product_id, p.name AS product, o.quantity, o.total_cents, o.status, o.created_at
       FROM orders o JOIN products p ON p.id = o.product_id
       WHERE o.customer_id = $1 ORDER BY o.created_at DESC LIMIT 20`,
      [id],
    );
    res.json({ customerId: id, orders: rows });
  });

  app.get('/api/stats', async (_req, res) => {
    const days = TUNING.statsWindowDays;
    const params = [days, TUNING.reportingLatencyMs / 1000];
    let results: pg.QueryResult[];
    if (on('parallelizable-queries')) {
      results = [];
      for (const sql of STATS_QUERIES) results.push(await pool.query(sql, params));
    } else {
      results = await Promise.all(STATS_QUERIES.map((sql) => pool.query(sql, params)));
    }
    const [revenue, byStatus, top, customers, basket] = results;
    res.json({
      windowDays: days,
      revenueCents: Number(revenue?.rows[0]?.revenue_cents ?? 0),
      ordersByStatus: byStatus?.rows ?? [],
      topProducts: top?.rows ?? [],
      activeCustomers: customers?.rows[0]?.customers ?? 0,
      averageBasketCents: basket?.rows[0]?.basket_cents ?? 0,
    });
  });

  app.post('/api/orders', async (req, res) => {
    const body = parse(
      z.object({
        customerId: positiveInt,
        productId: positiveInt,
        quantity: positiveInt.max(100).default(1),
      }),
      req.body ?? {},
      'order',
    );
    const salt = randomBytes(16);
    const material = `${body.customerId}:${body.productId}:${body.quantity}`;
    const fraudKey = on('event-loop-block')
      ? pbkdf2Sync(material, salt, TUNING.fraudKeyIterationsBlocking, 32, 'sha512')
      : await pbkdf2Async(material, salt, TUNING.fraudKeyIterations, 32, 'sha512');
    checkouts += 1;
    if (on('error-burst') && checkouts % 5 < TUNING.failingCheckoutsPerFive) throw new PaymentProviderError();
    const { rows } = await pool.query(
      `INSERT INTO orders (customer_id, product_id, quantity, total_cents, status, created_at)
       SELECT $1, id, $3, price_cents * $3, 'paid', now() FROM products WHERE id = $2
       RETURNING id, total_cents`,
      [body.customerId, body.productId, body.quantity],
    );
    const order = rows[0];
    if (order === undefined) throw new HttpError(404, `no product ${body.productId}`);
    res
      .status(201)
      .json({ order: { id: Number(order.id), totalCents: order.total_cents }, check: fraudKey.length });
  });

  app.use((_req, _res, next) => next(new HttpError(404, 'not found')));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof HttpError) {
      res.status(error.status).json({ error: error.message, details: error.details });
    } else if (error instanceof PaymentProviderError) {
      res.status(502).json({ error: error.message });
    } else if (error instanceof SyntaxError && 'body' in error) {
      res.status(400).json({ error: 'request body is not valid JSON' });
    } else {
      console.error('demo: unhandled error', error);
      res.status(500).json({ error: 'internal error' });
    }
  });
  return app;
}
