import { describe, expect, it } from 'vitest';
import { collections, heapTrend } from './heap-trend.ts';

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
    expect(trend?.seconds).toBe(900);
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

  it('says nothing with too few points, and fits only the line with a few', () => {
    expect(
      heapTrend([
        [0, 1],
        [15, 2],
      ]),
    ).toBeNull();
    expect(
      heapTrend([
        [0, 10e6],
        [36, 11e6],
        [72, 12e6],
      ]),
    ).toEqual({ bytesPerHour: 100e6, model: 'linear', seconds: 72 });
  });

  it('judges what survived collection, not the heap in use between collections', () => {
    // Recorded with --trace-gc from the healthy bookshop (test/apps/bookshop) under 3 minutes of mixed traffic:
    // the heap after each mark-compact, sampled every 5 s. Between 46 s and 147 s V8 ran no major GC and the heap
    // in use climbed from 57 MB to 106 MB, which an envelope of heap-in-use reads as a leak of ~1 GB/h.
    const afterGc: [number, number][] = [
      [9, 48.8e6],
      [23, 52.3e6],
      [46, 57.1e6],
      [147, 56.6e6],
      [153, 53.7e6],
      [166, 53.8e6],
    ];
    const sampled = Array.from({ length: 36 }, (_, i): [number, number] => {
      const t = i * 5;
      const last = afterGc.filter(([at]) => at <= t).at(-1);
      return [t, last === undefined ? Number.NaN : last[1]];
    });
    const points = collections(sampled);
    expect(points.map(([, v]) => v)).toEqual(afterGc.map(([, v]) => v));
    // Under the default 100 MB/h objective (the last points fell: the trend at the end is shrinking).
    expect(heapTrend(points)?.bytesPerHour).toBeLessThan(100e6);
  });
});
