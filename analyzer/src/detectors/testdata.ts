/**
 * Hand-built snapshots for the detector tests: healthy defaults that tests override one field at a time, and the
 * limits of the default objectives written out here, so a change to slo.yaml does not move these tests.
 */

import type { Draft } from '../facts.ts';
import { limitsFor } from '../limits.ts';
import { withRecommendations } from '../recommend.ts';
import type { Objectives } from '../slo.ts';
import type { Finding, PoolStats, RouteStats, RuntimeStats, Snapshot, StatementStats } from '../types.ts';

export const OBJECTIVES: Objectives = {
  api: { latency_p95_ms: 200, error_rate_percent: 1, min_request_rate_per_s: 0.05 },
  database: { query_p95_ms: 100, advice_min_share_percent: 5 },
  frontend: {
    page_load_p75_ms: 3000,
    lcp_p75_ms: 2500,
    inp_p75_ms: 200,
    cls_p75: 0.1,
    ttfb_p75_ms: 800,
    fcp_p75_ms: 1800,
  },
  runtime: {
    event_loop_p99_ms: 100,
    event_loop_utilization: 0.95,
    heap_growth_mb_per_hour: 100,
    cpu_utilization_percent: 90,
    gc_ms_per_s: 100,
  },
};

export const LIMITS = limitsFor(OBJECTIVES);

export const SERVICE = 'shop';
export const INSTANCE = 'shop-1:9464';

export function route(overrides: Partial<RouteStats> = {}): RouteStats {
  return {
    service: SERVICE,
    method: 'GET',
    route: '/api/products/:id',
    requestRate: 3,
    errorRate: 0,
    p95Seconds: 0.02,
    p99Seconds: 0.04,
    baselineP95Seconds: 0.02,
    baselineRequestRate: 3,
    ...overrides,
  };
}

export function runtime(overrides: Partial<RuntimeStats> = {}): RuntimeStats {
  return {
    service: SERVICE,
    instance: INSTANCE,
    eventLoopDelaySeconds: 0.02,
    eventLoopP99Seconds: 0.012,
    eventLoopUtilization: 0.2,
    heapUsedBytes: 80e6,
    heapLimitBytes: 4_345_298_944,
    heapGrowthBytesPerHour: 1e6,
    heapTrendSeconds: null,
    eventLoopP99MaxSeconds: 0.02,
    processAgeSeconds: 3600,
    majorGcs: 12,
    cpuCores: 0.2,
    gcSecondsPerSecond: 0.005,
    ...overrides,
  };
}

export function pool(overrides: Partial<PoolStats> = {}): PoolStats {
  return {
    service: SERVICE,
    pool: 'shop-pg',
    pendingMax: 0,
    pendingAvg: 0,
    usedMax: 2,
    max: 10,
    ...overrides,
  };
}

export const CUSTOMER_ORDERS_SQL =
  'SELECT o.id, o.created_at, o.quantity, p.name FROM orders o JOIN products p ON p.id = o.product_id ' +
  'WHERE o.customer_id = $1 ORDER BY o.created_at DESC LIMIT $2';

export function statement(overrides: Partial<StatementStats> = {}): StatementStats {
  return {
    fingerprint: 'a1b2c3d4e5f60708',
    query: CUSTOMER_ORDERS_SQL,
    database: 'shop',
    service: SERVICE,
    calls: 2_700,
    meanMs: 0.4,
    stddevMs: 0.1,
    totalMs: 1_080,
    rowsPerCall: 20,
    callsPerSecond: 3,
    scope: 'window',
    ...overrides,
  };
}

export function snapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    at: new Date('2025-01-01T12:00:00Z'),
    window: '15m',
    windowSeconds: 900,
    routes: [],
    runtime: [],
    pools: [],
    statements: [],
    queries: {
      'routes.rate': {
        language: 'promql',
        text: 'sum by (job, http_route, http_request_method) (rate(x[15m]))',
      },
      'routes.errors': { language: 'promql', text: 'sum by (job) (rate(x{code=~"5.."}[15m]))' },
      'routes.p95': { language: 'promql', text: 'histogram_quantile(0.95, …)' },
      'routes.baselineP95': { language: 'promql', text: 'histogram_quantile(0.95, … offset 15m)' },
      'runtime.eventLoopDelay': {
        language: 'promql',
        text: 'max by (job, instance) (quantile_over_time(0.5, nodejs_eventloop_delay_max_seconds[15m:30s]))',
      },
      'runtime.eventLoopP99': {
        language: 'promql',
        text: 'max by (job, instance) (nodejs_eventloop_delay_p99_seconds)',
      },
      'runtime.heapGrowth': { language: 'promql', text: 'deriv(…) * 3600' },
      'runtime.cpu': {
        language: 'promql',
        text: 'sum by (job, instance) (rate(process_cpu_time_seconds_total[15m]))',
      },
      'runtime.gc': {
        language: 'promql',
        text: 'sum by (job, instance) (rate(v8js_gc_duration_seconds_sum[15m]))',
      },
      'pools.pending': {
        language: 'promql',
        text: 'max by (job, pool) (db_client_connection_pending_requests)',
      },
      statements: { language: 'sql', text: 'SELECT … FROM pg_stat_statements' },
    },
    ...overrides,
  };
}

/** The same snapshot with no evidence queries at all: detectors must not depend on them. */
export function bare(overrides: Partial<Snapshot> = {}): Snapshot {
  return snapshot({ queries: {}, ...overrides });
}

/** Drafts as the pipeline finishes them, with their recommendations, for tests of what a detector's facts say. */
export function finished(drafts: readonly Draft[], snapshot: Snapshot): Finding[] {
  return drafts.map((d) => withRecommendations(d, snapshot));
}
