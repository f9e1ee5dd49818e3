/**
 * Detector limits, in the units the detectors compute in (seconds, ratios, bytes), so no detector carries a
 * number of its own: the objectives come from the SLO file, the pattern limits from the anchors cited below.
 */
import type { Objectives } from './slo.ts';

export interface DetectorLimits {
  readonly slowEndpoint: { readonly p95Seconds: number; readonly minRequestRatePerS: number };
  readonly errorRate: { readonly ratio: number; readonly minRequestRatePerS: number };
  readonly slowStatement: { readonly p95Seconds: number };
  /** The database advisor: the tail of database time it neither plans nor reports on (a share, 0–1). */
  readonly advisor: { readonly minShare: number };
  readonly eventLoop: { readonly delaySeconds: number; readonly utilization: number };
  readonly memoryLeak: { readonly bytesPerHour: number };
  readonly cpu: { readonly cores: number };
  readonly gc: { readonly secondsPerSecond: number };
  /** Sentry's N+1 DB detector: ≥ 5 spans of one statement under one parent, ≥ 50 ms together. */
  readonly nPlusOne: { readonly minRepeats: number; readonly minTotalMs: number };
  /**
   * Sentry's consecutive-DB detector: ≥ 100 ms and ≥ 10 % of the request saved by running concurrently. The gap
   * allowed between two calls of a run is ours: 20 ms, because a busy event loop alone delays the next call by
   * several ms, while code that uses one result for the next call shows a larger gap or a span of its own.
   */
  readonly parallelizable: {
    readonly minSavedMs: number;
    readonly minSavedRatio: number;
    readonly maxGapMs: number;
  };
  /**
   * A trace pattern counts only when it is systematic (DESIGN.md §5): in at least 2 traces and at least 20 % of
   * the route's sampled traces. One trace can be an outlier, or spans of another request attached to it.
   */
  readonly systematic: { readonly minTraces: number; readonly minShare: number };
  readonly frontend: {
    readonly pageLoadP75Seconds: number;
    readonly lcpP75Seconds: number;
    readonly inpP75Seconds: number;
    readonly clsP75: number;
    readonly ttfbP75Seconds: number;
    readonly fcpP75Seconds: number;
    /** A page too quiet to judge: fewer views per second than a route needs (slo.yaml `min_request_rate_per_s`). */
    readonly minViewsPerS: number;
    /**
     * Each vital's "poor" line (web-vitals' `LCPThresholds`, `INPThresholds`, … second values): p75 past it is
     * critical. The page load has none: twice its objective, as the API's critical line.
     */
    readonly poor: {
      readonly lcpSeconds: number;
      readonly inpSeconds: number;
      readonly cls: number;
      readonly fcpSeconds: number;
      readonly ttfbSeconds: number;
    };
    /**
     * Sentry's Large Render Blocking Asset detector (`performance.issues.render_blocking_assets.*` defaults): a
     * script or stylesheet of at least 500 000 bytes, not non-blocking, on a page whose FCP is at least 2 s,
     * fetched for more than a third of the FCP. Sentry also skips an event whose FCP is 10 s or more, as a
     * measurement gone wrong; Hotpath judges the p75 of many views, which one such view cannot move, so it keeps
     * the slowest pages rather than dropping them.
     */
    readonly renderBlocking: {
      readonly minBytes: number;
      readonly fcpMinSeconds: number;
      readonly fcpRatio: number;
    };
    /**
     * Sentry's Uncompressed Asset detector (`performance.issues.uncompressed_asset.*`): a `.js`, `.css` or
     * `.json` of at least 500 KiB whose encoded size is its decoded size, fetched for more than 300 ms, on a page
     * where another asset did arrive compressed (so the browser asked for compression).
     */
    readonly uncompressed: {
      readonly minBytes: number;
      readonly minSeconds: number;
      readonly extensions: readonly string[];
    };
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
    advisor: { minShare: o.database.advice_min_share_percent / 100 },
    eventLoop: {
      delaySeconds: o.runtime.event_loop_p99_ms / 1000,
      utilization: o.runtime.event_loop_utilization,
    },
    memoryLeak: { bytesPerHour: o.runtime.heap_growth_mb_per_hour * 1e6 },
    cpu: { cores: o.runtime.cpu_utilization_percent / 100 },
    gc: { secondsPerSecond: o.runtime.gc_ms_per_s / 1000 },
    nPlusOne: { minRepeats: 5, minTotalMs: 50 },
    parallelizable: { minSavedMs: 100, minSavedRatio: 0.1, maxGapMs: 20 },
    systematic: { minTraces: 2, minShare: 0.2 },
    frontend: {
      pageLoadP75Seconds: o.frontend.page_load_p75_ms / 1000,
      lcpP75Seconds: o.frontend.lcp_p75_ms / 1000,
      inpP75Seconds: o.frontend.inp_p75_ms / 1000,
      clsP75: o.frontend.cls_p75,
      ttfbP75Seconds: o.frontend.ttfb_p75_ms / 1000,
      fcpP75Seconds: o.frontend.fcp_p75_ms / 1000,
      minViewsPerS: o.api.min_request_rate_per_s,
      poor: { lcpSeconds: 4, inpSeconds: 0.5, cls: 0.25, fcpSeconds: 3, ttfbSeconds: 1.8 },
      renderBlocking: { minBytes: 500_000, fcpMinSeconds: 2, fcpRatio: 0.33 },
      uncompressed: { minBytes: 500 * 1024, minSeconds: 0.3, extensions: ['js', 'css', 'json'] },
    },
  });
}
