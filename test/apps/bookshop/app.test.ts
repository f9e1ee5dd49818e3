/**
 * The bookshop under the real instrumentation, with real spans: healthy it answers every route with 2xx and its
 * book page fans out concurrently; each fault shows in its telemetry the way the product bug would — repeated
 * statements under one parent, a pg.Pool with requests waiting, synchronous time on the request path.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { brotliDecompressSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type CapturedSpan,
  emptyDatabase,
  eventually,
  median,
  promQuery,
  scraped,
  startOtlpCapture,
  uniqueService,
} from '../../harness.ts';
import { CARRIER_LATENCY_MS } from './carrier.ts';
import type { Fault } from './config.ts';
import { SEED } from './db.ts';
import { DELIVERY_COUNTRIES } from './shipping.ts';
import { type BookshopProcess, startBookshop } from './start.ts';
import { BOOKSHOP_ROUTES, driveBookshop } from './traffic.ts';

const SERVER = 2;
const CLIENT = 3;
/** Outbound HTTP calls (client spans that are not statements). */
const httpCalls = (spans: readonly CapturedSpan[]) =>
  spans.filter((s) => s.kind === CLIENT && s.attributes['http.request.method'] !== undefined);
/** The eager loader's per-book statement, as knex hands it to pg (and instrumentation-pg records it). */
const REVIEWS_PER_BOOK = 'select "reviews".* from "reviews" where "reviews"."book_id" in ($1)';
const REVIEWS_OF_BOOKS = 'select "reviews".* from "reviews" where "reviews"."book_id" in (';
/** The scope of a pg.Pool's metrics: Hotpath's, read from each pool (instrumentation-pg's own counters mix pools). */
const PG_POOL_SCOPE = '@hotpath/instrumentation/pg-pool';

let capture: Awaited<ReturnType<typeof startOtlpCapture>>;
let databaseUrl: string;
beforeAll(async () => {
  capture = await startOtlpCapture();
  databaseUrl = await emptyDatabase('bookshop');
});
afterAll(() => capture?.close());

const running: BookshopProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((shop) => shop.stop()));
});

async function start(faults: readonly Fault[], scrape = false): Promise<BookshopProcess> {
  const shop = await startBookshop({
    databaseUrl,
    service: uniqueService(`bookshop-${faults.join('-') || 'healthy'}`),
    faults,
    otlpEndpoint: capture.url,
    ...(scrape ? { scrapeTargetsDir: inject('prometheusTargetsDir') } : {}),
  });
  running.push(shop);
  return shop;
}

const queryText = (span: CapturedSpan) => span.attributes['db.query.text'] as string | undefined;
const ms = (ns: bigint) => Number(ns) / 1e6;
const durationMs = (span: CapturedSpan) => ms(span.endNs - span.startNs);
const overlapMs = (a: CapturedSpan, b: CapturedSpan) =>
  ms((a.endNs < b.endNs ? a.endNs : b.endNs) - (a.startNs > b.startNs ? a.startNs : b.startNs));

/** One request in a trace of our own (W3C `traceparent`), and the spans the shop recorded for it. */
async function traced(shop: BookshopProcess, path: string, init: RequestInit = {}) {
  const traceId = randomBytes(16).toString('hex');
  const response = await fetch(`${shop.url}${path}`, {
    ...init,
    headers: { ...init.headers, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
  });
  await response.arrayBuffer();
  const server = await eventually(
    async () => {
      const span = capture.spans().find((s) => s.traceId === traceId && s.kind === SERVER);
      if (span === undefined) throw new Error(`no server span for ${path} yet`);
      return span;
    },
    10_000,
    100,
  );
  const spans = capture.spans().filter((s) => s.traceId === traceId && s !== server);
  return {
    status: response.status,
    server,
    children: spans.filter((s) => s.parentSpanId === server.spanId),
    statements: spans.filter((s) => queryText(s) !== undefined),
  };
}

/** Time of `parent` not covered by any child: what ran on the event loop rather than waiting on I/O. */
function selfTimeMs(parent: CapturedSpan, children: readonly CapturedSpan[]): number {
  const sorted = [...children].sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  let covered = 0n;
  let end = parent.startNs;
  for (const c of sorted) {
    const from = c.startNs > end ? c.startNs : end;
    if (c.endNs > from) {
      covered += c.endNs - from;
      end = c.endNs;
    }
  }
  return ms(parent.endNs - parent.startNs - covered);
}

/**
 * The least time outside I/O of `n` requests: a fault that blocks the loop costs it on every request, while a
 * machine busy with other tests (or a cold first request) slows only some of them.
 */
async function leastSelfTimeMs(shop: BookshopProcess, path: string, init: () => RequestInit, n = 3) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const { status, server, children } = await traced(shop, path, init());
    expect(status).toBeLessThan(300);
    times.push(selfTimeMs(server, children));
  }
  return Math.min(...times);
}

