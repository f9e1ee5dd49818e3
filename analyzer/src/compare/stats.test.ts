import { describe, expect, it } from 'vitest';
import {
  bucketQuantile,
  holm,
  mannWhitney,
  meanIncrease,
  normalSf,
  proportionIncrease,
  rateChange,
} from './stats.ts';

// Reference values from scipy 1.17.1 (`scipy.stats.norm.sf`, `mannwhitneyu(candidate, baseline,
// alternative='greater', method='asymptotic', use_continuity=True)` on the buckets expanded to one value each).
describe('the tests compare decides with', () => {
  it('normalSf matches scipy to 1e-7', () => {
    for (const [z, p] of [
      [0, 0.5],
      [1, 0.15865525393145707],
      [2.5, 0.006209665325776132],
      [5, 2.866515718791933e-7],
      [-1.5, 0.9331927987311419],
    ] as const)
      expect(Math.abs(normalSf(z) - p)).toBeLessThan(1e-7 * Math.max(1, p) + 1e-12);
  });

  it('mannWhitney on bucket counts is scipy’s asymptotic test with ties and continuity correction', () => {
    const slower = mannWhitney([10, 20, 5, 0], [2, 10, 15, 8]);
    expect(slower.u).toBe(977.5);
    expect(slower.p).toBeCloseTo(2.890729390083983e-6, 9);
    expect(slower.a).toBeCloseTo(0.7979591836734694, 12);
    const faster = mannWhitney([2, 10, 15, 8], [10, 20, 5, 0]);
    expect(faster.u).toBe(247.5);
    expect(faster.p).toBeCloseTo(0.9999972748994791, 9);
    const same = mannWhitney([10, 20, 5, 0], [10, 20, 5, 0]);
    expect(same.a).toBe(0.5);
    expect(same.p).toBeCloseTo(0.5026405303348306, 9);
  });

  it('mannWhitney’s U counts the pairs where the candidate is slower, ties half, on any buckets', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 50; trial++) {
      const k = 2 + Math.floor(next() * 8);
      const base = Array.from({ length: k }, () => Math.floor(next() * 6));
      const cand = Array.from({ length: k }, () => Math.floor(next() * 6));
      let pairs = 0;
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++) {
          const n = (cand[i] ?? 0) * (base[j] ?? 0);
          pairs += i > j ? n : i === j ? n / 2 : 0;
        }
      expect(mannWhitney(base, cand).u).toBe(pairs);
    }
  });

  it('proportionIncrease is the pooled z test with Cohen’s h', () => {
    const r = proportionIncrease(30, 1000, 50, 1000);
    expect(r.z).toBeCloseTo(2.2821773229381925, 9);
    expect(r.p).toBeCloseTo(0.011239436683062624, 8);
    expect(r.h).toBeCloseTo(0.10286079052330155, 12);
    expect(proportionIncrease(50, 1000, 30, 1000).p).toBeGreaterThan(0.98);
    expect(proportionIncrease(0, 100, 0, 100)).toMatchObject({ p: 1, h: 0 });
  });

  it('rateChange: a throughput that halved is lower, equal rates are not', () => {
    const halved = rateChange(6000, 60, 3000, 60, 'lower');
    expect(halved.ratio).toBe(0.5);
    expect(halved.p).toBeLessThan(1e-12);
    expect(halved.h).toBeGreaterThan(0.2);
    const equal = rateChange(6000, 60, 3000, 30, 'lower');
    expect(equal.ratio).toBe(1);
    expect(equal.p).toBeGreaterThan(0.4);
    expect(Math.abs(equal.h)).toBeLessThan(1e-9);
    // Calls per request that doubled are higher.
    expect(rateChange(1000, 1000, 2000, 1000, 'higher')).toMatchObject({ ratio: 2 });
    expect(rateChange(1000, 1000, 2000, 1000, 'higher').p).toBeLessThan(1e-12);
  });

  it('meanIncrease: Welch’s z and Cohen’s d', () => {
    const r = meanIncrease({ n: 400, mean: 2, sd: 1 }, { n: 400, mean: 40, sd: 10 });
    expect(r.z).toBeCloseTo(38 / Math.sqrt(1 / 400 + 100 / 400), 9);
    expect(r.p).toBeLessThan(1e-12);
    expect(r.d).toBeCloseTo(38 / Math.sqrt(50.5), 9);
    expect(meanIncrease({ n: 400, mean: 2, sd: 1 }, { n: 400, mean: 2, sd: 1 }).p).toBeCloseTo(0.5, 6);
  });

  it('holm rejects from the smallest p while p < α / (m − k)', () => {
    // m = 4, α = 0.05: 0.01 < 0.0125, 0.015 < 0.0167, 0.03 ≥ 0.025 stops.
    expect(holm([0.03, 0.01, 0.2, 0.015], 0.05)).toEqual([false, true, false, true]);
    expect(holm([], 0.05)).toEqual([]);
  });

  it('bucketQuantile interpolates as histogram_quantile does', () => {
    const bounds = [0.005, 0.01, 0.025, Number.POSITIVE_INFINITY];
    expect(bucketQuantile(0.5, bounds, [50, 50, 0, 0])).toBeCloseTo(0.005, 12);
    expect(bucketQuantile(0.75, bounds, [50, 50, 0, 0])).toBeCloseTo(0.0075, 12);
    expect(bucketQuantile(0.95, bounds, [0, 0, 0, 10])).toBe(0.025);
    expect(bucketQuantile(0.95, bounds, [0, 0, 0, 0])).toBeNull();
  });
});
