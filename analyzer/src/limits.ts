/**
 * Detector limits, derived from the SLO file and nothing else: the analyzer's detectors take these, in the
 * units they compute in (seconds, ratios, bytes), so no detector carries an SLO number of its own.
 */
import type { Objectives } from './slo.ts';

export interface DetectorLimits {
  readonly slowEndpoint: { readonly p95Seconds: number; readonly minRequestRatePerS: number };
  readonly errorRate: { readonly ratio: number; readonly minRequestRatePerS: number };
  readonly slowStatement: { readonly p95Seconds: number };
  readonly eventLoop: { readonly p99Seconds: number; readonly utilization: number };
  readonly memoryLeak: { readonly bytesPerHour: number };
  readonly cpu: { readonly cores: number };
  readonly gc: { readonly secondsPerSecond: number };
  readonly frontend: {
    readonly pageLoadP75Seconds: number;
    readonly lcpP75Seconds: number;
    readonly inpP75Seconds: number;
    readonly clsP75: number;
    readonly ttfbP75Seconds: number;
  };
}

export function limitsFor(o: Objectives): DetectorLimits {
  return Object.freeze({
    slowEndpoint: {
      p95Seconds: o.api.latency_p95_ms / 1000,
      minRequestRatePerS: o.api.min_request_rate_per_s,
    },
    errorRate: { ratio: o.api.error_rate_percent / 100, minRequestRatePerS: o.api.min_request_rate_per_s },
    slowStatement: { p95Seconds: o.database.query_p95_ms / 1000 },
    eventLoop: {
      p99Seconds: o.runtime.event_loop_p99_ms / 1000,
      utilization: o.runtime.event_loop_utilization,
    },
    memoryLeak: { bytesPerHour: o.runtime.heap_growth_mb_per_hour * 1e6 },
    cpu: { cores: o.runtime.cpu_utilization_percent / 100 },
    gc: { secondsPerSecond: o.runtime.gc_ms_per_s / 1000 },
    frontend: {
      pageLoadP75Seconds: o.frontend.page_load_p75_ms / 1000,
      lcpP75Seconds: o.frontend.lcp_p75_ms / 1000,
      inpP75Seconds: o.frontend.inp_p75_ms / 1000,
      clsP75: o.frontend.cls_p75,
      ttfbP75Seconds: o.frontend.ttfb_p75_ms / 1000,
    },
  });
}
