import { describe, expect, it } from 'vitest';
import { detect } from './event-loop-lag.ts';
import { bare, finished, INSTANCE, LIMITS, route, runtime, SERVICE, snapshot } from './testdata.ts';

describe('event-loop-lag detector', () => {
  it('reports an instance whose longest event-loop delay is over the objective in most intervals, costed by its request rate', () => {
    const s = snapshot({
      runtime: [runtime({ eventLoopP99Seconds: 0.16, eventLoopDelaySeconds: 0.16 })],
      routes: [
        route({ requestRate: 2 }),
        route({ method: 'POST', route: '/api/orders', requestRate: 1, p95Seconds: 0.31 }),
        route({ service: 'other', requestRate: 50 }),
      ],
    });

    const [finding, ...rest] = finished(detect(s, LIMITS), s);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'event-loop-lag',
      layer: 'runtime',
      service: SERVICE,
      subject: INSTANCE,
      severity: 'warning',
      title: `The event loop of shop on ${INSTANCE} is blocked: callbacks delayed 160 ms in most intervals vs the 100 ms objective`,
    });
    expect(finding?.impact).toBeCloseTo(3 * 0.16);
    expect(finding?.evidence.values).toMatchObject({ event_loop_delay_s: 0.16, instance_rate_per_s: 3 });
    // No traces: no route is blamed (the slowest route is often a victim, not the one holding the loop).
    expect(finding?.recommendations[0]?.action).toContain('Record a CPU profile');
    expect(finding?.recommendations[0]?.action).not.toContain('POST /api/orders');
    expect(finding?.recommendations[0]?.verify).toContain(s.queries['runtime.eventLoopDelay']?.text);
  });

  it('takes the longest delay for a block only when a request held the loop that long', () => {
    // One 150 ms block a second is one timer sample among ~80 ten-millisecond ticks: the interval's p99 stays
    // near 14 ms (measured under the root-cause test's traffic) while callbacks wait 150 ms. Without a request
    // that held the loop that long (no traces here), the long delay is the host's, not JavaScript's: measured
    // at 139 ms beside a browser, with a p99 of 11 ms.
    const unexplained = snapshot({
      runtime: [runtime({ eventLoopDelaySeconds: 0.14, eventLoopP99Seconds: 0.011 })],
    });
    expect(detect(unexplained, LIMITS)).toEqual([]);
    // The p99 over the objective is a block on its own; the longest delay is the figure reported.
    const blocked = snapshot({
      runtime: [runtime({ eventLoopDelaySeconds: 0.28, eventLoopP99Seconds: 0.16 })],
    });
    const [finding] = finished(detect(blocked, LIMITS), blocked);
    expect(finding?.title).toContain('callbacks delayed 280 ms in most intervals');
    expect(finding?.summary).toContain('The p99 delay was 160 ms.');
    expect(finding?.evidence.values).toMatchObject({
      blocked: 'true',
      event_loop_delay_s: 0.28,
      event_loop_p99_s: 0.16,
    });
    // With no delay series at all, the p99 still counts.
    const p99Only = snapshot({
      runtime: [runtime({ eventLoopDelaySeconds: null, eventLoopP99Seconds: 0.5 })],
    });
    expect(detect(p99Only, LIMITS)).toHaveLength(1);
  });

  it('is critical at twice the objective, and splits the service’s traffic over its instances', () => {
    const s = snapshot({
      runtime: [
        runtime({ eventLoopP99Seconds: 0.25, eventLoopDelaySeconds: 0.25 }),
        runtime({ instance: 'shop-2:9464' }),
      ],
      routes: [route({ requestRate: 4 })],
    });

    const [finding] = finished(detect(s, LIMITS), s);

    expect(finding?.severity).toBe('critical');
    expect(finding?.impact).toBeCloseTo(2 * 0.25);
  });

  it('reports a saturated loop by utilisation alone, as a warning', () => {
    const s = snapshot({ runtime: [runtime({ eventLoopDelaySeconds: null, eventLoopUtilization: 0.99 })] });

    const [finding] = finished(detect(s, LIMITS), s);

    expect(finding?.severity).toBe('warning');
    expect(finding?.title).toContain('saturated: utilisation 99 % vs the 95 % objective');
  });

  it('stays quiet at the objectives and below them', () => {
    const s = snapshot({
      runtime: [
        runtime({
          eventLoopDelaySeconds: LIMITS.eventLoop.delaySeconds,
          eventLoopUtilization: LIMITS.eventLoop.utilization,
        }),
        runtime({ instance: 'shop-2:9464' }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('handles missing signals, and uses a nominal one request per second without route data', () => {
    const s = bare({
      runtime: [
        runtime({ instance: 'quiet', eventLoopDelaySeconds: null, eventLoopUtilization: null }),
        runtime({ instance: 'nan', eventLoopDelaySeconds: Number.NaN, eventLoopUtilization: Number.NaN }),
        runtime({ instance: 'blocked', eventLoopP99Seconds: 0.5, eventLoopDelaySeconds: 0.5 }),
      ],
    });

    const findings = finished(detect(s, LIMITS), s);

    expect(findings.map((f) => f.subject)).toEqual(['blocked']);
    expect(findings[0]?.impact).toBeCloseTo(0.5);
    expect(findings[0]?.evidence.queries).toEqual([]);
    expect(findings[0]?.recommendations.length).toBeGreaterThan(0);
  });
});
