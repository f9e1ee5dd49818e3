import { describe, expect, it } from 'vitest';
import { DEFAULT_TRACE_LIMITS, traceFindingId } from '../findings.ts';
import { httpCall, query, retrace, SERVICE, server, snapshotOf, span, trace } from '../testdata.ts';
import { detect } from './time-breakdown.ts';

const LIMITS = DEFAULT_TRACE_LIMITS;
const ORDER_SQL = 'SELECT * FROM orders WHERE id = $1';

describe('time-breakdown detector', () => {
  it('splits a request into database, outbound HTTP and own code, counting overlapping children once', async () => {
    const t = trace(
      server({ id: 1, startMs: 0, durationMs: 100 }),
      query({ id: 10, parent: 1, startMs: 10, durationMs: 30, sql: ORDER_SQL }),
      query({ id: 11, parent: 1, startMs: 30, durationMs: 30, sql: ORDER_SQL }),
      httpCall({ id: 12, parent: 1, startMs: 70, durationMs: 20 }),
    );

    const [finding, ...rest] = detect(await snapshotOf([t]), LIMITS);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      id: traceFindingId('time-breakdown', SERVICE, 'GET /api/orders/:id'),
      kind: 'time-breakdown',
      layer: 'api',
      subject: 'GET /api/orders/:id',
      severity: 'warning',
      title: `50 % of GET /api/orders/:id is one statement: ${ORDER_SQL}`,
    });
    expect(finding?.evidence.values).toMatchObject({
      traces: 1,
      mean_ms: 100,
      db_share: 0.5,
      http_share: 0.2,
      own_share: 0.3,
      top_statement: ORDER_SQL,
      top_statement_share: 0.5,
    });
    expect(finding?.recommendations[0]?.artifact).toBe(
      `-- PostgreSQL 16+; on older servers put real values in place of $1, $2…\nEXPLAIN (GENERIC_PLAN) ${ORDER_SQL};`,
    );
  });

  it('counts a DB call inside an HTTP call as DB, and clips children that outlive the request', async () => {
    const t = trace(
      server({ id: 1, startMs: 0, durationMs: 100 }),
      httpCall({ id: 10, parent: 1, startMs: 0, durationMs: 40 }),
      query({ id: 11, parent: 1, startMs: 20, durationMs: 40, sql: ORDER_SQL }),
      httpCall({ id: 12, parent: 1, startMs: 90, durationMs: 50 }),
    );

    const [finding] = detect(await snapshotOf([t]), LIMITS);

    expect(finding?.evidence.values).toMatchObject({ db_share: 0.4, http_share: 0.3, own_share: 0.3 });
  });

  it('does not look into the work of a downstream service: it is the client span that waited for it', async () => {
    const t = trace(
      server({ id: 1, startMs: 0, durationMs: 100 }),
      httpCall({ id: 10, parent: 1, startMs: 10, durationMs: 50 }),
      server({ id: 20, parent: 10, startMs: 12, durationMs: 45, service: 'inventory', route: '/stock' }),
      query({ id: 21, parent: 20, startMs: 15, durationMs: 40, service: 'inventory', sql: 'SELECT 1' }),
    );

    const findings = detect(await snapshotOf([t]), LIMITS);

    expect(findings.find((f) => f.service === SERVICE)?.evidence.values).toMatchObject({
      db_share: 0,
      http_share: 0.5,
      own_share: 0.5,
    });
    expect(findings.find((f) => f.service === 'inventory')?.subject).toBe('GET /stock');
  });

  it('averages the shares over the requests of a route and reports a mix as information', async () => {
    const light = trace(
      server({ id: 1, startMs: 0, durationMs: 100 }),
      query({ id: 10, parent: 1, startMs: 0, durationMs: 20, sql: ORDER_SQL }),
      span({ id: 11, parent: 1, startMs: 30, durationMs: 60, name: 'render' }),
    );
    const heavy = retrace(
      trace(
        server({ id: 1, startMs: 0, durationMs: 200 }),
        query({ id: 10, parent: 1, startMs: 0, durationMs: 60, sql: ORDER_SQL }),
        query({
          id: 12,
          parent: 1,
          startMs: 60,
          durationMs: 60,
          sql: 'SELECT * FROM lines WHERE order_id = $1',
        }),
      ),
      2,
    );

    const [finding] = detect(await snapshotOf([light, heavy]), LIMITS);

    expect(finding?.severity).toBe('info');
    expect(finding?.evidence.values).toMatchObject({
      traces: 2,
      mean_ms: 150,
      db_share: 0.4,
      own_share: 0.6,
      top_statement: ORDER_SQL,
      top_statement_share: 0.25,
    });
    expect(finding?.title).toBe('GET /api/orders/:id: 40 % database, 0 % outbound HTTP, 60 % own code');
    expect(finding?.evidence.traceIds).toEqual([heavy.traceId, light.traceId]);
    expect(finding?.recommendations[0]?.action).toMatch(/own code: record a CPU profile/);
  });

  it('skips routes with too few traces or a mean under the duration limit', async () => {
    const s = await snapshotOf([trace(server({ id: 1, startMs: 0, durationMs: 100 }))]);

    expect(detect(s, { ...LIMITS, timeBreakdown: { ...LIMITS.timeBreakdown, minTraces: 2 } })).toEqual([]);
    expect(detect(s, { ...LIMITS, timeBreakdown: { ...LIMITS.timeBreakdown, minDurationMs: 101 } })).toEqual(
      [],
    );
    expect(detect(await snapshotOf([]), LIMITS)).toEqual([]);
  });
});
