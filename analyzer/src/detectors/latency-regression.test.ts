import { describe, expect, it } from 'vitest';
import { detect, REGRESSION_MIN_INCREASE_S, REGRESSION_RATIO } from './latency-regression.ts';
import { bare, finished, LIMITS, route, SERVICE, snapshot } from './testdata.ts';

describe('latency-regression detector', () => {
  it('reports a route whose p95 rose by more than 20 % and 50 ms against the baseline', () => {
    const s = snapshot({ routes: [route({ p95Seconds: 0.15, baselineP95Seconds: 0.06, requestRate: 4 })] });

    const [finding, ...rest] = finished(detect(s, LIMITS), s);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'latency-regression',
      layer: 'api',
      service: SERVICE,
      subject: 'GET /api/products/:id',
      severity: 'warning',
      title: 'GET /api/products/:id got slower: p95 150 ms, up from 60 ms (+150 %) at 4 req/s',
    });
    expect(finding?.impact).toBeCloseTo(4 * 0.09);
    expect(finding?.evidence.values).toMatchObject({ p95_s: 0.15, baseline_p95_s: 0.06 });
    expect(finding?.recommendations[0]?.artifact).toContain('duration > 60ms');
  });

  it('is information when the route is less than twice as slow as before', () => {
    const s = snapshot({ routes: [route({ p95Seconds: 0.16, baselineP95Seconds: 0.1 })] });

    expect(detect(s, LIMITS)[0]?.severity).toBe('info');
  });

  it('stays quiet under +20 % or under +50 ms', () => {
    const s = snapshot({
      routes: [
        // Just under +20 %, though well over +50 ms.
        route({ route: '/ratio', p95Seconds: 0.4 * REGRESSION_RATIO - 0.001, baselineP95Seconds: 0.4 }),
        // Just under +50 ms, though +49 %.
        route({
          route: '/increase',
          p95Seconds: 0.1 + REGRESSION_MIN_INCREASE_S - 0.001,
          baselineP95Seconds: 0.1,
        }),
        // +100 % but only +10 ms: a fast route's jitter.
        route({ route: '/fast', p95Seconds: 0.02, baselineP95Seconds: 0.01 }),
      ],
    });
    // A higher objective keeps the 0.48 s route within it, so only the regression rule decides.
    const lenient = { ...LIMITS, slowEndpoint: { ...LIMITS.slowEndpoint, p95Seconds: 1 } };

    expect(detect(s, lenient)).toEqual([]);
  });

  it('leaves a route over its objective to the slow-endpoint detector', () => {
    const s = snapshot({ routes: [route({ p95Seconds: 0.3, baselineP95Seconds: 0.05 })] });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('stays quiet with too little traffic now or in the baseline', () => {
    const thin = LIMITS.slowEndpoint.minRequestRatePerS / 2;
    const s = snapshot({
      routes: [
        route({ route: '/now', p95Seconds: 0.15, baselineP95Seconds: 0.02, requestRate: thin }),
        route({ route: '/before', p95Seconds: 0.15, baselineP95Seconds: 0.02, baselineRequestRate: thin }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('skips routes without a baseline, and judges one with unknown baseline traffic', () => {
    const s = bare({
      routes: [
        route({ route: '/new', p95Seconds: 0.15, baselineP95Seconds: null, baselineRequestRate: null }),
        route({ route: '/known', p95Seconds: 0.15, baselineP95Seconds: 0.02, baselineRequestRate: null }),
      ],
    });

    const findings = finished(detect(s, LIMITS), s);

    expect(findings.map((f) => f.subject)).toEqual(['GET /known']);
    expect(findings[0]?.evidence.queries).toEqual([]);
  });
});
