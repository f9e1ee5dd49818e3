import { describe, expect, it } from 'vitest';
import { heapTrend } from './heap-trend.ts';

/** A series every 15 s over 15 minutes, with deterministic ±1 MB noise. */
function series(f: (t: number) => number): [number, number][] {
  return Array.from({ length: 61 }, (_, i) => {
    const t = 1_700_000_000 + i * 15;
    return [t, f(i * 15) + (((i * 7919) % 11) - 5) * 200_000];
  });
}

describe('heapTrend', () => {
  it('reports a leak as the straight line it is', () => {
    // 100 MB/h: 27.8 kB/s.
    const trend = heapTrend(series((t) => 80e6 + (100e6 / 3600) * t));
    expect(trend?.model).toBe('linear');
    expect(trend?.bytesPerHour).toBeGreaterThan(90e6);
    expect(trend?.bytesPerHour).toBeLessThan(110e6);
  });

  it('reports a warm-up that levels off as almost no growth, although the window grew 60 MB', () => {
    const trend = heapTrend(series((t) => 80e6 + 60e6 * (1 - Math.exp(-t / 120))));
    expect(trend?.model).not.toBe('linear');
    // Far under the default 100 MB/h objective (the window slope alone would say 240 MB/h).
    expect(Math.abs(trend?.bytesPerHour ?? Number.NaN)).toBeLessThan(10e6);
  });

  it('still reports a leak that started after a warm-up', () => {
    const trend = heapTrend(series((t) => 80e6 + 30e6 * (1 - Math.exp(-t / 60)) + (200e6 / 3600) * t));
    expect(trend?.bytesPerHour).toBeGreaterThan(150e6);
  });

  it('says nothing with too few points', () => {
    expect(
      heapTrend([
        [0, 1],
        [15, 2],
      ]),
    ).toBeNull();
  });
});
