import { describe, expect, it } from 'vitest';
import { detect, MIN_FAILED_REQUESTS } from './error-rate.ts';
import { bare, finished, LIMITS, route, SERVICE, snapshot } from './testdata.ts';

const CHECKOUT = { method: 'POST', route: '/api/orders' };

describe('error-rate detector', () => {
  it('reports a route whose 5xx ratio is over the objective, with the burn rate', () => {
    const s = snapshot({
      routes: [route({ ...CHECKOUT, requestRate: 2, errorRate: 0.04, p95Seconds: 0.3 })],
    });

    const [finding, ...rest] = finished(detect(s, LIMITS), s);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'error-rate',
      layer: 'api',
      service: SERVICE,
      subject: 'POST /api/orders',
      severity: 'warning',
      title: 'POST /api/orders fails 2 % of requests (5xx) vs the 1 % objective at 2 req/s',
    });
    expect(finding?.evidence.values).toMatchObject({
      error_ratio: 0.02,
      burn_rate_x: 2,
      failed_requests: 36,
    });
    // Each failure costs at least what its user waited: the p95, here over the latency objective.
    expect(finding?.impact).toBeCloseTo(0.04 * 0.3);
    expect(finding?.recommendations[0]?.artifact).toContain('span.http.response.status_code >= 500');
    expect(finding?.evidence.queries.map((q) => q.text)).toContain(s.queries['routes.errors']?.text);
  });

  it('is critical at five times the objective, like the demo’s failing payment provider', () => {
    const s = snapshot({ routes: [route({ ...CHECKOUT, requestRate: 1, errorRate: 0.4 })] });

    const [finding] = finished(detect(s, LIMITS), s);

    expect(finding?.severity).toBe('critical');
    // p95 under the latency objective: each failure counts the objective itself.
    expect(finding?.impact).toBeCloseTo(0.4 * LIMITS.slowEndpoint.p95Seconds);
  });

  it('stays quiet at the objective and without errors', () => {
    const s = snapshot({
      routes: [
        route({ route: '/a', requestRate: 10, errorRate: 10 * LIMITS.errorRate.ratio }),
        route({ route: '/b', requestRate: 10, errorRate: 0 }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('stays quiet under the minimum traffic, and for a handful of failures in the window', () => {
    const thin = LIMITS.errorRate.minRequestRatePerS / 2;
    const s = snapshot({
      routes: [
        route({ route: '/thin', requestRate: thin, errorRate: thin }),
        route({ route: '/stray', requestRate: 0.1, errorRate: (MIN_FAILED_REQUESTS - 1) / 900 }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('handles a route without latency data and a snapshot without queries', () => {
    const s = bare({
      routes: [route({ requestRate: 1, errorRate: 0.5, p95Seconds: null, p99Seconds: null })],
    });

    const [finding] = finished(detect(s, LIMITS), s);

    expect(finding?.impact).toBeCloseTo(0.5 * LIMITS.slowEndpoint.p95Seconds);
    expect(finding?.evidence.values).not.toHaveProperty('p95_s');
    expect(finding?.evidence.queries).toEqual([]);
  });
});
