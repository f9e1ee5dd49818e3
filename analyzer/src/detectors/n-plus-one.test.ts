import { describe, expect, it } from 'vitest';
import { findingId } from '../findings.ts';
import { fingerprintSql } from '../traces/fingerprint.ts';
import type { Span, Trace } from '../traces/model.ts';
import { query, retrace, SERVICE, server, snapshotOf, span, TRACE_ID, trace } from '../traces/testdata.ts';
import { detect } from './n-plus-one.ts';
import { LIMITS, route } from './testdata.ts';

/** The same request twice: a pattern must be in at least 2 traces of its route to count. */
function twice(t: Trace): Trace[] {
  return [t, retrace(t, 2)];
}
const PRODUCT_SQL = 'SELECT name, price FROM products WHERE id = $1';

/** A `GET /api/orders/:id` request that looks up `n` products one by one, each taking `eachMs`. */
function loop(n: number, eachMs: number, sql: (i: number) => string = () => PRODUCT_SQL): Span[] {
  const spans: Span[] = [server({ id: 1, startMs: 0, durationMs: 400 })];
  for (let i = 0; i < n; i++) {
    spans.push(
      query({ id: 10 + i, parent: 1, startMs: 5 + i * (eachMs + 1), durationMs: eachMs, sql: sql(i) }),
    );
  }
  return spans;
}

