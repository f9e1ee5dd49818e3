import { describe, expect, it } from 'vitest';
import { loadSlo, objectivesFor, parseSlo, SloError } from './slo.ts';

describe('SLO file', () => {
  it('holds the project SLOs: API p95 200 ms, DB p95 100 ms, page load 3 s, and the rest', () => {
    const slo = loadSlo();
    expect(slo.defaults.api.latency_p95_ms).toBe(200);
    expect(slo.defaults.database.query_p95_ms).toBe(100);
    expect(slo.defaults.frontend.page_load_p75_ms).toBe(3000);
    expect(slo.defaults.frontend.lcp_p75_ms).toBe(2500);
    expect(slo.defaults.frontend.inp_p75_ms).toBe(200);
    expect(slo.defaults.frontend.cls_p75).toBe(0.1);
    expect(slo.defaults.api.error_rate_percent).toBe(1);
    expect(slo.defaults.runtime.event_loop_p99_ms).toBe(100);
    expect(Object.isFrozen(slo.defaults.api)).toBe(true);
  });

  it('applies per-service overrides over the defaults', () => {
    const slo = parseSlo(`
defaults:
  api: { latency_p95_ms: 200, error_rate_percent: 1, min_request_rate_per_s: 0.1 }
  database: { query_p95_ms: 100 }
  frontend: { page_load_p75_ms: 3000, lcp_p75_ms: 2500, inp_p75_ms: 200, cls_p75: 0.1, ttfb_p75_ms: 800, fcp_p75_ms: 1800 }
  runtime: { event_loop_p99_ms: 100, event_loop_utilization: 0.95, heap_growth_mb_per_hour: 100, cpu_utilization_percent: 90, gc_ms_per_s: 100 }
error_budget:
  burn_rates: [{ severity: critical, long_window: 1h, short_window: 5m, factor: 14.4 }]
services:
  checkout: { api: { latency_p95_ms: 500 } }
`);
    expect(objectivesFor(slo, 'checkout').api).toEqual({
      latency_p95_ms: 500,
      error_rate_percent: 1,
      min_request_rate_per_s: 0.1,
    });
    expect(objectivesFor(slo, 'other').api.latency_p95_ms).toBe(200);
  });

  it('reports every problem with its path, at once', () => {
    let error: unknown;
    try {
      parseSlo(`
defaults:
  api: { latency_p95_ms: -5, error_rate_percent: 1 }
  database: { query_p95_ms: 100, typo: 1 }
error_budget: { burn_rates: [] }
`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SloError);
    const problems = (error as SloError).problems.join('\n');
    for (const path of [
      'defaults.api.latency_p95_ms',
      'defaults.api.min_request_rate_per_s',
      'defaults.database',
      'defaults.frontend',
      'defaults.runtime',
      'error_budget.burn_rates',
    ]) {
      expect(problems).toContain(path);
    }
  });

  it('says which file cannot be read or parsed', () => {
    expect(() => loadSlo('/nonexistent/slo.yaml')).toThrow(/\/nonexistent\/slo.yaml[\s\S]*cannot read/);
    expect(() => parseSlo('defaults: [unclosed', 'x.yaml')).toThrow(/x.yaml[\s\S]*not valid YAML/);
  });
});
