import { describe, expect, it } from 'vitest';
import type { Finding } from '../types.ts';
import {
  applyRouteFloor,
  bucketCounts,
  type CompareWindow,
  causeOf,
  type RouteComparison,
  resolveWindow,
  type StatementComparison,
  type Verdict,
} from './compare.ts';

const route = (over: Partial<RouteComparison> = {}): RouteComparison => ({
  service: 'shop',
  subject: 'GET /customers/:id/orders',
  baseline: {
    requests: 600,
    ratePerSecond: 10,
    p50Seconds: 0.002,
    p95Seconds: 0.004,
    meanSeconds: 0.003,
    errorRatio: 0,
  },
  candidate: {
    requests: 600,
    ratePerSecond: 10,
    p50Seconds: 0.09,
    p95Seconds: 0.2,
    meanSeconds: 0.103,
    errorRatio: 0,
  },
  verdicts: [],
  regressed: true,
  ...over,
});
const statement = (over: Partial<StatementComparison> = {}): StatementComparison => ({
  fingerprint: 'abc',
  query: 'SELECT * FROM orders WHERE customer_id = $1',
  database: 'shop',
  service: 'shop',
  baseline: { calls: 600, meanMs: 0.05, stddevMs: 0.01, callsPerRequest: 0.125 },
  candidate: { calls: 600, meanMs: 95, stddevMs: 10, callsPerRequest: 0.125 },
  verdicts: [],
  regressed: true,
  // 10 calls a second, 95 ms more each.
  addedMsPerSecond: 950,
  ...over,
});
const finding = (over: Partial<Finding>): Finding => ({
  id: 'x',
  kind: 'missing-index',
  layer: 'database',
  service: 'shop',
  subject: 'public.orders (customer_id)',
  severity: 'critical',
  impact: 1,
  title: 'Missing index on orders (customer_id)',
  summary: '',
  evidence: { values: { fingerprints: 'zzz\nabc' }, window: '60s', queries: [] },
  recommendations: [
    {
      action: 'Create the index',
      artifact: 'CREATE INDEX …',
      expectedGain: '',
      confidence: 'high',
      verify: '',
    },
  ],
  ...over,
});

describe('the cause of a regressed route', () => {
  it('is the pipeline’s finding that absorbed the route, with its statement’s before and after', () => {
    const absorbing = finding({
      evidence: {
        values: { fingerprints: 'abc' },
        window: '60s',
        queries: [],
        symptoms: [
          { kind: 'slow-endpoint', subject: 'GET /customers/:id/orders', title: '', impact: 1, values: {} },
        ],
      },
    });
    const cause = causeOf(route(), [absorbing], [statement()]);
    expect(cause).toMatchObject({ basis: 'pipeline', statement: 'abc', finding: { kind: 'missing-index' } });
    expect(cause?.text).toBe(
      'Missing index on orders (customer_id): statement SELECT * FROM orders WHERE customer_id = $1 now takes 95 ms, was 0.05 ms',
    );
  });

  it('else the statement whose added time is most of the route’s, and the finding on it', () => {
    // The route adds (103 − 3) ms × 10/s = 1 000 ms a second; the statement 950: most of it.
    const cause = causeOf(route(), [finding({})], [statement()]);
    expect(cause).toMatchObject({
      basis: 'accounting',
      statement: 'abc',
      finding: { kind: 'missing-index' },
    });
    expect(cause?.text).toMatch(
      /adds 950 ms of database time a second, the route 1000 ms of latency a second; Missing index/,
    );
    // A statement that adds less than half of the route's time is not its cause: something else is larger.
    expect(causeOf(route(), [], [statement({ addedMsPerSecond: 400 })])).toBeUndefined();
    // Nor one that did not regress, nor the route's own finding.
    expect(causeOf(route(), [], [statement({ regressed: false })])).toBeUndefined();
    const own = finding({
      kind: 'slow-endpoint',
      subject: 'GET /customers/:id/orders',
      evidence: {
        values: {},
        window: '60s',
        queries: [],
        symptoms: [
          { kind: 'slow-endpoint', subject: 'GET /customers/:id/orders', title: '', impact: 1, values: {} },
        ],
      },
    });
    expect(causeOf(route(), [own], [])).toBeUndefined();
  });

  it('spends a statement’s added time once: a small route that got slower beside the big one is not blamed on it', () => {
    // The statement adds 950 ms a second; the big route takes 1 000 of it first (compare orders by added time).
    const spent = new Map<string, number>();
    expect(causeOf(route(), [], [statement()], spent)?.statement).toBe('abc');
    // Another route 3 ms slower at 1 request a second: before, 950 > 3 / 2 named the statement its cause.
    const small = route({
      subject: 'POST /orders',
      baseline: { ...route().baseline, ratePerSecond: 1, meanSeconds: 0.005 },
      candidate: { ...route().candidate, ratePerSecond: 1, meanSeconds: 0.008 },
    });
    expect(causeOf(small, [], [statement()])?.statement).toBe('abc');
    expect(causeOf(small, [], [statement()], spent)).toBeUndefined();
    // Two routes sharing one statement each get it while it has time left for them.
    const half = route({ candidate: { ...route().candidate, meanSeconds: 0.05 } }); // (50 − 3) × 10 = 470 ms/s
    const shared = new Map<string, number>();
    expect(causeOf(half, [], [statement()], shared)?.statement).toBe('abc');
    expect(causeOf(half, [], [statement()], shared)?.statement).toBe('abc');
    expect(shared.get('shop\0abc')).toBeCloseTo(940);
  });
});