/** Median server-span duration per route of `service`, for the log. */
function routeMedians(service: string): Record<string, string> {
  const byRoute = new Map<string, number[]>();
  for (const s of capture.spans()) {
    if (s.kind !== SERVER || s.resource['service.name'] !== service) continue;
    const route = `${s.attributes['http.request.method']} ${s.attributes['http.route']}`;
    byRoute.set(route, [...(byRoute.get(route) ?? []), durationMs(s)]);
  }
  return Object.fromEntries([...byRoute].map(([r, d]) => [r, `${median(d).toFixed(1)} ms (${d.length})`]));
}

const checkout = (bookId: number): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ bookId, quantity: 1, email: 'reader7@example.com' }),
});

describe('the bookshop, healthy', () => {
  it('answers every route with 2xx under mixed traffic, and its page cache fills', async () => {
    const shop = await start([]);
    const result = await driveBookshop(shop.url, { durationMs: 8_000, connections: 6 });
    console.log('[bookshop] healthy traffic', JSON.stringify(result));
    expect(result.errors).toBe(0);
    for (const { route } of BOOKSHOP_ROUTES) {
      expect(result.byRoute[route].requests, route).toBeGreaterThan(0);
      expect(result.byRoute[route], route).toMatchObject({ non2xx: 0 });
    }
    const health = (await (await fetch(`${shop.url}/healthz`)).json()) as { pageCache: { entries: number } };
    expect(health.pageCache.entries).toBeGreaterThan(0);
    await sleep(1_000);
    console.log('[bookshop] healthy medians', JSON.stringify(routeMedians(shop.service)), health.pageCache);
  });

  it('loads an author page with one reviews query for all their books', async () => {
    const shop = await start([]);
    const { status, server, statements } = await traced(shop, '/authors/1/books');
    expect(status).toBe(200);
    const reviews = statements.filter((s) => queryText(s)?.startsWith(REVIEWS_OF_BOOKS));
    expect(reviews).toHaveLength(1);
    expect(reviews[0]?.parentSpanId).toBe(server.spanId);
  });

  it('renders the author page and the sales report as HTML carrying the browser entry and the traceparent of their server span', async () => {
    const shop = await start([]);
    const traceId = randomBytes(16).toString('hex');
    const page = await fetch(`${shop.url}/authors/1`, {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    });
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain(`<li><a href="/books/`);
    const server = await eventually(async () => {
      const span = capture.spans().find((s) => s.traceId === traceId && s.kind === SERVER);
      if (span === undefined) throw new Error('no server span for the author page yet');
      return span;
    });
    expect(server.attributes['http.route']).toBe('/authors/:id');
    expect(html).toContain(`<meta name="traceparent" content="00-${traceId}-${server.spanId}-01">`);
    const script = /<script src="([^"]+)" data-endpoint="([^"]+)"/.exec(html);
    expect(script?.slice(1)).toEqual(['/assets/hotpath.js', '/rum']);
    const entry = await fetch(`${shop.url}${script?.[1]}`);
    expect(entry.headers.get('content-type')).toContain('javascript');
    expect((await entry.text()).length).toBeGreaterThan(1000);
    // The sales report: JSON by default, the page to a browser.
    const report = await fetch(`${shop.url}/reports/sales`);
    expect(report.headers.get('content-type')).toContain('application/json');
    await report.arrayBuffer();
    const reportPage = await fetch(`${shop.url}/reports/sales`, {
      headers: { accept: 'text/html,*/*;q=0.8' },
    });
    expect(reportPage.headers.get('content-type')).toContain('text/html');
    expect(await reportPage.text()).toMatch(/<meta name="traceparent"[\s\S]*<th>revenue cents<\/th>/);
    // The collector is mounted: a payload that is not Faro's is refused, not a 404.
    const refused = await fetch(`${shop.url}/rum`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"measurements": 3}',
    });
    expect(refused.status).toBe(400);
  });

  it('asks the carrier for every country of the delivery page at once', async () => {
    const shop = await start([]);
    const { status, children } = await traced(shop, '/books/7/delivery');
    expect(status).toBe(200);
    const calls = httpCalls(children);
    expect(calls).toHaveLength(DELIVERY_COUNTRIES.length);
    const [first, ...rest] = calls;
    for (const call of rest) expect(overlapMs(first!, call)).toBeGreaterThan(0);
  });

  it('fetches the parts of a book page concurrently', async () => {
    const shop = await start([]);
    // Lock the tables of the page's live part, so its queries wait long enough to tell "together" from "one
    // after another" at any clock resolution (span start times are whole milliseconds).
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('LOCK TABLE reviews, inventory IN ACCESS EXCLUSIVE MODE');
      const page = traced(shop, `/books/${SEED.books}`);
      await sleep(300);
      await client.query('COMMIT');
      const { status, statements } = await page;
      expect(status).toBe(200);
      const live = statements.filter((s) => /from "(reviews|inventory)"/.test(queryText(s) ?? ''));
      expect(live).toHaveLength(2);
      const [a, b] = live as [CapturedSpan, CapturedSpan];
      console.log(
        `[bookshop] book page: ${durationMs(a).toFixed(1)} and ${durationMs(b).toFixed(1)} ms, overlapping ${overlapMs(a, b).toFixed(1)} ms`,
      );
      expect(overlapMs(a, b)).toBeGreaterThan(200);
      // The static part (book, then author and more by the author) loads meanwhile.
      expect(statements.filter((s) => /from "(books|authors)"/.test(queryText(s) ?? ''))).toHaveLength(3);
    } finally {
      await client.end();
    }
  });

  it('serves the partner feed Brotli-compressed, compressed off the event loop', async () => {
    const shop = await start([]);
    const crawler = { headers: { 'accept-encoding': 'br' } };
    const least = await leastSelfTimeMs(shop, '/feeds/catalog?page=2', () => crawler);
    console.log(`[bookshop] feed page: ${least.toFixed(1)} ms synchronous at least, of 3`);
    expect(least).toBeLessThan(40);
    // undici's fetch decodes br itself: read the raw body over node:http instead.
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`${shop.url}/feeds/catalog?page=2`, crawler, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }),
          );
        }).on('error', reject),
      );
    });
    expect(raw.encoding).toBe('br');
    const feed = JSON.parse(brotliDecompressSync(raw.body).toString()) as {
      page: number;
      books: { id: number }[];
    };
    expect(feed.page).toBe(2);
    expect(feed.books).toHaveLength(500);
    expect(feed.books[0]?.id).toBe(501);
  });

  it('checks out without blocking the event loop', async () => {
    const shop = await start([]);
    let bookId = 11;
    const least = await leastSelfTimeMs(shop, '/checkout', () => checkout(bookId++));
    console.log(`[bookshop] checkout: ${least.toFixed(1)} ms synchronous at least, of 3`);
    expect(least).toBeLessThan(40);
  });
});

