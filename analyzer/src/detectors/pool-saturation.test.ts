import { describe, expect, it } from 'vitest';
import { detect, PENDING_AVG, PENDING_MAX } from './pool-saturation.ts';
import { bare, finished, LIMITS, pool, route, SERVICE, snapshot } from './testdata.ts';

describe('pool-saturation detector', () => {
  it('reports a pool where requests wait for a connection, costed by the average queue (Little’s law)', () => {
    const s = snapshot({
      pools: [pool({ pendingAvg: 0.8, pendingMax: 4, usedMax: 10, max: 10 })],
      routes: [route({ route: '/api/products/:id/stock', p95Seconds: 0.45 }), route()],
    });

    const [finding, ...rest] = finished(detect(s, LIMITS), s);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'pool-saturation',
      layer: 'database',
      service: SERVICE,
      subject: 'shop-pg',
      severity: 'warning',
      impact: 0.8,
      title:
        'Requests of shop wait for a database connection: on average 0.8 waiting, up to 4, in pool shop-pg',
    });
    expect(finding?.summary).toContain('All 10 connections were in use');
    // No traces: no route is blamed (the slowest route may never touch the database).
    expect(finding?.recommendations[0]?.action).not.toContain('GET /api/products/:id/stock');
    expect(finding?.recommendations[0]?.artifact).toContain('pg_stat_activity');
    expect(finding?.evidence.queries).toEqual([s.queries['pools.pending']]);
  });

  it('fires on a peak of three waiting, and is critical when the queue is there most of the time too', () => {
    const s = snapshot({
      pools: [
        pool({ pool: 'peak', pendingAvg: 0.1, pendingMax: PENDING_MAX }),
        pool({ pool: 'spike', pendingAvg: 0.1, pendingMax: PENDING_MAX * 2 }),
        pool({ pool: 'queue', pendingAvg: PENDING_AVG * 2, pendingMax: 2 }),
        pool({ pool: 'both', pendingAvg: 0.6, pendingMax: 8 }),
      ],
    });

    expect(detect(s, LIMITS).map((f) => [f.subject, f.severity])).toEqual([
      ['peak', 'warning'],
      ['spike', 'warning'],
      ['queue', 'critical'],
      ['both', 'critical'],
    ]);
  });

  it('stays quiet at the anchors and below them', () => {
    const s = snapshot({
      pools: [
        pool({ pool: 'at', pendingAvg: PENDING_AVG, pendingMax: PENDING_MAX - 1 }),
        pool({ pool: 'idle' }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('handles an unknown pool size, NaN waits and a snapshot without queries', () => {
    const s = bare({
      pools: [
        pool({ pool: 'nan', pendingAvg: Number.NaN, pendingMax: Number.NaN }),
        pool({ pool: 'unsized', pendingAvg: 1.5, pendingMax: 5, max: null }),
      ],
    });

    const findings = finished(detect(s, LIMITS), s);

    expect(findings.map((f) => f.subject)).toEqual(['unsized']);
    expect(findings[0]?.evidence.values).not.toHaveProperty('pool_max');
    expect(findings[0]?.recommendations.length).toBeGreaterThan(0);
    expect(findings[0]?.evidence.queries).toEqual([]);
  });
});
