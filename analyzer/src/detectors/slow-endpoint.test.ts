import { describe, expect, it } from 'vitest';
import { findingId } from '../findings.ts';
import { detect } from './slow-endpoint.ts';
import { bare, finished, LIMITS, route, SERVICE, snapshot } from './testdata.ts';

const RECOMMENDATIONS = { method: 'GET', route: '/api/products/:id/recommendations' };

describe('slow-endpoint detector', () => {
  it('reports a route whose p95 is over the objective, with the user time it loses per second', () => {
    const s = snapshot({ routes: [route({ ...RECOMMENDATIONS, p95Seconds: 0.3, requestRate: 3.1 })] });

    const [finding, ...rest] = finished(detect(s, LIMITS), s);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      id: findingId('slow-endpoint', SERVICE, 'GET /api/products/:id/recommendations'),
      kind: 'slow-endpoint',
      layer: 'api',
      service: SERVICE,
      subject: 'GET /api/products/:id/recommendations',
      severity: 'warning',
      title: 'GET /api/products/:id/recommendations is slow: p95 300 ms vs the 200 ms objective at 3.1 req/s',
    });
    expect(finding?.impact).toBeCloseTo(3.1 * 0.1);
    expect(finding?.evidence.values).toMatchObject({ p95_s: 0.3, limit_p95_s: 0.2, rate_per_s: 3.1 });
    expect(finding?.evidence.queries.map((q) => q.text)).toContain(s.queries['routes.p95']?.text);
    expect(finding?.recommendations.length).toBeGreaterThan(0);
    expect(finding?.recommendations[0]?.artifact).toContain(
      'span.http.route = "/api/products/:id/recommendations"',
    );
  });

  it('is critical at twice the objective', () => {
    const s = snapshot({ routes: [route({ p95Seconds: LIMITS.slowEndpoint.p95Seconds * 2 })] });

    expect(detect(s, LIMITS)[0]?.severity).toBe('critical');
  });

  it('stays quiet at the objective and below it', () => {
    const s = snapshot({
      routes: [
        route({ route: '/a', p95Seconds: LIMITS.slowEndpoint.p95Seconds }),
        route({ route: '/b', p95Seconds: 0.05 }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('stays quiet for a slow route with too little traffic to judge', () => {
    const s = snapshot({
      routes: [
        route({ p95Seconds: 2, requestRate: LIMITS.slowEndpoint.minRequestRatePerS / 2 }),
        route({ route: '/idle', p95Seconds: 2, requestRate: 0 }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('skips routes without a p95 or with NaN, and works without evidence queries', () => {
    const s = bare({
      routes: [
        route({ route: '/none', p95Seconds: null, p99Seconds: null, baselineP95Seconds: null }),
        route({ route: '/nan', p95Seconds: Number.NaN }),
        route({ route: '/slow', p95Seconds: 0.5, p99Seconds: null, baselineP95Seconds: null }),
      ],
    });

    const findings = finished(detect(s, LIMITS), s);

    expect(findings.map((f) => f.subject)).toEqual(['GET /slow']);
    expect(findings[0]?.evidence.queries).toEqual([]);
    expect(findings[0]?.evidence.values).not.toHaveProperty('p99_s');
  });

  it('names the baseline p95 in the summary when it is known', () => {
    const s = snapshot({ routes: [route({ p95Seconds: 0.3, baselineP95Seconds: 0.04 })] });

    expect(detect(s, LIMITS)[0]?.summary).toContain('its p95 was 40 ms');
  });

  it('returns nothing for an empty snapshot', () => {
    expect(detect(snapshot(), LIMITS)).toEqual([]);
  });
});