describe('fault eager-n-plus-one', () => {
  it('loads the reviews of an author page with one query per book, one after another, under one parent', async () => {
    const shop = await start(['eager-n-plus-one']);
    const { status, server, statements } = await traced(shop, '/authors/1/books');
    expect(status).toBe(200);
    const perBook = statements.filter((s) => queryText(s) === REVIEWS_PER_BOOK);
    console.log(
      `[bookshop] eager-n-plus-one: ${perBook.length} reviews statements, ` +
        `${perBook.reduce((t, s) => t + durationMs(s), 0).toFixed(1)} ms together, request ${durationMs(server).toFixed(1)} ms`,
    );
    expect(perBook.length).toBe(SEED.booksPerHouseAuthor);
    expect(new Set(perBook.map((s) => s.parentSpanId))).toEqual(new Set([server.spanId]));
    // Start times are whole milliseconds, end times finer: a statement may seem to start up to 1 ms early.
    const sorted = [...perBook].sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i]!.startNs + 1_000_000n).toBeGreaterThanOrEqual(sorted[i - 1]!.endNs);
    }
  });
});

describe('fault sequential-carrier-calls', () => {
  it('asks the carrier for one country of the delivery page after another', async () => {
    const shop = await start(['sequential-carrier-calls']);
    const { status, server, children } = await traced(shop, '/books/7/delivery');
    expect(status).toBe(200);
    const calls = httpCalls(children).sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
    expect(calls).toHaveLength(DELIVERY_COUNTRIES.length);
    for (let i = 1; i < calls.length; i++) expect(overlapMs(calls[i - 1]!, calls[i]!)).toBeLessThanOrEqual(0);
    expect(durationMs(server)).toBeGreaterThan(DELIVERY_COUNTRIES.length * CARRIER_LATENCY_MS);
  });
});

