import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.ts';
import {
  EMBEDDED_TRACE_DEFAULTS,
  EmbeddedTraceSource,
  type EmbeddedTraceStats,
  MAX_ATTRIBUTES,
  MAX_STRING_LENGTH,
} from './embedded.ts';
import type { Span } from './model.ts';
import { ORIGIN_NS, query, SERVICE, server, span, TRACE_ID } from './testdata.ts';

/** A clock at `ORIGIN_NS` (the testdata spans' time origin) plus `offsetMs`, moved by the test. */
function clock(offsetMs = 1000) {
  const state = { ms: Number(ORIGIN_NS / 1_000_000n) + offsetMs };
  return { now: () => state.ms, advance: (ms: number) => (state.ms += ms) };
}

function traceIdOf(n: number): string {
  return n.toString(16).padStart(32, '0');
}

/** One request of `GET /api/orders/:id` in trace `n`: a server span and `children` queries. */
function request(n: number, options: { durationMs?: number; children?: number; startMs?: number } = {}) {
  const { durationMs = 100, children = 2, startMs = 0 } = options;
  const traceId = traceIdOf(n);
  return [
    server({ id: 1, startMs, durationMs, traceId }),
    ...Array.from({ length: children }, (_, i) =>
      query({ id: i + 2, parent: 1, startMs: startMs + 1 + i, durationMs: 1, sql: 'SELECT 1', traceId }),
    ),
  ];
}

function withinBounds(stats: EmbeddedTraceStats, maxTraces: number, maxSpans: number): void {
  expect(stats.traces).toBeLessThanOrEqual(maxTraces);
  expect(stats.spans).toBeLessThanOrEqual(maxSpans);
}

describe('EmbeddedTraceSource: one trace from several batches', () => {
  it('merges the spans of a trace that arrive in separate batches and keeps a repeated span once', async () => {
    const source = new EmbeddedTraceSource({ now: clock().now });
    const [root, first, second] = request(1);
    source.ingest([second as Span]);
    source.ingest([root as Span, first as Span]);
    const retried = source.ingest([first as Span, second as Span]);

    const trace = await source.traceById(traceIdOf(1));

    expect(retried).toEqual({ accepted: 2, rejected: 0 });
    expect(trace?.spans.map((s) => s.spanId)).toEqual([root?.spanId, first?.spanId, second?.spanId]);
    expect(source.stats()).toMatchObject({ traces: 1, spans: 3, droppedTraces: 0, droppedSpans: 0 });
  });

  it('finds a trace by an upper-case id or one without its leading zeros, and says null for an unknown one', async () => {
    const source = new EmbeddedTraceSource({ now: clock().now });
    source.ingest(request(0xabc));

    expect((await source.traceById('ABC'))?.traceId).toBe(traceIdOf(0xabc));
    expect((await source.traceById(traceIdOf(0xabc).toUpperCase()))?.spans).toHaveLength(3);
    expect(await source.traceById(traceIdOf(0xabd))).toBeNull();
    await expect(source.traceById('not-hex')).rejects.toThrow(UsageError);
  });

  it('stores ids lower-cased and refuses spans without a valid id', async () => {
    const source = new EmbeddedTraceSource({ now: clock().now });
    const good = span({ id: 1, startMs: 0, durationMs: 1, traceId: TRACE_ID.toUpperCase() });
    const bad = span({ id: 2, startMs: 0, durationMs: 1, traceId: 'zz' });

    const result = source.ingest([good, bad]);

    expect(result).toMatchObject({ accepted: 1, rejected: 1 });
    expect(result.reason).toContain('without a valid trace or span id');
    expect((await source.traceById(TRACE_ID))?.spans[0]?.traceId).toBe(TRACE_ID);
  });

  it('hands out a trace that later spans do not change', async () => {
    const source = new EmbeddedTraceSource({ now: clock().now });
    const [root, child] = request(1, { children: 1 });
    source.ingest([root as Span]);
    const before = await source.traceById(traceIdOf(1));

    source.ingest([child as Span]);

    expect(before?.spans).toHaveLength(1);
    expect((await source.traceById(traceIdOf(1)))?.spans).toHaveLength(2);
  });
});

