import { describe, expect, it } from 'vitest';
import { detect } from './cpu-gc.ts';
import { bare, finished, INSTANCE, LIMITS, runtime, SERVICE, snapshot } from './testdata.ts';

describe('cpu-gc detector', () => {
  it('reports an instance over the CPU objective as cpu-saturation', () => {
    const s = snapshot({ runtime: [runtime({ cpuCores: 0.95 })] });

    const [finding, ...rest] = finished(detect(s, LIMITS), s);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'cpu-saturation',
      layer: 'runtime',
      service: SERVICE,
      subject: INSTANCE,
      severity: 'warning',
      title: `shop on ${INSTANCE} is CPU-bound: 95 % of a core vs the 90 % objective`,
    });
    expect(finding?.impact).toBeCloseTo(0.05);
    expect(finding?.recommendations[0]?.artifact).toContain('--cpu-prof');
  });

  it('calls a full core critical: JavaScript has no headroom left', () => {
    const s = snapshot({ runtime: [runtime({ cpuCores: 1.02 })] });

    expect(detect(s, LIMITS)[0]?.severity).toBe('critical');
  });

  it('reports GC pauses over the objective as gc-pressure, critical at twice it', () => {
    const s = snapshot({
      runtime: [
        runtime({ instance: 'a', gcSecondsPerSecond: 0.15 }),
        runtime({ instance: 'b', gcSecondsPerSecond: 0.2, heapUsedBytes: 1.9e9, heapLimitBytes: 2e9 }),
      ],
    });

    const findings = finished(detect(s, LIMITS), s);

    expect(findings.map((f) => [f.kind, f.subject, f.severity, f.impact])).toEqual([
      ['gc-pressure', 'a', 'warning', 0.15],
      ['gc-pressure', 'b', 'critical', 0.2],
    ]);
    expect(findings[1]?.recommendations.map((r) => r.artifact)).toContain(
      'NODE_OPTIONS=--max-old-space-size=3815',
    );
  });

  it('stays quiet at the objectives and below them', () => {
    const s = snapshot({
      runtime: [
        runtime({
          instance: 'a',
          cpuCores: LIMITS.cpu.cores,
          gcSecondsPerSecond: LIMITS.gc.secondsPerSecond,
        }),
        runtime({ instance: 'b' }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('handles missing CPU and GC signals', () => {
    const s = bare({
      runtime: [
        runtime({ instance: 'unknown', cpuCores: null, gcSecondsPerSecond: null }),
        runtime({ instance: 'busy', cpuCores: 0.99, gcSecondsPerSecond: null, heapUsedBytes: null }),
      ],
    });

    const findings = finished(detect(s, LIMITS), s);

    expect(findings.map((f) => [f.kind, f.subject])).toEqual([['cpu-saturation', 'busy']]);
    expect(findings[0]?.evidence.queries).toEqual([]);
  });
});
