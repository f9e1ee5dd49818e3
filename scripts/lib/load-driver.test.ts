import { describe, expect, it } from 'vitest';
import {
  breakingPoint,
  brokenThresholds,
  type LoadResult,
  quantile,
  type StepResult,
} from './load-driver.ts';

const result = (overrides: Partial<LoadResult>): LoadResult => ({
  profile: 'load',
  target: 'http://localhost:3000',
  scale: 1,
  startedAt: new Date(0),
  endedAt: new Date(60_000),
  requests: 1000,
  unexpected: 0,
  errors: 0,
  latencyMs: { p50: 5, p95: 40, p99: 90, max: 200 },
  byRequest: [],
  steps: [],
  ...overrides,
});
const step = (index: number, users: number, requests: number, failed: number, p95Ms: number): StepResult => ({
  index,
  users,
  startedAt: new Date(index * 10_000),
  endedAt: new Date((index + 1) * 10_000),
  requests,
  failed,
  p95Ms,
});
const slo = { service: 'x', api: { latency_p95_ms: 200, error_rate_percent: 1 } };

describe('the local driver’s verdict', () => {
  it('breaks the thresholds k6 would: p95 not under the objective, the failed share not under it', () => {
    expect(brokenThresholds(result({}), slo)).toEqual([]);
    expect(brokenThresholds(result({ latencyMs: { p50: 5, p95: 200, p99: 300, max: 400 } }), slo)).toEqual([
      'p95 200 ms is not under the 200 ms objective',
    ]);
    // 9 unexpected statuses and 2 requests without an answer, of 1 002 sent: 1.10 % (8 and 2 would be 0.998 %).
    expect(brokenThresholds(result({ requests: 1000, unexpected: 8, errors: 2 }), slo)).toEqual([]);
    expect(brokenThresholds(result({ requests: 1000, unexpected: 9, errors: 2 }), slo)).toEqual([
      '1.10 % of requests failed, not under the 1 % objective',
    ]);
  });

  it('finds a stress run’s breaking point: the first step over an objective, with its arrival rate', () => {
    const held = [step(0, 10, 800, 0, 40), step(1, 20, 1600, 0, 120)];
    expect(breakingPoint(result({ steps: held }), slo)).toBeNull();
    const slow = breakingPoint(
      result({ steps: [...held, step(2, 40, 3000, 0, 250), step(3, 80, 3000, 90, 900)] }),
      slo,
    );
    expect(slow).toMatchObject({ step: { index: 2, users: 40 }, ratePerSecond: 300 });
    expect(slow?.reason).toBe('p95 250 ms is not under the 200 ms objective');
    // Failing fast breaks it too: 20 of 1 000 answers were not a healthy shop's.
    const failing = breakingPoint(result({ steps: [step(0, 0, 0, 0, 0), step(1, 30, 1000, 20, 50)] }), slo);
    expect(failing?.step.index).toBe(1);
    expect(failing?.reason).toBe('2.00 % of requests failed, not under the 1 % objective');
  });

  it('takes quantiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([
      quantile(values, 0.5),
      quantile(values, 0.95),
      quantile(values, 0.99),
      quantile([], 0.5),
    ]).toEqual([50, 95, 99, 0]);
  });
});