describe('EmbeddedTraceSource: bounds', () => {
  it('caps each span: long strings cut to 4 KiB, at most 128 attributes', async () => {
    const source = new EmbeddedTraceSource();
    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`a${i}`, i]));
    const bulk = `INSERT INTO t VALUES ${'(1),'.repeat(10_000)}(1)`;
    source.ingest([
      span({ id: 1, startMs: 0, durationMs: 5, attributes: { ...many, 'db.query.text': bulk } }),
    ]);
    const stored = (await source.traceById(TRACE_ID))?.spans[0];
    expect(Object.keys(stored?.attributes ?? {})).toHaveLength(MAX_ATTRIBUTES);
    const kept = Object.values(stored?.attributes ?? {}).filter((v) => typeof v === 'string') as string[];
    for (const v of kept) expect(v.length).toBeLessThanOrEqual(MAX_STRING_LENGTH);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new EmbeddedTraceSource({ maxTraces: 0 })).toThrow(/maxTraces must be a positive integer/);
    expect(() => new EmbeddedTraceSource({ maxSpans: 1.5 })).toThrow(/maxSpans/);
  });

  it('drops the oldest traces when more traces arrive than it keeps, and counts them', async () => {
    const source = new EmbeddedTraceSource({ maxTraces: 3, now: clock().now });
    for (let n = 1; n <= 5; n++) source.ingest(request(n));
    // A late span of a kept trace does not make it young again: first seen is what counts.
    source.ingest([span({ id: 9, parent: 1, startMs: 5, durationMs: 1, traceId: traceIdOf(3) })]);
    source.ingest(request(6));

    expect(source.stats()).toMatchObject({ traces: 3, spans: 9, droppedTraces: 3, droppedSpans: 10 });
    expect(await source.traceById(traceIdOf(3))).toBeNull();
    expect(await source.traceById(traceIdOf(4))).not.toBeNull();
  });

  it('drops whole old traces to stay under the span limit', async () => {
    const source = new EmbeddedTraceSource({ maxSpans: 10, now: clock().now });
    source.ingest(request(1, { children: 3 }));
    source.ingest(request(2, { children: 3 }));
    source.ingest(request(3, { children: 3 }));

    expect(source.stats()).toMatchObject({ traces: 2, spans: 8, droppedTraces: 1, droppedSpans: 4 });
    expect(await source.traceById(traceIdOf(1))).toBeNull();
  });

  it('refuses the spans of a trace that alone is larger than the span limit', () => {
    const source = new EmbeddedTraceSource({ maxSpans: 4, now: clock().now });
    source.ingest(request(1));

    const result = source.ingest(request(2, { children: 5 }));

    expect(result).toMatchObject({ accepted: 4, rejected: 2 });
    expect(result.reason).toContain('alone fills the embedded window of 4 spans');
    expect(source.stats()).toMatchObject({ traces: 1, spans: 4, droppedTraces: 1, droppedSpans: 5 });
  });

  it('forgets traces older than the maximum age, as retention rather than loss', async () => {
    const time = clock();
    const source = new EmbeddedTraceSource({ maxAgeMs: 60_000, now: time.now });
    source.ingest(request(1));
    time.advance(30_000);
    source.ingest(request(2));
    time.advance(30_000);

    expect(await source.traceById(traceIdOf(1))).toBeNull();
    expect(await source.traceById(traceIdOf(2))).not.toBeNull();
    expect(source.stats()).toMatchObject({ traces: 1, spans: 3, expiredTraces: 1, droppedTraces: 0 });
  });

  it('stays within its default limits under a flood and counts every trace and span it let go', () => {
    const { maxTraces, maxSpans } = EMBEDDED_TRACE_DEFAULTS;
    const source = new EmbeddedTraceSource({ now: clock().now });
    const tracesSent = 12_000;
    const spansPerTrace = 50;
    // Shared attribute objects keep the test's own memory small: the window holds span objects, not copies.
    const attributes = { 'db.query.text': 'SELECT 1' };
    const resource = { 'service.name': SERVICE };
    let batch: Span[] = [];
    for (let n = 1; n <= tracesSent; n++) {
      const traceId = traceIdOf(n);
      for (let i = 1; i <= spansPerTrace; i++) {
        batch.push({
          traceId,
          spanId: i.toString(16).padStart(16, '0'),
          ...(i === 1 ? {} : { parentSpanId: '0000000000000001' }),
          name: i === 1 ? 'GET /' : 'SELECT',
          kind: i === 1 ? 'server' : 'client',
          service: SERVICE,
          startNs: ORIGIN_NS,
          endNs: ORIGIN_NS + 1_000_000n,
          durationMs: 1,
          status: 'unset',
          attributes,
          resource,
        });
      }
      if (batch.length >= 1000) {
        source.ingest(batch);
        batch = [];
        withinBounds(source.stats(), maxTraces, maxSpans);
      }
    }
    source.ingest(batch);

    const stats = source.stats();
    withinBounds(stats, maxTraces, maxSpans);
    expect(stats.traces + stats.droppedTraces).toBe(tracesSent);
    expect(stats.spans + stats.droppedSpans).toBe(tracesSent * spansPerTrace);
    expect(stats.droppedTraces).toBeGreaterThanOrEqual(tracesSent - maxTraces);
  });

  it('keeps its heap flat when twenty times its span limit flows through it', () => {
    let gc: (() => void) | undefined;
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = undefined;
    }
    const source = new EmbeddedTraceSource({ maxTraces: 1000, maxSpans: 20_000, now: clock().now });
    const fill = (from: number, traces: number) => {
      for (let n = from; n < from + traces; n++) {
        source.ingest(request(n, { children: 19, durationMs: 5 }));
      }
    };
    fill(1, 1000);
    gc?.();
    const before = process.memoryUsage().heapUsed;

    fill(1001, 20_000);
    gc?.();
    const after = process.memoryUsage().heapUsed;

    const stats = source.stats();
    expect(stats).toMatchObject({
      traces: 1000,
      spans: 20_000,
      droppedTraces: 20_000,
      droppedSpans: 400_000,
    });
    // Without a GC to settle the heap the numbers mean little; the counts above still hold.
    if (gc !== undefined) expect(after - before).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('EmbeddedTraceSource: search', () => {
  const time = clock(60_000);
  const source = new EmbeddedTraceSource({ now: time.now });
  const traceId = (n: number) => traceIdOf(0x100 + n);
  source.ingest([
    // A slow GET, a fast GET, a POST, another route, and one in another namespace.
    server({ id: 1, startMs: 0, durationMs: 300, traceId: traceId(1) }),
    query({ id: 2, parent: 1, startMs: 1, durationMs: 250, sql: 'SELECT 1', traceId: traceId(1) }),
    server({ id: 1, startMs: 1000, durationMs: 20, traceId: traceId(2) }),
    server({ id: 1, startMs: 2000, durationMs: 500, method: 'POST', traceId: traceId(3) }),
    server({ id: 1, startMs: 3000, durationMs: 900, route: '/api/users', traceId: traceId(4) }),
    {
      ...server({ id: 1, startMs: 4000, durationMs: 700, traceId: traceId(5) }),
      resource: { 'service.name': SERVICE, 'service.namespace': 'demo' },
    },
    // Legacy semconv (`http.method`) and a trace whose root has not arrived: a server span under a parent.
    span({
      id: 7,
      parent: 6,
      kind: 'server',
      startMs: 5000,
      durationMs: 150,
      traceId: traceId(6),
      attributes: { 'http.route': '/api/orders/:id', 'http.method': 'GET' },
    }),
  ]);

  it('returns the matching traces of a route and method, slowest first, with the spans that matched', async () => {
    const found = await source.searchSlowTraces({
      service: SERVICE,
      route: '/api/orders/:id',
      method: 'GET',
    });

    expect(found.map((s) => s.traceId)).toEqual([traceId(5), traceId(1), traceId(6), traceId(2)]);
    expect(found[1]).toEqual({
      traceId: traceId(1),
      rootService: SERVICE,
      rootName: 'GET /api/orders/:id',
      startNs: ORIGIN_NS,
      durationMs: 300,
      matchedSpans: [{ spanId: '0000000000000001', durationMs: 300 }],
    });
    expect(found[2]?.rootService).toBeUndefined();
  });

  it('matches a namespaced job only in that namespace, and a bare service name in any', async () => {
    const namespaced = await source.searchSlowTraces({ service: `demo/${SERVICE}` });
    const bare = await source.searchSlowTraces({ service: SERVICE });

    expect(namespaced.map((s) => s.traceId)).toEqual([traceId(5)]);
    expect(bare).toHaveLength(6);
    expect(await source.searchSlowTraces({ service: 'other' })).toEqual([]);
  });

  it('applies the minimum duration, the limit and the look-back window', async () => {
    const slow = await source.searchSlowTraces({ service: SERVICE, minDurationMs: 300, limit: 2 });
    // The clock is 60 s after the origin: a 30 s look-back keeps no trace, all of which ended within 6 s of it.
    const recent = await source.searchSlowTraces({ service: SERVICE, sinceSeconds: 30 });

    expect(slow.map((s) => s.durationMs)).toEqual([900, 700]);
    expect(recent).toEqual([]);
    expect(await source.searchSlowTraces({ service: SERVICE, limit: 0 })).toEqual([]);
  });

  it('returns full traces, newest first', async () => {
    const traces = await source.recentTraces({ service: SERVICE, route: '/api/orders/:id', limit: 3 });

    expect(traces.map((t) => t.traceId)).toEqual([traceId(6), traceId(5), traceId(3)]);
    const full = await source.recentTraces({ service: SERVICE, minDurationMs: 300, method: 'GET' });
    expect(full.map((t) => t.spans.length)).toEqual([1, 1, 2]);
  });

  it('returns the traces of a page’s documents: those holding the browser’s load of that page', async () => {
    const pages = new EmbeddedTraceSource({ now: time.now });
    const load = (n: number, page: string) =>
      span({
        id: 2,
        parent: 1,
        name: 'browser.page_load',
        startMs: -20,
        durationMs: 1500,
        traceId: traceId(n),
        attributes: { 'page.route': page },
      });
    pages.ingest([
      server({ id: 1, route: '/reports/sales', startMs: 0, durationMs: 400, traceId: traceId(1) }),
      load(1, '/reports/sales'),
      // The same route called by the dashboard's API client: no page load in its trace.
      server({ id: 1, route: '/reports/sales', startMs: 1000, durationMs: 400, traceId: traceId(2) }),
      server({ id: 1, route: '/authors/:id', startMs: 2000, durationMs: 90, traceId: traceId(3) }),
      load(3, '/authors/:id'),
    ]);
    const documents = await pages.recentTraces({ service: SERVICE, pageLoad: '/reports/sales' });
    expect(documents.map((t) => t.traceId)).toEqual([traceId(1)]);
    expect(documents[0]?.spans.map((x) => x.name)).toEqual(['browser.page_load', 'GET /reports/sales']);
  });
});
