import { describe, expect, it } from 'vitest';
import type { Span, Trace } from '../traces/model.ts';
import {
  httpCall,
  query,
  retrace,
  SERVICE,
  server,
  snapshotOf,
  span,
  TRACE_ID,
  trace,
} from '../traces/testdata.ts';
import { finished, LIMITS } from './testdata.ts';

/** The same request twice: a pattern must be in at least 2 traces of its route to count. */
function twice(t: Trace): Trace[] {
  return [t, retrace(t, 2)];
}

import { detect } from './parallelizable.ts';

const SQL = [
  'SELECT * FROM products WHERE id = $1',
  'SELECT * FROM reviews WHERE product_id = $1',
  'SELECT * FROM stock WHERE product_id = $1',
];

/** Queries back to back (0.5 ms apart) under a server span of `requestMs`. */
function sequential(durations: readonly number[], requestMs = 400, gapMs = 0.5): Span[] {
  const spans: Span[] = [server({ id: 1, startMs: 0, durationMs: requestMs })];
  let t = 1;
  durations.forEach((d, i) => {
    spans.push(
      query({ id: 10 + i, parent: 1, startMs: t, durationMs: d, sql: SQL[i % SQL.length] as string }),
    );
    t += d + gapMs;
  });
  return spans;
}

/** The span moved later by `ms`. */
function shift(s: Span, ms: number): Span {
  const ns = BigInt(Math.round(ms * 1e6));
  return { ...s, startNs: s.startNs + ns, endNs: s.endNs + ns };
}

