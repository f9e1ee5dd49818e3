import { fingerprint } from 'libpg-query';
import { describe, expect, it } from 'vitest';
import { correlate } from './correlate.ts';
import { detectAll } from './detectors/index.ts';
import { finished, LIMITS, pool, route, runtime, snapshot, statement } from './detectors/testdata.ts';
import type { Draft } from './facts.ts';
import { query, retrace, server, snapshotOf, span, trace } from './traces/testdata.ts';
import type { Snapshot } from './types.ts';

async function withTraces(base: Snapshot, traces: Parameters<typeof snapshotOf>[0]): Promise<Snapshot> {
  const t = await snapshotOf(traces);
  return { ...base, ...(t.traces === undefined ? {} : { traces: t.traces }) };
}

const analyze = (s: Snapshot) => correlate(detectAll(s, LIMITS), s);

describe('correlate', () => {
  it('lets a blocked event loop absorb the latency of every route of its service, not of another service', () => {
    const s = snapshot({
      runtime: [runtime({ eventLoopP99Seconds: 0.16, eventLoopDelaySeconds: 0.16 })],
      routes: [
        route({ route: '/a', p95Seconds: 0.27, baselineP95Seconds: 0.01 }),
        route({ route: '/b', p95Seconds: 0.16, baselineP95Seconds: 0.02 }),
        route({ service: 'other', route: '/c', p95Seconds: 0.16, baselineP95Seconds: 0.02 }),
      ],
    });

    const out = analyze(s);

    expect(out.map((f) => [f.kind, f.service])).toEqual([
      ['latency-regression', 'other'],
      ['event-loop-lag', 'shop'],
    ]);
    const loop = out.find((f) => f.kind === 'event-loop-lag');
    expect(loop?.evidence.symptoms?.map((x) => [x.kind, x.subject])).toEqual([
      ['slow-endpoint', 'GET /a'],
      ['latency-regression', 'GET /b'],
    ]);
    // At least the user time its symptoms cost.
    expect(loop?.impact).toBeGreaterThanOrEqual(
      (loop?.evidence.symptoms ?? []).reduce((sum, x) => sum + x.impact, 0),
    );
  });

  it('lets a loop that is only saturated (callbacks on time) absorb no route it does not name', () => {
    // Utilisation over its objective, delay under it: requests did not wait for the loop, so the slow route is
    // slow on its own and stays a finding, with its own advice.
    const s = snapshot({
      runtime: [
        runtime({ eventLoopP99Seconds: 0.03, eventLoopDelaySeconds: 0.03, eventLoopUtilization: 0.99 }),
      ],
      routes: [route({ route: '/a', p95Seconds: 0.45, baselineP95Seconds: 0.01 })],
    });

    const out = analyze(s);

    expect(out.map((f) => [f.kind, f.subject]).sort()).toEqual([
      ['event-loop-lag', 'shop-1:9464'],
      ['slow-endpoint', 'GET /a'],
    ]);
  });

  it('names the route that holds the loop, not the one that waited for it', async () => {
    // POST /checkout computes 120 ms with no child span; GET /products/:id waits: its query ends late.
    const checkout = (n: number) =>
      retrace(
        trace(
          server({ id: 1, route: '/checkout', method: 'POST', startMs: n * 400, durationMs: 130 }),
          query({
            id: 2,
            parent: 1,
            startMs: n * 400 + 121,
            durationMs: 8,
            sql: 'INSERT INTO orders (id) VALUES ($1)',
          }),
        ),
        100 + n,
      );
    const product = (n: number) =>
      retrace(
        trace(
          // Started just before the checkout took the loop: its query was answered at once, but the callback
          // (and the span's end) waited until the loop was free again.
          server({ id: 1, route: '/products/:id', startMs: n * 400 - 10, durationMs: 165 }),
          query({
            id: 2,
            parent: 1,
            startMs: n * 400 - 9,
            durationMs: 161,
            sql: 'SELECT * FROM products WHERE id = $1',
          }),
        ),
        200 + n,
      );
    const s = await withTraces(
      snapshot({
        runtime: [runtime({ eventLoopP99Seconds: 0.12, eventLoopDelaySeconds: 0.12 })],
        routes: [
          route({ method: 'POST', route: '/checkout', p95Seconds: 0.13, baselineP95Seconds: 0.01 }),
          route({ route: '/products/:id', p95Seconds: 0.13, baselineP95Seconds: 0.01 }),
        ],
      }),
      [0, 1, 2, 3].flatMap((n) => [checkout(n), product(n)]),
    );

    const [loop, ...rest] = analyze(s);

    expect(rest).toEqual([]);
    expect(loop?.kind).toBe('event-loop-lag');
    expect(loop?.kind === 'event-loop-lag' ? loop.facts.blocking?.route : undefined).toBe('POST /checkout');
    expect(loop?.title).toContain('held by POST /checkout');
    // No "81 % of GET /products/:id is one statement": the victim is evidence, not a finding.
    expect(loop?.evidence.symptoms?.map((x) => x.subject).sort()).toEqual([
      'GET /products/:id',
      'POST /checkout',
    ]);
  });

  it('gives each route that holds the loop its own finding, and the victims to the largest', async () => {
    // POST /checkout computes 150 ms with no child span, GET /export 110 ms a little later; GET /products/:id
    // waits for the checkout (its query ends late). Each request of either holds the loop past the 100 ms
    // objective: fixing one leaves the other blocking it.
    const holder = (route: string, method: string, at: number, syncMs: number, n: number) =>
      retrace(
        trace(
          server({ id: 1, route, method, startMs: at, durationMs: syncMs + 10 }),
          query({ id: 2, parent: 1, startMs: at + syncMs + 1, durationMs: 8, sql: `SELECT 1 AS "${route}"` }),
        ),
        (method === 'POST' ? 100 : 300) + n,
      );
    const product = (n: number) =>
      retrace(
        trace(
          server({ id: 1, route: '/products/:id', startMs: n * 400 - 10, durationMs: 165 }),
          query({
            id: 2,
            parent: 1,
            startMs: n * 400 - 9,
            durationMs: 161,
            sql: 'SELECT * FROM products WHERE id = $1',
          }),
        ),
        200 + n,
      );
    const s = await withTraces(
      snapshot({
        runtime: [runtime({ eventLoopP99Seconds: 0.12, eventLoopDelaySeconds: 0.12 })],
        routes: [
          route({ method: 'POST', route: '/checkout', p95Seconds: 0.13, baselineP95Seconds: 0.01 }),
          route({ route: '/export', p95Seconds: 0.12, baselineP95Seconds: 0.01 }),
          route({ route: '/products/:id', p95Seconds: 0.13, baselineP95Seconds: 0.01 }),
        ],
      }),
      [0, 1, 2, 3].flatMap((n) => [
        holder('/checkout', 'POST', n * 400, 150, n),
        holder('/export', 'GET', n * 400 + 200, 110, n),
        product(n),
      ]),
    );

    const out = analyze(s);

    expect(out.map((f) => f.kind)).toEqual(['event-loop-lag', 'event-loop-lag']);
    const [first, second] = out as Draft<'event-loop-lag'>[];
    expect([first?.facts.blocking?.route, second?.facts.blocking?.route]).toEqual([
      'POST /checkout',
      'GET /export',
    ]);
    expect(first?.id).not.toBe(second?.id);
    expect(first?.evidence.symptoms?.map((x) => x.subject).sort()).toEqual([
      'GET /products/:id',
      'POST /checkout',
    ]);
    expect(second?.evidence.symptoms?.map((x) => x.subject)).toEqual(['GET /export']);
    expect(first?.summary).toContain('GET /export');
    // The wait the loop caused, split by each holder's part of the synchronous time (before symptoms raise it).
    expect(first?.facts.blocking?.share).toBeGreaterThan(second?.facts.blocking?.share ?? 1);
  });

  it('names who held a saturated pool and lets it absorb the routes that only waited', async () => {
    const report = (n: number) =>
      retrace(
        trace(
          server({ id: 1, route: '/reports', startMs: n * 1000, durationMs: 640 }),
          query({ id: 2, parent: 1, startMs: n * 1000 + 1, durationMs: 1, sql: 'BEGIN' }),
          query({ id: 3, parent: 1, startMs: n * 1000 + 3, durationMs: 630, sql: 'SELECT pg_sleep(0.6)' }),
          query({ id: 4, parent: 1, startMs: n * 1000 + 635, durationMs: 1, sql: 'COMMIT' }),
        ),
        300 + n,
      );
    const order = (n: number) =>
      retrace(
        trace(
          server({ id: 1, route: '/orders/:id', startMs: n * 1000 + 10, durationMs: 402 }),
          span({
            id: 2,
            parent: 1,
            name: 'db.client.connection.wait',
            startMs: n * 1000 + 11,
            durationMs: 398,
          }),
          query({
            id: 3,
            parent: 1,
            startMs: n * 1000 + 410,
            durationMs: 1.5,
            sql: 'SELECT * FROM orders WHERE id = $1',
          }),
        ),
        400 + n,
      );
    const health = (n: number) =>
      retrace(
        trace(server({ id: 1, route: '/slow-but-no-db', startMs: n * 1000, durationMs: 300 })),
        500 + n,
      );
    const s = await withTraces(
      snapshot({
        pools: [pool({ pendingAvg: 1.4, pendingMax: 6, usedMax: 10 })],
        routes: [
          route({ route: '/reports', requestRate: 2, p95Seconds: 0.65 }),
          route({ route: '/orders/:id', requestRate: 5, p95Seconds: 0.41 }),
          route({ route: '/slow-but-no-db', requestRate: 1, p95Seconds: 0.3 }),
        ],
      }),
      [0, 1, 2].flatMap((n) => [report(n), order(n), health(n)]),
    );

    const out = analyze(s);

    const poolFinding = out.find((f) => f.kind === 'pool-saturation');
    expect(poolFinding?.title).toContain('held by GET /reports');
    expect(
      poolFinding?.kind === 'pool-saturation' ? poolFinding.facts.holders.map((h) => h.route) : [],
    ).toEqual(['GET /reports', 'GET /orders/:id']);
    expect(poolFinding?.evidence.symptoms?.map((x) => x.subject).sort()).toEqual([
      'GET /orders/:id',
      'GET /reports',
    ]);
    // The route that never queries is not blamed for the pool; it stays, and says where its time goes.
    const slow = out.find((f) => f.kind === 'slow-endpoint');
    expect(slow?.subject).toBe('GET /slow-but-no-db');
    expect(slow?.summary).toContain('100 % its own code');
  });

  it('counts as holders of a pool only the routes whose spans ran on it, when the app has two on one database', async () => {
    const PG = { 'db.client.connection.pool.name': 'shop-pg' };
    const KNEX = { 'db.client.connection.pool.name': 'shop-pg (knex)' };
    // The report holds the pg.Pool; the author page holds the knex pool longer and more often.
    const report = (n: number) =>
      retrace(
        trace(
          server({ id: 1, route: '/reports', startMs: n * 1000, durationMs: 400 }),
          query({
            id: 2,
            parent: 1,
            startMs: n * 1000 + 1,
            durationMs: 390,
            sql: 'SELECT 1',
            attributes: PG,
          }),
        ),
        600 + n,
      );
    const author = (n: number) =>
      retrace(
        trace(
          server({ id: 1, route: '/authors/:id', startMs: n * 1000 + 5, durationMs: 700 }),
          query({
            id: 2,
            parent: 1,
            startMs: n * 1000 + 6,
            durationMs: 2,
            sql: 'SELECT 2',
            attributes: KNEX,
          }),
          query({
            id: 3,
            parent: 1,
            startMs: n * 1000 + 690,
            durationMs: 2,
            sql: 'SELECT 3',
            attributes: KNEX,
          }),
        ),
        700 + n,
      );
    const order = (n: number) =>
      retrace(
        trace(
          server({ id: 1, route: '/orders/:id', startMs: n * 1000 + 10, durationMs: 300 }),
          span({
            id: 2,
            parent: 1,
            name: 'db.client.connection.wait',
            startMs: n * 1000 + 11,
            durationMs: 290,
            attributes: PG,
          }),
          query({
            id: 3,
            parent: 1,
            startMs: n * 1000 + 301,
            durationMs: 1,
            sql: 'SELECT 4',
            attributes: PG,
          }),
        ),
        800 + n,
      );
    const s = await withTraces(
      snapshot({
        pools: [pool({ pool: 'shop-pg', pendingAvg: 1.4, pendingMax: 6, usedMax: 10 })],
        routes: [
          route({ route: '/reports', requestRate: 1, p95Seconds: 0.41 }),
          route({ route: '/authors/:id', requestRate: 5, p95Seconds: 0.71 }),
          route({ route: '/orders/:id', requestRate: 5, p95Seconds: 0.31 }),
        ],
      }),
      [0, 1, 2].flatMap((n) => [report(n), author(n), order(n)]),
    );

    const poolFinding = analyze(s).find((f) => f.kind === 'pool-saturation');

    expect(
      poolFinding?.kind === 'pool-saturation' ? poolFinding.facts.holders.map((h) => h.route) : [],
    ).toEqual(['GET /reports', 'GET /orders/:id']);
    expect(poolFinding?.evidence.values.top_holder).toBe('GET /reports');
    expect(
      poolFinding?.kind === 'pool-saturation' ? poolFinding.facts.waiters.map((w) => w.route) : [],
    ).toEqual(['GET /orders/:id']);
  });

  it('names in the evidence the routes a slow statement runs in, found after detection from the traces', async () => {
    const sql = 'SELECT sum(total_cents) FROM orders WHERE created_at > $1';
    const report = (n: number) =>
      retrace(
        trace(
          server({ id: 1, route: '/reports', startMs: n * 1000, durationMs: 420 }),
          query({ id: 2, parent: 1, startMs: n * 1000 + 5, durationMs: 400, sql }),
        ),
        900 + n,
      );
    const s = await withTraces(
      snapshot({
        statements: [
          statement({ fingerprint: await fingerprint(sql), query: sql, meanMs: 400, stddevMs: 20 }),
        ],
        routes: [route({ route: '/reports', requestRate: 1, p95Seconds: 0.43 })],
      }),
      [0, 1, 2].map(report),
    );

    const [slow, ...rest] = finished(analyze(s), s);

    expect(rest).toEqual([]);
    expect(slow?.kind).toBe('slow-statement');
    expect(slow?.evidence.values.routes).toBe('GET /reports');
    expect(slow?.evidence.symptoms?.map((x) => x.subject)).toEqual(['GET /reports']);
  });

  it('keeps a slow route nothing explains, with what its traces show', async () => {
    const s = await withTraces(snapshot({ routes: [route({ route: '/api/orders/:id', p95Seconds: 0.5 })] }), [
      trace(
        server({ id: 1, startMs: 0, durationMs: 500 }),
        query({ id: 2, parent: 1, startMs: 10, durationMs: 400, sql: 'SELECT * FROM orders WHERE id = $1' }),
      ),
    ]);

    const [slow] = analyze(s);

    expect(slow?.kind).toBe('slow-endpoint');
    expect(slow?.evidence.values.db_share).toBe(0.8);
    expect(slow?.summary).toContain('80 % database');
  });
});
