/**
 * Each demo scenario does what it says, measured on the real database and the real process — and healthy mode
 * shows none of it. One demo process serves the whole file; every test switches scenarios explicitly.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TUNING } from '../demo/src/app.ts';
import { PRODUCTS_PER_CATEGORY } from '../demo/src/db.ts';
import { HEAVY_ASSET_BYTES, SLOW_LCP_DELAY_MS } from '../demo/src/page.ts';
import type { DemoProcess } from '../scripts/lib/demo.ts';
import {
  type CapturedSpan,
  drive,
  eventually,
  median,
  promQuery,
  startOtlpCapture,
  startTestDemo,
} from './harness.ts';

const SERVER = 2;

describe('demo scenarios', () => {
  let demo: DemoProcess & { databaseUrl: string };
  let capture: Awaited<ReturnType<typeof startOtlpCapture>>;
  let db: pg.Client;

  beforeAll(async () => {
    capture = await startOtlpCapture();
    demo = await startTestDemo({ otlpEndpoint: capture.url });
    db = new pg.Client({ connectionString: demo.databaseUrl });
    await db.connect();
  });
  afterEach(() => demo.setScenarios([]));
  afterAll(async () => {
    await db?.end();
    await demo?.stop();
    await capture?.close();
  });

  /** Server spans of `route` received so far: the mark before a request, to find that request's span after. */
  const seen = (route: string) =>
    new Set(
      capture
        .spans()
        .filter((s) => s.kind === SERVER && s.attributes['http.route'] === route)
        .map((s) => s.spanId),
    );

  /** The DB spans of the first request to `route` not in `before`, once its trace has arrived. */
  async function dbSpansOfNext(route: string, before: Set<string>): Promise<CapturedSpan[]> {
    return eventually(async () => {
      const spans = capture.spans();
      const server = spans.find(
        (s) => s.kind === SERVER && s.attributes['http.route'] === route && !before.has(s.spanId),
      );
      expect(server, `a new server span for ${route}`).toBeDefined();
      const children = spans.filter(
        (s) => s.parentSpanId === server?.spanId && s.attributes['db.system.name'],
      );
      expect(children.length).toBeGreaterThan(0);
      return children.sort((a, b) => Number(a.startNs - b.startNs));
    });
  }

  async function get(path: string, init?: RequestInit): Promise<Response> {
    const response = await fetch(`${demo.url}${path}`, init);
    return response;
  }

  async function metricsText(): Promise<string> {
    return (await fetch(`http://${demo.metricsAddress}/metrics`)).text();
  }
  function sumOf(text: string, name: string): number {
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.split(' ').at(-1));
    }
    return total;
  }

  it('n-plus-one runs one query per product instead of one batched query', async () => {
    const path = '/api/categories/category-3/products';
    const route = '/api/categories/:category/products';
    let mark = seen(route);
    expect((await get(path)).status).toBe(200);
    const healthy = await dbSpansOfNext(route, mark);
    expect(healthy).toHaveLength(2);

    await demo.setScenario('n-plus-one', true);
    mark = seen(route);
    const body = (await (await get(path)).json()) as { products: unknown[] };
    expect(body.products).toHaveLength(PRODUCTS_PER_CATEGORY);
    const spans = await eventually(async () => {
      const s = await dbSpansOfNext(route, mark);
      expect(s).toHaveLength(1 + PRODUCTS_PER_CATEGORY);
      return s;
    });
    const repeated = spans.filter((s) =>
      String(s.attributes['db.query.text']).includes('WHERE product_id = $1'),
    );
    expect(repeated).toHaveLength(PRODUCTS_PER_CATEGORY);
  });

  it('missing-index turns the customer order lookup into a sequential scan that costs real time', async () => {
    const sql = `EXPLAIN (ANALYZE, FORMAT JSON) SELECT o.id FROM orders o JOIN products p ON p.id = o.product_id
                 WHERE o.customer_id = 42 ORDER BY o.created_at DESC LIMIT 20`;
    const plan = async () => {
      const { rows } = await db.query(sql);
      const [root] = rows[0]['QUERY PLAN'] as [{ Plan: unknown; 'Execution Time': number }];
      return { text: JSON.stringify(root.Plan), ms: root['Execution Time'] };
    };
    const healthy = await plan();
    expect(healthy.text).toContain('orders_customer_id_idx');

    await demo.setScenario('missing-index', true);
    const missing = await plan();
    expect(missing.text).not.toContain('orders_customer_id_idx');
    expect(missing.text).toContain(
      '"Node Type":"Seq Scan","Parent Relationship":"Outer","Parallel Aware":true',
    );
    expect(missing.ms).toBeGreaterThan(healthy.ms * 10);
    expect((await get('/api/customers/42/orders')).status).toBe(200);

    await demo.setScenario('missing-index', false);
    expect((await plan()).text).toContain('orders_customer_id_idx');
  });

  it('slow-endpoint makes recommendations CPU-bound and slow', async () => {
    const timed = async () =>
      (await drive(5, 1, () => get('/api/products/5/recommendations'))).map((r) => r.ms);
    const healthy = median(await timed());
    await demo.setScenario('slow-endpoint', true);
    const slow = median(await timed());
    expect(slow).toBeGreaterThan(100);
    expect(slow).toBeGreaterThan(healthy * 4);
  });

  it('event-loop-block raises the event-loop delay that Prometheus records', async () => {
    const checkout = () =>
      get('/api/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 3, productId: 9, quantity: 1 }),
      });
    const job = demo.service;
    const p99 = async () =>
      (await promQuery(`max_over_time(nodejs_eventloop_delay_p99_seconds{job="${job}"}[4s])`))[0];

    const healthy = await drive(30, 2, checkout);
    expect(healthy.every((r) => r.status === 201)).toBe(true);
    await eventually(async () => {
      const sample = await p99();
      expect(sample, 'an event-loop delay sample').toBeDefined();
      expect(sample?.value).toBeLessThan(0.05);
    }, 10_000);

    await demo.setScenario('event-loop-block', true);
    const blocked = await drive(12, 2, checkout);
    expect(blocked.every((r) => r.status === 201)).toBe(true);
    await eventually(async () => expect((await p99())?.value).toBeGreaterThan(0.1), 10_000);
  });

  it('memory-leak grows the heap with every product view', async () => {
    const views = 300;
    const heap = async () => sumOf(await metricsText(), 'v8js_memory_heap_used');
    const view = (i: number) => get(`/api/products/${1 + (i % 500)}`);

    const before = await heap();
    await drive(views, 4, view);
    const healthyGrowth = (await heap()) - before;

    await demo.setScenario('memory-leak', true);
    const start = await heap();
    await drive(views, 4, view);
    const leakGrowth = (await heap()) - start;
    expect(leakGrowth).toBeGreaterThan(views * TUNING.leakBytesPerRequest * 0.8);
    expect(healthyGrowth).toBeLessThan(leakGrowth / 4);
  });

  it('error-burst fails two of every five checkouts with a 5xx', async () => {
    const checkout = () =>
      get('/api/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 11, productId: 12 }),
      });
    expect((await drive(20, 1, checkout)).filter((r) => r.status !== 201)).toEqual([]);
    await demo.setScenario('error-burst', true);
    const statuses = (await drive(20, 1, checkout)).map((r) => r.status);
    expect(statuses.filter((s) => s === 502)).toHaveLength(8);
    expect(statuses.filter((s) => s === 201)).toHaveLength(12);
  });

  it('pool-exhaustion makes requests queue for a pooled connection', async () => {
    const maxPendingDuringBurst = async () => {
      let max = 0;
      let done = false;
      const burst = drive(30, 30, (i) => get(`/api/products/${100 + i}/stock`)).finally(() => {
        done = true;
      });
      while (!done) {
        max = Math.max(max, sumOf(await metricsText(), 'db_client_connection_pending_requests'));
        await new Promise((r) => setTimeout(r, 50));
      }
      const results = await burst;
      expect(results.every((r) => r.status === 200)).toBe(true);
      return max;
    };
    expect(await maxPendingDuringBurst()).toBe(0);
    await demo.setScenario('pool-exhaustion', true);
    expect(await maxPendingDuringBurst()).toBeGreaterThan(5);
    expect(TUNING.warehouseCallMs).toBeGreaterThan(0);
  });

  it('parallelizable-queries runs the independent report queries one after another', async () => {
    // Span start times have millisecond precision: only an overlap of more than 1 ms counts.
    const overlaps = (spans: CapturedSpan[]) =>
      spans.slice(1).filter((s, i) => (spans[i] as CapturedSpan).endNs - s.startNs > 1_000_000n).length;

    let mark = seen('/api/stats');
    expect((await get('/api/stats')).status).toBe(200);
    const parallel = await eventually(async () => {
      const s = await dbSpansOfNext('/api/stats', mark);
      expect(s).toHaveLength(5);
      return s;
    });
    expect(overlaps(parallel)).toBeGreaterThan(0);

    await demo.setScenario('parallelizable-queries', true);
    mark = seen('/api/stats');
    expect((await get('/api/stats')).status).toBe(200);
    const sequential = await eventually(async () => {
      const s = await dbSpansOfNext('/api/stats', mark);
      expect(s).toHaveLength(5);
      return s;
    });
    expect(overlaps(sequential)).toBe(0);
  });

  it('heavy-asset puts a large uncompressed script in <head>, render-blocking', async () => {
    const page = async () => (await get('/')).text();
    expect(await page()).not.toContain('vendor.js');
    await demo.setScenario('heavy-asset', true);
    const html = await page();
    const head = html.slice(0, html.indexOf('</head>'));
    expect(head).toMatch(/<script src="\/assets\/vendor\.js"><\/script>/);
    const asset = await get('/assets/vendor.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.headers.get('content-encoding')).toBeNull();
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThanOrEqual(HEAVY_ASSET_BYTES);
    // The healthy script is still compressed.
    const app = await fetch(`${demo.url}/assets/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(app.headers.get('content-encoding')).toBe('gzip');
  });

  it('slow-lcp holds back the hero image, the largest element of the page', async () => {
    const heroMs = async () => (await drive(1, 1, () => get('/assets/hero.svg')))[0]?.ms ?? 0;
    expect(await heroMs()).toBeLessThan(SLOW_LCP_DELAY_MS / 2);
    await demo.setScenario('slow-lcp', true);
    expect(await heroMs()).toBeGreaterThanOrEqual(SLOW_LCP_DELAY_MS - 50);
    expect(await (await get('/')).text()).toContain('<img id="hero" src="/assets/hero.svg"');
  });
});