describe('n-plus-one detector', () => {
  it('reports 5 spans of one statement under one parent that take 50 ms together, with the batched query', async () => {
    const s = await snapshotOf(twice(trace(...loop(5, 10))));
    const fingerprint = await fingerprintSql(PRODUCT_SQL);

    const [finding, ...rest] = detect(s, LIMITS);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      // One finding per statement, however many routes run it: the subject is the fingerprint.
      id: findingId('n-plus-one', SERVICE, fingerprint),
      kind: 'n-plus-one',
      layer: 'database',
      service: SERVICE,
      subject: fingerprint,
      severity: 'warning',
      title: `N+1 queries in GET /api/orders/:id: 5 × ${PRODUCT_SQL} per request, 50 ms together`,
    });
    expect(finding?.facts).toMatchObject({ statement: PRODUCT_SQL, fingerprint, db_system: 'postgresql' });
    expect(finding?.facts.sites).toEqual([
      {
        route: 'GET /api/orders/:id',
        count_per_request_median: 5,
        count_per_request_max: 5,
        total_ms_mean: 50,
        avoidable_ms_mean: 40,
        traces_affected: 2,
        traces_of_route: 2,
        rate_per_s: 2 / 900,
        parent_span: 'GET /api/orders/:id',
      },
    ]);
    expect(finding?.evidence.values.routes).toBe('GET /api/orders/:id');
    expect(finding?.evidence.traceIds).toEqual([TRACE_ID, retrace(trace(), 2).traceId]);
    expect(finding?.evidence.queries).toEqual([
      {
        language: 'traceql',
        text:
          '{ resource.service.name = "shop" && span.http.route = "/api/orders/:id" && kind = server && ' +
          '(span.http.request.method = "GET" || span.http.method = "GET") } >> ' +
          `{ (span.db.query.text = "${PRODUCT_SQL}" || span.db.statement = "${PRODUCT_SQL}") } | count() >= 5`,
      },
    ]);
  });

  it('counts only systematic patterns: 2 traces at least, and 20 % of the route’s traces', async () => {
    expect(detect(await snapshotOf([trace(...loop(5, 10))]), LIMITS)).toEqual([]);
    const others = [2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) =>
      retrace(trace(server({ id: 1, startMs: 0, durationMs: 20 })), n),
    );
    // 2 of 11 traces: 18 %.
    expect(detect(await snapshotOf([...twice(trace(...loop(5, 10))), ...others]), LIMITS)).toEqual([]);
    // 2 of 10: 20 %.
    expect(
      detect(await snapshotOf([...twice(trace(...loop(5, 10))), ...others.slice(1)]), LIMITS),
    ).toHaveLength(1);
  });

  it('reports one finding for a statement repeated in two routes, listing both', async () => {
    const orders = twice(trace(...loop(5, 10)));
    const carts = twice(trace(...loop(6, 10))).map((t, i) => ({
      traceId: `c${i}`.padEnd(32, '0'),
      spans: t.spans.map((x) =>
        x.kind === 'server'
          ? {
              ...x,
              traceId: `c${i}`.padEnd(32, '0'),
              name: 'GET /api/carts/:id',
              attributes: { ...x.attributes, 'http.route': '/api/carts/:id' },
            }
          : { ...x, traceId: `c${i}`.padEnd(32, '0') },
      ),
    }));

    const findings = detect(await snapshotOf([...orders, ...carts]), LIMITS);

    expect(findings).toHaveLength(1);
    expect(findings[0]?.facts.routes).toEqual(['GET /api/carts/:id', 'GET /api/orders/:id']);
    expect(findings[0]?.title).toContain('2 routes');
  });

  it('does not count spans that cannot belong to their parent (another request’s, by a leaked context)', async () => {
    // The server span ends at 400 ms; these five "children" run after it ended.
    const late = loop(5, 12).map((x) =>
      x.kind === 'server' ? { ...x, endNs: x.startNs + 30_000_000n, durationMs: 30 } : x,
    );
    expect(detect(await snapshotOf(twice(trace(...late))), LIMITS)).toEqual([]);
  });

  it('stays quiet for 4 repeats, however long they take', async () => {
    expect(detect(await snapshotOf(twice(trace(...loop(4, 30)))), LIMITS)).toEqual([]);
  });

  it('stays quiet when the repeats take 49 ms together', async () => {
    expect(detect(await snapshotOf(twice(trace(...loop(5, 9.8)))), LIMITS)).toEqual([]);
    expect(detect(await snapshotOf(twice(trace(...loop(7, 7)))), LIMITS)).toEqual([]);
  });

  it('does not add up repeats under different parents', async () => {
    const spans = loop(5, 20).map((s, i) =>
      i === 1 || i === 2 ? { ...s, parentSpanId: '00000000000000aa' } : s,
    );
    const handler = span({ id: 0xaa, parent: 1, startMs: 1, durationMs: 300 });

    expect(detect(await snapshotOf(twice(trace(...spans, handler))), LIMITS)).toEqual([]);
  });

  it('does not group different statements', async () => {
    const tables = ['products', 'reviews', 'stock', 'prices', 'images'];
    const spans = loop(5, 20, (i) => `SELECT * FROM ${tables[i]} WHERE id = $1`);

    expect(detect(await snapshotOf(twice(trace(...spans))), LIMITS)).toEqual([]);
  });

  it('groups statements that differ only in inlined constants, and then matches any DB span in the TraceQL', async () => {
    const spans = loop(5, 12, (i) => `SELECT name FROM products WHERE id = ${i + 1}`);

    const [finding] = detect(await snapshotOf(twice(trace(...spans))), LIMITS);

    expect(finding?.facts.sites[0]?.count_per_request_median).toBe(5);
    expect(finding?.evidence.queries[0]?.text).toContain(
      '>> { (span.db.system.name != nil || span.db.system != nil) }',
    );
  });

  it('aggregates the requests of a route: median count, worst traces first, at most 5 ids', async () => {
    const traces = [5, 6, 7, 6, 9, 5, 8].map((n, i) => retrace(trace(...loop(n, 10)), i + 1));

    const [finding, ...rest] = detect(await snapshotOf(traces), LIMITS);

    expect(rest).toEqual([]);
    expect(finding?.facts.sites[0]).toMatchObject({
      count_per_request_median: 6,
      count_per_request_max: 9,
      traces_affected: 7,
    });
    expect(finding?.evidence.traceIds).toEqual(
      [traces[4], traces[6], traces[2], traces[1], traces[3]].map((t) => t?.traceId),
    );
  });

  it('is critical at twice the time limit', async () => {
    expect(detect(await snapshotOf(twice(trace(...loop(5, 20)))), LIMITS)[0]?.severity).toBe('critical');
  });

  it('weighs impact by the route rate when Prometheus knows it', async () => {
    const s = {
      ...(await snapshotOf(twice(trace(...loop(5, 10))), [
        route({ route: '/api/orders/:id', requestRate: 10 }),
      ])),
    };

    // 10 req/s × every request affected × 40 ms avoidable.
    expect(detect(s, LIMITS)[0]?.impact).toBeCloseTo(0.4);
  });

  it('returns nothing for no traces', async () => {
    expect(detect(await snapshotOf([]), LIMITS)).toEqual([]);
  });
});
