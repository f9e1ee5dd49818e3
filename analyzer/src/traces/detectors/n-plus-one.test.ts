import { describe, expect, it } from 'vitest';
import { findingId } from '../../findings.ts';
import type { FindingKind } from '../../types.ts';
import { DEFAULT_TRACE_LIMITS, routeRateKey, traceFindingId } from '../findings.ts';
import { fingerprintSql } from '../fingerprint.ts';
import type { Span } from '../model.ts';
import { query, retrace, SERVICE, server, snapshotOf, span, TRACE_ID, trace } from '../testdata.ts';
import { detect } from './n-plus-one.ts';

const LIMITS = DEFAULT_TRACE_LIMITS;
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
    const s = await snapshotOf([trace(...loop(5, 10))]);
    const fingerprint = await fingerprintSql(PRODUCT_SQL);

    const [finding, ...rest] = detect(s, LIMITS);

    expect(rest).toEqual([]);
    const subject = `GET /api/orders/:id [${fingerprint}]`;
    expect(finding).toMatchObject({
      id: traceFindingId('n-plus-one', SERVICE, subject),
      kind: 'n-plus-one',
      layer: 'database',
      service: SERVICE,
      subject,
      severity: 'warning',
      title: `N+1 queries in GET /api/orders/:id: 5 × ${PRODUCT_SQL} per request, 50 ms together`,
    });
    // The same id `findingId` will give once the kind joins FindingKind.
    expect(finding?.id).toBe(findingId('n-plus-one' as FindingKind, SERVICE, subject));
    expect(finding?.evidence.values).toMatchObject({
      statement: PRODUCT_SQL,
      fingerprint,
      count_per_request_median: 5,
      total_ms_mean: 50,
      avoidable_ms_mean: 40,
      traces_affected: 1,
      traces_of_route: 1,
      share_of_request: 0.125,
      db_system: 'postgresql',
    });
    expect(finding?.evidence.traceIds).toEqual([TRACE_ID]);
    expect(finding?.evidence.queries).toEqual([
      {
        language: 'traceql',
        text:
          '{ resource.service.name = "shop" && span.http.route = "/api/orders/:id" && kind = server && ' +
          '(span.http.request.method = "GET" || span.http.method = "GET") } >> ' +
          `{ (span.db.query.text = "${PRODUCT_SQL}" || span.db.statement = "${PRODUCT_SQL}") } | count() >= 5`,
      },
    ]);
    const [batch, loader] = finding?.recommendations ?? [];
    expect(batch?.artifact).toContain('SELECT id, name, price FROM products WHERE id = ANY($1);');
    expect(batch?.verify).toMatch(/spans of this statement drop from 5 to 1 per request/);
    expect(batch?.verify).toMatch(/p95 drops by about 40 ms/);
    expect(batch?.confidence).toBe('high');
    expect(loader?.artifact).toContain('new DataLoader(');
  });

  it('stays quiet for 4 repeats, however long they take', async () => {
    expect(detect(await snapshotOf([trace(...loop(4, 30))]), LIMITS)).toEqual([]);
  });

  it('stays quiet when the repeats take 49 ms together', async () => {
    expect(detect(await snapshotOf([trace(...loop(5, 9.8))]), LIMITS)).toEqual([]);
    expect(detect(await snapshotOf([trace(...loop(7, 7))]), LIMITS)).toEqual([]);
  });

  it('does not add up repeats under different parents', async () => {
    const spans = loop(5, 20).map((s, i) =>
      i === 1 || i === 2 ? { ...s, parentSpanId: '00000000000000aa' } : s,
    );
    const handler = span({ id: 0xaa, parent: 1, startMs: 1, durationMs: 300 });

    expect(detect(await snapshotOf([trace(...spans, handler)]), LIMITS)).toEqual([]);
  });

  it('does not group different statements', async () => {
    const tables = ['products', 'reviews', 'stock', 'prices', 'images'];
    const spans = loop(5, 20, (i) => `SELECT * FROM ${tables[i]} WHERE id = $1`);

    expect(detect(await snapshotOf([trace(...spans)]), LIMITS)).toEqual([]);
  });

  it('groups statements that differ only in inlined constants, and then matches any DB span in the TraceQL', async () => {
    const spans = loop(5, 12, (i) => `SELECT name FROM products WHERE id = ${i + 1}`);

    const [finding] = detect(await snapshotOf([trace(...spans)]), LIMITS);

    expect(finding?.evidence.values.count_per_request_median).toBe(5);
    expect(finding?.evidence.queries[0]?.text).toContain(
      '>> { (span.db.system.name != nil || span.db.system != nil) }',
    );
    expect(finding?.recommendations[0]?.artifact).toContain('WHERE id = ANY($1)');
  });

  it('aggregates the requests of a route: median count, worst traces first, at most 5 ids', async () => {
    const traces = [5, 6, 7, 6, 9, 5, 8].map((n, i) => retrace(trace(...loop(n, 10)), i + 1));

    const [finding, ...rest] = detect(await snapshotOf(traces), LIMITS);

    expect(rest).toEqual([]);
    expect(finding?.evidence.values).toMatchObject({
      count_per_request_median: 6,
      count_per_request_max: 9,
      traces_affected: 7,
    });
    expect(finding?.evidence.traceIds).toEqual(
      [traces[4], traces[6], traces[2], traces[1], traces[3]].map((t) => t?.traceId),
    );
  });

  it('is critical at twice the time limit', async () => {
    expect(detect(await snapshotOf([trace(...loop(5, 20))]), LIMITS)[0]?.severity).toBe('critical');
  });

  it('weighs impact by the route rate when Prometheus knows it', async () => {
    const s = {
      ...(await snapshotOf([trace(...loop(5, 10))])),
      routeRates: new Map([[routeRateKey(SERVICE, 'GET /api/orders/:id'), 10]]),
    };

    // 10 req/s × every request affected × 40 ms avoidable.
    expect(detect(s, LIMITS)[0]?.impact).toBeCloseTo(0.4);
  });

  it('returns nothing for no traces', async () => {
    expect(detect(await snapshotOf([]), LIMITS)).toEqual([]);
  });
});
