import { describe, expect, it } from 'vitest';
import type { FindingKind } from '../types.ts';
import { DETECTORS, detectAll, needsOf } from './index.ts';
import { finished, LIMITS, pool, route, runtime, SERVICE, snapshot, statement } from './testdata.ts';

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
  'n-plus-one',
  'parallelizable-queries',
  'web-vital',
  'heavy-asset',
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

  it('runs trace detectors only on a snapshot that holds traces, as their `needs` say', () => {
    expect(needsOf('n-plus-one')).toEqual(['traces']);
    expect(needsOf('slow-statement')).toEqual(['statements']);
    expect(needsOf('slow-endpoint')).toEqual(['prometheus']);
    // Detectors of every need are listed; a snapshot without traces simply has no trace findings.
    expect(detectAll(snapshot({ routes: [route()] }), LIMITS)).toEqual([]);
  });

  it('returns every finding, each with at least one recommendation once finished', () => {
    const s = snapshot({
      routes: [
        route({ route: '/slow', p95Seconds: 0.5 }),
        route({ method: 'POST', route: '/api/orders', errorRate: 1.2 }),
        route({ route: '/regressed', p95Seconds: 0.15, baselineP95Seconds: 0.05 }),
      ],
      runtime: [runtime({ heapGrowthBytesPerHour: 150e6, cpuCores: 0.95, gcSecondsPerSecond: 0.15 })],
      pools: [pool({ pendingAvg: 0.8 })],
      statements: [statement({ meanMs: 130 })],
      pages: [
        {
          service: SERVICE,
          page: '/',
          viewsPerS: 1,
          p75: { lcp: 3.1, inp: 0.1, cls: 0.01, fcp: 1, ttfb: 0.2, page_load: 2 },
          ratePerS: { lcp: 1, inp: 1, cls: 1, fcp: 1, ttfb: 1, page_load: 1 },
          elements: {},
          lcpPhases: {},
        },
      ],
      assets: [
        {
          service: SERVICE,
          page: '/',
          url: '/bundle.js',
          initiatorType: 'script',
          renderBlocking: 'non-blocking',
          loadsPerS: 1,
          encodedBytes: 900_000,
          decodedBytes: 900_000,
          durationSeconds: 1.2,
        },
        {
          service: SERVICE,
          page: '/',
          url: '/app.js',
          initiatorType: 'script',
          renderBlocking: 'non-blocking',
          loadsPerS: 1,
          encodedBytes: 9_000,
          decodedBytes: 30_000,
          durationSeconds: 0.05,
        },
      ],
    });

    const findings = finished(detectAll(s, LIMITS), s);

    expect(new Set(findings.map((f) => f.kind))).toEqual(
      new Set(
        ALL_KINDS.filter((k) => !['event-loop-lag', 'n-plus-one', 'parallelizable-queries'].includes(k)),
      ),
    );
    for (const f of findings) expect(f.recommendations.length).toBeGreaterThan(0);
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
});