describe('a route’s practical floor (advice_min_share_percent of latency_p95_ms)', () => {
  const sure = (metric: Verdict['metric']): Verdict => ({
    metric,
    p: 1e-6,
    effect: 0.9,
    effectName: metric === 'latency' ? 'A' : 'h',
    floor: 0.2,
    significant: true,
    regressed: true,
  });
  const slower = (meanMs: number, p95Ms: number) =>
    route({
      baseline: { ...route().baseline, meanSeconds: 0.005, p95Seconds: 0.01 },
      candidate: { ...route().candidate, meanSeconds: (5 + meanMs) / 1000, p95Seconds: (10 + p95Ms) / 1000 },
      verdicts: [sure('latency'), sure('tail'), sure('errors')],
    });
  const regressed = (r: RouteComparison) => r.verdicts.filter((v) => v.regressed).map((v) => v.metric);

  it('keeps a sure shift of the mean and of the p95 larger than the floor', () => {
    const r = slower(12, 14);
    applyRouteFloor(r, 0.01);
    expect(regressed(r)).toEqual(['latency', 'tail', 'errors']);
  });

  it('drops a sure shift smaller than the floor, metric by metric, and leaves errors alone', () => {
    // The mean 3 ms slower, the p95 14 ms: the distribution's shift is below 10 ms, the tail's is not.
    const r = slower(3, 14);
    applyRouteFloor(r, 0.01);
    expect(regressed(r)).toEqual(['tail', 'errors']);
    const small = slower(3, 6);
    applyRouteFloor(small, 0.01);
    expect(regressed(small)).toEqual(['errors']);
  });

  it('judges nothing away without an objective (floor 0), nor a side with no mean', () => {
    const r = slower(0.5, 0.5);
    applyRouteFloor(r, 0);
    expect(regressed(r)).toEqual(['latency', 'tail', 'errors']);
    const unknown = route({
      baseline: { ...route().baseline, meanSeconds: null, p95Seconds: null },
      verdicts: [sure('latency'), sure('tail')],
    });
    applyRouteFloor(unknown, 0.01);
    expect(regressed(unknown)).toEqual(['latency', 'tail']);
  });
});

describe('comparison inputs', () => {
  it('turns increase()’s fractional cumulative buckets into whole requests per bucket', () => {
    const le = (l: string, value: number) => ({ labels: { le: l }, value });
    expect(bucketCounts([le('+Inf', 10.4), le('0.01', 3.2), le('0.005', 2.6), le('0.025', 9.9)])).toEqual({
      bounds: [0.005, 0.01, 0.025, Number.POSITIVE_INFINITY],
      counts: [3, 0, 7, 0],
    });
  });

  it('reads a window as <ISO start>/<ISO end>', () => {
    const w: CompareWindow = resolveWindow(
      '--baseline',
      '2026-12-01T10:00:00Z/2026-12-01T10:05:00Z',
      '/nonexistent',
      new Date('2026-12-02T00:00:00Z'),
    );
    expect([w.start.toISOString(), w.end.toISOString()]).toEqual([
      '2026-12-01T10:00:00.000Z',
      '2026-12-01T10:05:00.000Z',
    ]);
  });
});
