import { describe, expect, it } from 'vitest';
import { routeBreakdowns } from './breakdown.ts';
import { parseTraceResponse } from './tempo.ts';
import { FIXTURES, fixture, httpCall, query, SERVICE, server, snapshotOf, span, trace } from './testdata.ts';

const ORDER_SQL = 'SELECT * FROM orders WHERE id = $1';
const KEY = `${SERVICE}\0GET /api/orders/:id`;

describe('routeBreakdowns', () => {
  it('splits a request into database, outbound HTTP and own code, counting overlapping children once', async () => {
    const t = trace(
      server({ id: 1, startMs: 0, durationMs: 100 }),
      query({ id: 10, parent: 1, startMs: 10, durationMs: 30, sql: ORDER_SQL }),
      query({ id: 11, parent: 1, startMs: 30, durationMs: 30, sql: ORDER_SQL }),
      httpCall({ id: 12, parent: 1, startMs: 70, durationMs: 20 }),
    );

    const b = routeBreakdowns(await snapshotOf([t])).get(KEY);

    expect(b).toMatchObject({
      traces: 1,
      mean_ms: 100,
      db_share: 0.5,
      pool_wait_share: 0,
      http_share: 0.2,
      own_share: 0.3,
      db_held_ms_mean: 50,
      top_statement: { text: ORDER_SQL, share: 0.5 },
      top_host: { host: 'inventory', share: 0.2 },
    });
  });

  it('counts waiting for a pooled connection as its own share, never as the route’s own code', async () => {
    const t = trace(
      server({ id: 1, startMs: 0, durationMs: 100 }),
      span({ id: 9, parent: 1, name: 'db.client.connection.wait', startMs: 2, durationMs: 80 }),
      query({ id: 10, parent: 1, startMs: 83, durationMs: 10, sql: ORDER_SQL }),
    );

    const b = routeBreakdowns(await snapshotOf([t])).get(KEY);

    expect(b).toMatchObject({ pool_wait_share: 0.8, db_share: 0.1, own_share: 0.1, pool_wait_ms_mean: 80 });
  });

  it('counts a DB call inside an HTTP call as DB, and leaves out children that outlive the request', async () => {
    const t = trace(
      server({ id: 1, startMs: 0, durationMs: 100 }),
      httpCall({ id: 12, parent: 1, startMs: 10, durationMs: 60 }),
      query({ id: 10, parent: 12, startMs: 20, durationMs: 20, sql: ORDER_SQL }),
      // Ends after its parent: another request's span under a leaked context, or fire-and-forget work.
      query({ id: 13, parent: 1, startMs: 90, durationMs: 40, sql: ORDER_SQL }),
    );

    const b = routeBreakdowns(await snapshotOf([t])).get(KEY);

    expect(b).toMatchObject({ db_share: 0.2, http_share: 0.4, own_share: 0.4 });
  });

  it('breaks down the recorded Tempo traces, naming the SELECT that holds 79 % of GET /:endpoint', async () => {
    const traces = [
      parseTraceResponse(fixture(FIXTURES.v1Java)),
      parseTraceResponse(fixture(FIXTURES.v2Docs)),
      parseTraceResponse({ trace: fixture(FIXTURES.failed) }),
      parseTraceResponse({ trace: fixture(FIXTURES.dbSystemName) }),
    ].filter((t) => t !== null);
    expect(traces).toHaveLength(4);

    const all = routeBreakdowns(await snapshotOf(traces));

    const select = all.get('mythical-server\0GET /:endpoint');
    expect(select?.top_statement).toMatchObject({ text: 'SELECT name from manticore', share: 0.793 });
    // The Loki push (HTTP POST) starts after the response was sent: outside the request, not part of its time.
    expect(select).toMatchObject({ db_share: 0.793, http_share: 0, own_share: 0.207 });
    expect(select?.trace_ids).toEqual(['4290b5877a9930de79bb428365398ecc']);
    expect(all.get('mythical-server\0POST /:endpoint')?.top_statement?.text).toBe(
      'INSERT INTO illithid(name) VALUES ($1)',
    );
    expect(all.get('shop/app\0GET /stock')?.own_share).toBe(1);
  });
});