describe('parallelizable detector', () => {
  it('reports independent reads back to back that would save 100 ms and 10 % run concurrently', async () => {
    const s = await snapshotOf(twice(trace(...sequential([60, 60, 60], 300))));
    const [finding, ...rest] = finished(detect(s, LIMITS), s);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'parallelizable-queries',
      layer: 'database',
      service: SERVICE,
      severity: 'warning',
      title: 'GET /api/orders/:id runs 3 independent queries one after another: 120 ms to save per request',
    });
    expect(finding?.id).toMatch(/^parallelizable-queries-[0-9a-f]{16}$/);
    expect(finding?.subject).toBe('GET /api/orders/:id');
    expect(finding?.evidence.values).toMatchObject({
      statements: SQL.join('\n'),
      calls_per_run_median: 3,
      sum_ms_mean: 180,
      saved_ms_mean: 120,
      saved_share_mean: 0.4,
      traces_affected: 2,
    });
    expect(finding?.evidence.traceIds?.[0]).toBe(TRACE_ID);
    expect(finding?.evidence.queries[0]?.text).toContain('| count() >= 2');
    const artifact = finding?.recommendations[0]?.artifact ?? '';
    expect(artifact).toContain('await Promise.all([');
    expect(artifact).toContain(`pool.query(${JSON.stringify(SQL[1])})`);
    expect(finding?.recommendations[0]?.verify).toMatch(/spans overlap instead of following each other/);
  });

  it('needs 100 ms saved: 99 is not enough, 100 is', async () => {
    expect(detect(await snapshotOf(twice(trace(...sequential([99, 99])))), LIMITS)).toEqual([]);
    expect(detect(await snapshotOf(twice(trace(...sequential([100, 100])))), LIMITS)).toHaveLength(1);
  });

  it('needs 10 % of the request saved', async () => {
    expect(detect(await snapshotOf(twice(trace(...sequential([100, 100], 1001)))), LIMITS)).toEqual([]);
    expect(detect(await snapshotOf(twice(trace(...sequential([100, 100], 1000)))), LIMITS)).toHaveLength(1);
  });

  it('reports one finding per route when some requests’ runs were cut short', async () => {
    const full = trace(...sequential([150, 150, 150], 600));
    // The same route with its third call 30 ms late (a busy event loop): a run of two, still worth reporting.
    const late = retrace(full, 2);
    const cut = { ...late, spans: late.spans.map((s, i) => (i === 3 ? shift(s, 30) : s)) };
    const findings = detect(await snapshotOf([full, retrace(full, 3), cut]), LIMITS);
    expect(findings.map((f) => f.subject)).toEqual(['GET /api/orders/:id']);
    expect(findings[0]?.evidence.values.traces_affected).toBe(3);
    expect(findings[0]?.evidence.values.calls_per_run_median).toBe(3);
  });

  it('leaves an N+1 loop to the N+1 detector', async () => {
    const loop: Span[] = [server({ id: 1, startMs: 0, durationMs: 400 })];
    for (let i = 0; i < 5; i++) {
      loop.push(query({ id: 10 + i, parent: 1, startMs: 1 + i * 61, durationMs: 60, sql: SQL[0] as string }));
    }
    expect(detect(await snapshotOf(twice(trace(...loop))), LIMITS)).toEqual([]);
    // Four repeats are not a loop yet: they are worth running together.
    expect(detect(await snapshotOf(twice(trace(...loop.slice(0, 5)))), LIMITS)).toHaveLength(1);
  });

  it('counts calls awaited one after the other whose spans overlap by a fraction of a millisecond', async () => {
    // As the demo's report showed them: the next span starts up to 0.6 ms before the previous one ends.
    expect(
      detect(await snapshotOf(twice(trace(...sequential([150, 150, 150], 500, -0.6)))), LIMITS),
    ).toHaveLength(1);
  });

  it('does not count overlapping spans as sequential', async () => {
    const spans = [
      server({ id: 1, startMs: 0, durationMs: 400 }),
      query({ id: 10, parent: 1, startMs: 1, durationMs: 150, sql: SQL[0] as string }),
      query({ id: 11, parent: 1, startMs: 100, durationMs: 150, sql: SQL[1] as string }),
    ];

    expect(detect(await snapshotOf(twice(trace(...spans))), LIMITS)).toEqual([]);
  });

  it('does not count calls with idle time between them, where the code may have used the first result', async () => {
    expect(detect(await snapshotOf(twice(trace(...sequential([150, 150], 400, 20)))), LIMITS)).toHaveLength(
      1,
    );
    expect(detect(await snapshotOf(twice(trace(...sequential([150, 150], 400, 20.5)))), LIMITS)).toEqual([]);
  });

  it('does not count calls with other work between them', async () => {
    const spans = sequential([150, 150]);
    const between = span({ id: 50, parent: 1, startMs: 151.1, durationMs: 0.1, name: 'compute' });

    expect(detect(await snapshotOf(twice(trace(...spans, between))), LIMITS)).toEqual([]);
  });

  it('leaves writes and statements inside a transaction in their order', async () => {
    const writes = sequential([150, 150]).map((s, i) =>
      i === 1
        ? { ...s, attributes: { ...s.attributes, 'db.query.text': 'INSERT INTO audit VALUES ($1)' } }
        : s,
    );
    const tx = [
      server({ id: 1, startMs: 0, durationMs: 400 }),
      query({ id: 9, parent: 1, startMs: 0.5, durationMs: 0.1, sql: 'BEGIN' }),
      query({ id: 10, parent: 1, startMs: 1, durationMs: 150, sql: SQL[0] as string }),
      query({ id: 11, parent: 1, startMs: 151.5, durationMs: 150, sql: SQL[1] as string }),
      query({ id: 12, parent: 1, startMs: 302, durationMs: 1, sql: 'COMMIT' }),
    ];

    expect(detect(await snapshotOf(twice(trace(...writes))), LIMITS)).toEqual([]);
    expect(detect(await snapshotOf(twice(trace(...tx))), LIMITS)).toEqual([]);
  });

  it('reports sequential outbound GETs as an API finding', async () => {
    const spans = [
      server({ id: 1, startMs: 0, durationMs: 500 }),
      httpCall({ id: 10, parent: 1, startMs: 1, durationMs: 120, host: 'inventory' }),
      httpCall({ id: 11, parent: 1, startMs: 121.5, durationMs: 120, host: 'pricing' }),
    ];

    const s = await snapshotOf(twice(trace(...spans)));
    const [finding] = finished(detect(s, LIMITS), s);

    expect(finding).toMatchObject({
      layer: 'api',
      title: expect.stringContaining('2 independent HTTP calls'),
    });
    expect(finding?.evidence.values.statements).toBe('HTTP GET inventory\nHTTP GET pricing');
    expect(finding?.recommendations[0]?.artifact).toContain('fetch(/* HTTP GET pricing */)');
  });
});
