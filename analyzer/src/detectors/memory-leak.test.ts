import { describe, expect, it } from 'vitest';
import { detect, LEAK_IMPACT } from './memory-leak.ts';
import { bare, finished, INSTANCE, LIMITS, runtime, SERVICE, snapshot } from './testdata.ts';

describe('memory-leak detector', () => {
  it('reports an instance whose heap after GC grows faster than the objective, with time to exhaustion', () => {
    const s = snapshot({
      runtime: [runtime({ heapGrowthBytesPerHour: 150e6, heapUsedBytes: 500e6, heapLimitBytes: 2e9 })],
    });

    const [finding, ...rest] = finished(detect(s, LIMITS), s);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'memory-leak',
      layer: 'runtime',
      service: SERVICE,
      subject: INSTANCE,
      severity: 'warning',
      impact: LEAK_IMPACT,
      title: `shop on ${INSTANCE} is leaking memory: the heap after GC grows 150 MB/h vs the 100 MB/h objective`,
    });
    expect(finding?.evidence.values.hours_to_exhaustion_h).toBeCloseTo(10);
    expect(finding?.summary).toContain('in about 10 h');
    expect(finding?.recommendations[0]?.artifact).toContain('--heapsnapshot-signal');
  });

  it('does not judge growth over a window without major collections: it may be garbage not yet collected', () => {
    const grow = { heapGrowthBytesPerHour: 4e9, heapUsedBytes: 120e6 };
    const s = snapshot({
      runtime: [
        runtime({ instance: 'no-major-gc', ...grow, majorGcs: 0 }),
        runtime({ instance: 'one-major-gc', ...grow, majorGcs: 1 }),
        runtime({ instance: 'two-major-gcs', ...grow, majorGcs: 2 }),
        runtime({ instance: 'collected', ...grow, majorGcs: 3 }),
      ],
    });

    const found = finished(detect(s, LIMITS), s);

    expect(found.map((f) => f.subject)).toEqual(['collected']);
    expect(found[0]?.evidence.values.major_gcs).toBe(3);
  });

  it('says how the growth was measured, and when too few collections could not rule out a warm-up', () => {
    const grow = { heapGrowthBytesPerHour: 400e6, heapTrendSeconds: 240 };
    const s = snapshot({
      runtime: [
        runtime({ instance: 'few', ...grow, heapTrendModel: 'linear', heapTrendCollections: 4 }),
        runtime({
          instance: 'many',
          ...grow,
          heapTrendModel: 'warm-up then linear',
          heapTrendCollections: 9,
        }),
        runtime({ instance: 'slowing', ...grow, heapTrendModel: 'levelling', heapTrendCollections: 8 }),
      ],
    });

    const [few, many, slowing] = finished(detect(s, LIMITS), s);

    expect(few?.evidence.values).toMatchObject({
      heap_trend_model: 'linear',
      heap_trend_collections: 4,
      heap_trend_s: 240,
    });
    expect(few?.summary).toContain(
      'per hour: something may keep references it no longer needs. There were only 4 readings of the heap after a major collection over 240 s: too few to tell a warm-up',
    );
    expect(many?.summary).toContain(
      'as a warm-up does. Of the models fitted to 9 readings of the heap after a major collection over 240 s, a warm-up, then a straight line, fitted best.',
    );
    expect(slowing?.summary).toContain(
      'per hour: it is levelling off, but at the end of the window it still grows',
    );
    expect(slowing?.summary).not.toContain('did not level off');
  });

  it('is critical at twice the objective, or when the heap fills within the hour', () => {
    const s = snapshot({
      runtime: [
        runtime({ instance: 'fast', heapGrowthBytesPerHour: 250e6, heapLimitBytes: null }),
        runtime({
          instance: 'nearly-full',
          heapGrowthBytesPerHour: 120e6,
          heapUsedBytes: 1.9e9,
          heapLimitBytes: 2e9,
        }),
      ],
    });

    expect(detect(s, LIMITS).map((f) => [f.subject, f.severity])).toEqual([
      ['fast', 'critical'],
      ['nearly-full', 'critical'],
    ]);
  });

  it('stays quiet at the objective, below it, and for a shrinking heap', () => {
    const s = snapshot({
      runtime: [
        runtime({ instance: 'a', heapGrowthBytesPerHour: LIMITS.memoryLeak.bytesPerHour }),
        runtime({ instance: 'b', heapGrowthBytesPerHour: 5e6 }),
        runtime({ instance: 'c', heapGrowthBytesPerHour: -300e6 }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('handles an unknown slope, heap and limit', () => {
    const s = bare({
      runtime: [
        runtime({ instance: 'unknown', heapGrowthBytesPerHour: null }),
        runtime({
          instance: 'leaking',
          heapGrowthBytesPerHour: 180e6,
          heapUsedBytes: null,
          heapLimitBytes: null,
        }),
      ],
    });

    const findings = finished(detect(s, LIMITS), s);

    expect(findings.map((f) => f.subject)).toEqual(['leaking']);
    expect(findings[0]?.evidence.values).not.toHaveProperty('hours_to_exhaustion_h');
    expect(findings[0]?.evidence.queries).toEqual([]);
  });
});

describe('memory leak over a short window', () => {
  it('does not call a few MB of GC noise a leak, however steep its slope over one minute', () => {
    const findings = detect(
      snapshot({
        windowSeconds: 60,
        runtime: [runtime({ heapGrowthBytesPerHour: 237e6, heapUsedBytes: 40e6 })],
      }),
      LIMITS,
    );
    expect(findings).toEqual([]);
  });

  it('judges a process younger than the window on the minutes its heap was seen, not on the whole window', () => {
    // A 5-minute window over a process up for 3: 203 MB/h over its 3 minutes is 10 MB, within GC noise, though
    // over 5 minutes it would be 17 MB.
    const young = { heapGrowthBytesPerHour: 203e6, processAgeSeconds: 190 };
    const at = (heapTrendSeconds: number) =>
      detect(snapshot({ windowSeconds: 300, runtime: [runtime({ ...young, heapTrendSeconds })] }), LIMITS);
    expect(at(180)).toEqual([]);
    expect(at(300).map((f) => f.kind)).toEqual(['memory-leak']);
  });
});
