import { describe, expect, it } from 'vitest';
import { brokenThresholds, type LoadResult, quantile } from './load-driver.ts';

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
  ...overrides,
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