describe('fault slow-report', () => {
  it('has requests waiting for the orders pool while reports hold its connections', async () => {
    const shop = await start(['slow-report'], true);
    await scraped(shop.service);
    const result = await driveBookshop(shop.url, { durationMs: 10_000, connections: 10 });
    console.log('[bookshop] slow-report traffic', JSON.stringify(result));
    expect(result.byRoute['/reports/sales'].requests).toBeGreaterThan(5);
    expect(result.non2xx).toBe(0);
    const url = new URL(databaseUrl);
    const pool = `${url.hostname}:${url.port}${url.pathname}`;
    const series = `db_client_connection_pending_requests{job="${shop.service}",otel_scope_name="${PG_POOL_SCOPE}"}`;
    const [peak] = await eventually(async () => {
      const samples = await promQuery(`max_over_time(${series}[1m])`);
      if (!((samples[0]?.value ?? 0) > 0)) throw new Error(`no requests waiting in ${pool} yet`);
      return samples;
    }, 15_000);
    const [average] = await promQuery(`avg_over_time(${series}[15s])`);
    await sleep(1_000);
    console.log(
      `[bookshop] slow-report: up to ${peak?.value} waiting (${average?.value?.toFixed(2)} on average) ` +
        `in pool ${peak?.metric.db_client_connection_pool_name}`,
      JSON.stringify(routeMedians(shop.service)),
    );
    expect(peak?.metric.db_client_connection_pool_name).toBe(pool);
    expect(peak?.value).toBeGreaterThanOrEqual(3);
  });
});

describe('fault sync-feed-compression', () => {
  it('spends at least 100 ms of every feed page on the event loop, in Brotli at its default quality', async () => {
    const shop = await start(['sync-feed-compression']);
    for (const page of [1, 2, 3]) {
      const { status, server, children } = await traced(shop, `/feeds/catalog?page=${page}`, {
        headers: { 'accept-encoding': 'br' },
      });
      expect(status).toBe(200);
      const self = selfTimeMs(server, children);
      console.log(
        `[bookshop] sync-feed-compression: page ${durationMs(server).toFixed(1)} ms, ${self.toFixed(1)} ms synchronous`,
      );
      expect(self).toBeGreaterThanOrEqual(100);
    }
  });
});

describe('fault sync-pricing', () => {
  it('spends at least 80 ms of every checkout on the event loop, outside any I/O', async () => {
    const shop = await start(['sync-pricing']);
    for (const bookId of [12, 13, 14]) {
      const { status, server, children } = await traced(shop, '/checkout', checkout(bookId));
      expect(status).toBe(201);
      const self = selfTimeMs(server, children);
      console.log(
        `[bookshop] sync-pricing: checkout ${durationMs(server).toFixed(1)} ms, ${self.toFixed(1)} ms synchronous`,
      );
      expect(self).toBeGreaterThanOrEqual(80);
    }
  });
});
