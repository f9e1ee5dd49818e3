import { describe, expect, it } from 'vitest';
import type { FindingKind } from '../types.ts';
import { DETECTORS, detectAll } from './index.ts';
import { LIMITS, pool, route, runtime, snapshot, statement } from './testdata.ts';

const ALL_KINDS: readonly FindingKind[] = [
  'slow-endpoint',
  'error-rate',
  'latency-regression',
  'event-loop-lag',
  'memory-leak',
  'cpu-saturation',
  'gc-pressure',
  'slow-statement',
  'pool-saturation',
];

describe('detectAll', () => {
  it('has a detector for every kind of finding', () => {
    expect(new Set(DETECTORS.flatMap((d) => d.kinds))).toEqual(new Set(ALL_KINDS));
  });

  it('reports nothing for a healthy shop', () => {
    const s = snapshot({
      routes: [route(), route({ method: 'POST', route: '/api/orders', p95Seconds: 0.06 })],
      runtime: [runtime()],
      pools: [pool()],
      statements: [statement()],
    });

    expect(detectAll(s, LIMITS)).toEqual([]);
  });

  it('returns every finding ranked, each with at least one recommendation', () => {
    const s = snapshot({
      routes: [
        route({ route: '/slow', p95Seconds: 0.5 }),
        route({ method: 'POST', route: '/api/orders', errorRate: 1.2 }),
        route({ route: '/regressed', p95Seconds: 0.15, baselineP95Seconds: 0.05 }),
      ],
      runtime: [runtime({ heapGrowthBytesPerHour: 150e6, cpuCores: 0.95, gcSecondsPerSecond: 0.15 })],
      pools: [pool({ pendingAvg: 0.8 })],
      statements: [statement({ meanMs: 130 })],
    });

    const findings = detectAll(s, LIMITS);

    expect(new Set(findings.map((f) => f.kind))).toEqual(
      new Set(ALL_KINDS.filter((k) => k !== 'event-loop-lag')),
    );
    expect(findings[0]?.severity).toBe('critical');
    for (const f of findings) expect(f.recommendations.length).toBeGreaterThan(0);
    const order = findings.map((f) => f.severity);
    expect(
      [...order].sort(
        (a, b) => ['critical', 'warning', 'info'].indexOf(a) - ['critical', 'warning', 'info'].indexOf(b),
      ),
    ).toEqual(order);
  });

  it('applies each service its own limits when given a function', () => {
    const s = snapshot({
      routes: [
        route({ service: 'shop', p95Seconds: 0.5 }),
        route({ service: 'hotpath-analyzer', p95Seconds: 0.5, baselineP95Seconds: 0.5 }),
      ],
    });
    const limitsOf = (service: string) =>
      service === 'hotpath-analyzer'
        ? { ...LIMITS, slowEndpoint: { ...LIMITS.slowEndpoint, p95Seconds: 1 } }
        : LIMITS;

    expect(detectAll(s, limitsOf).map((f) => f.service)).toEqual(['shop']);
  });

  it('reports the blocked event loop, not each route it slowed down', () => {
    const s = snapshot({
      runtime: [runtime({ eventLoopP99Seconds: 0.16 })],
      routes: [
        route({ route: '/a', p95Seconds: 0.17, baselineP95Seconds: 0.01 }),
        route({ route: '/b', p95Seconds: 0.16, baselineP95Seconds: 0.02 }),
        route({ service: 'other', route: '/c', p95Seconds: 0.16, baselineP95Seconds: 0.02 }),
      ],
    });

    expect(detectAll(s, LIMITS).map((f) => [f.kind, f.service])).toEqual([
      ['event-loop-lag', 'shop'],
      ['latency-regression', 'other'],
    ]);
  });
});
