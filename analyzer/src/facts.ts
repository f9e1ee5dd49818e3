/**
 * What each detector establishes, typed per kind: the facts `correlate` joins on and `recommend` writes from.
 * Scalar facts double as the finding's `evidence.values` (the same snake_case keys, units in the key), so a
 * person reads exactly the numbers a recommendation was written from; lists and records stay typed here.
 */
import type { Finding, FindingKind } from './types.ts';

/** Where a route's time goes, from its traces (shares of the request's duration, averaged over requests). */
export interface RouteBreakdown {
  readonly route: string;
  readonly traces: number;
  readonly mean_ms: number;
  readonly db_share: number;
  /** Waiting for a pooled connection (connect/acquire spans): never the route's own code. */
  readonly pool_wait_share: number;
  readonly http_share: number;
  readonly own_share: number;
  /** Database time per request: what the route holds a connection for, at least. */
  readonly db_ms_mean: number;
  readonly pool_wait_ms_mean: number;
  readonly http_ms_mean: number;
  readonly own_ms_mean: number;
  /** From the first query's start to the last one's end: how long a checked-out connection is held. */
  readonly db_held_ms_mean: number;
  /**
   * Per connection pool the spans name (`db.client.connection.pool.name`; '' for spans that name none): the
   * connection held and the time waited for one, per request. Two pools on one database stay apart.
   */
  readonly pools: Readonly<Record<string, { readonly held_ms_mean: number; readonly wait_ms_mean: number }>>;
  /** The statement holding most of the route's time, when there is one. */
  readonly top_statement?: { readonly text: string; readonly fingerprint: string; readonly share: number };
  /** The outbound host holding most of the route's time, when there is one. */
  readonly top_host?: { readonly host: string; readonly share: number };
  readonly trace_ids: readonly string[];
}

/** One route an N+1 repeats in. */
export interface RepeatSite {
  readonly route: string;
  readonly count_per_request_median: number;
  readonly count_per_request_max: number;
  readonly total_ms_mean: number;
  readonly avoidable_ms_mean: number;
  readonly traces_affected: number;
  readonly traces_of_route: number;
  readonly rate_per_s: number;
  readonly parent_span: string;
}

/**
 * The code that held the main thread, from wall profiles (`profiles/hot.ts`): the frame its time is charged to
 * (the app's own, else a dependency's), what it called on the way down, and how much of the thread it held.
 */
export interface HotFunction {
  readonly function: string;
  /** `file:line` as the profiler saw it. */
  readonly location: string;
  readonly frame_kind: 'app' | 'dependency' | 'node' | 'native';
  /** The npm package, for a dependency's frame. */
  readonly package?: string;
  /** What it spent the time in below itself: a Node API (`zlib.*Sync`), a package, or a native frame. */
  readonly callee?: string;
  readonly callee_kind?: 'node-api' | 'dependency' | 'native';
  /** Its share of the profiled main-thread time (of the route's samples, for a route's profile). */
  readonly share: number;
  /** Main-thread milliseconds it held per second profiled. */
  readonly ms_per_s: number;
  /** Main-thread milliseconds it held over the stretch read. */
  readonly total_ms: number;
  readonly profiled_s: number;
  /** `embedded` or `pyroscope`. */
  readonly source: string;
  /** The route whose samples these are (span-labelled profiles); absent for the whole process. */
  readonly route?: string;
  /** The app's frames from the outermost down to this one, one `function (file:line)` per line. */
  readonly stack: string;
  /** The next frames, `function (file:line) share`, one per line ('' when none). */
  readonly others: string;
  /**
   * The app's and its dependencies' frames by total time (itself and what it called), `function (file:line)
   * share`, one per line, largest first: the route handler usually leads it.
   */
  readonly by_total: string;
}

/** An allocation site whose live heap grew over the window, from the first and last heap profile in it. */
export interface GrowingSite {
  readonly function: string;
  readonly location: string;
  readonly frame_kind: 'app' | 'dependency' | 'node' | 'native';
  readonly package?: string;
  /** What it allocated through: a Node API (`Buffer.alloc`), a package, or a native frame. */
  readonly allocates_in?: string;
  /** Live bytes it holds more at the end than at the start. */
  readonly grown_bytes: number;
  /** Live bytes it holds at the end. */
  readonly live_bytes: number;
  /** Its share of all growth. */
  readonly share: number;
  /** The app's frames from the outermost down to this one, one per line. */
  readonly stack: string;
}

/** The route whose server spans ran synchronously while the loop was held. */
export interface BlockingRoute {
  readonly route: string;
  /** Synchronous time per request with no child span running and no other span of the process moving. */
  readonly sync_ms_mean: number;
  readonly rate_per_s: number;
  /** This route's share of all such synchronous time of the process in the traces. */
  readonly share: number;
  readonly traces: number;
  readonly trace_ids: readonly string[];
}

/** A route that held pooled connections, by connection time per second. */
export interface PoolHolder {
  readonly route: string;
  readonly connection_s_per_s: number;
  readonly db_ms_mean: number;
  readonly share: number;
}

/** A route that waited for a pooled connection. */
export interface PoolWaiter {
  readonly route: string;
  readonly pool_wait_ms_mean: number;
  readonly pool_wait_share: number;
}

/** One statement an advised index serves, with the plan cost it had and has with the index in place. */
export interface ServedStatement {
  readonly fingerprint: string;
  readonly statement: string;
  readonly calls_per_s: number;
  readonly mean_ms: number;
  /** Database time per second the statement holds in the window. */
  readonly db_s_per_s: number;
  readonly cost_before: number;
  /** With the advised indexes in place (HypoPG); absent when not verified. */
  readonly cost_after?: number;
  /** What the plan without the index shows (sequential scans, sorts, …). */
  readonly plan_before: readonly string[];
  readonly routes: readonly string[];
}

type Scalar = number | string;

export interface FactsByKind {
  readonly 'slow-endpoint': {
    readonly route: string;
    readonly p95_s: number;
    readonly limit_p95_s: number;
    readonly excess_s: number;
    readonly rate_per_s: number;
    readonly p99_s?: number;
    readonly baseline_p95_s?: number;
    readonly breakdown?: RouteBreakdown;
    /** The route's own code (its span-labelled wall samples), when its traces show its time is its own. */
    readonly hot_code?: HotFunction;
  };
  readonly 'error-rate': {
    readonly route: string;
    readonly error_ratio: number;
    readonly limit_error_ratio: number;
    readonly errors_per_s: number;
    readonly rate_per_s: number;
    readonly burn_rate_x: number;
    readonly failed_requests?: number;
    readonly p95_s?: number;
  };
  readonly 'latency-regression': {
    readonly route: string;
    readonly p95_s: number;
    readonly baseline_p95_s: number;
    readonly increase_s: number;
    readonly rate_per_s: number;
    readonly limit_p95_s: number;
    readonly increase_ratio?: number;
    readonly baseline_rate_per_s?: number;
    readonly breakdown?: RouteBreakdown;
    readonly hot_code?: HotFunction;
  };
  readonly 'event-loop-lag': {
    readonly instance: string;
    readonly limit_event_loop_delay_s: number;
    readonly limit_utilization_ratio: number;
    /** Delayed past the objective (not merely saturated): every route waits for it. */
    readonly blocked: boolean;
    /** The median over the window of each interval's longest delay: what most intervals saw, not one spike. */
    readonly event_loop_delay_s?: number;
    /** The median over the window of the per-interval p99 delay. */
    readonly event_loop_p99_s?: number;
    readonly event_loop_p99_max_s?: number;
    readonly event_loop_utilization_ratio?: number;
    readonly instance_rate_per_s?: number;
    readonly blocking?: BlockingRoute;
    readonly hot_code?: HotFunction;
  };
  readonly 'memory-leak': {
    readonly instance: string;
    readonly heap_growth_bytes_per_h: number;
    readonly limit_bytes_per_h: number;
    readonly heap_used_bytes?: number;
    readonly heap_limit_bytes?: number;
    readonly hours_to_exhaustion_h?: number;
    readonly process_age_s?: number;
    readonly major_gcs?: number;
    /** How the growth was measured: the model that fitted the heap after each collection best, on how many. */
    readonly heap_trend_model?: 'linear' | 'levelling' | 'warm-up then linear';
    readonly heap_trend_collections?: number;
    readonly heap_trend_s?: number;
    /** The allocation site that grew most (heap profiles), and the next ones, `function (file:line) bytes`. */
    readonly growing_site?: GrowingSite;
    readonly other_growing_sites?: string;
    /** Seconds between the first and the last heap profile compared. */
    readonly heap_profiles_apart_s?: number;
  };
  readonly 'cpu-saturation': {
    readonly instance: string;
    readonly cpu_cores: number;
    readonly limit_cpu_cores: number;
    readonly blocking?: BlockingRoute;
    readonly hot_code?: HotFunction;
  };
  readonly 'gc-pressure': {
    readonly instance: string;
    readonly gc_s_per_s: number;
    readonly limit_gc_s_per_s: number;
    readonly heap_used_bytes?: number;
    readonly heap_limit_bytes?: number;
  };
  readonly 'slow-statement': {
    readonly fingerprint: string;
    readonly statement: string;
    readonly database: string;
    readonly p95_estimate_ms: number;
    readonly mean_ms: number;
    readonly stddev_ms: number;
    readonly limit_p95_ms: number;
    readonly calls: number;
    readonly total_ms: number;
    readonly rows_per_call?: number;
    readonly calls_per_s?: number;
    /** `window` (a delta over the analysis window) or `since-reset` (pg_stat_statements totals). */
    readonly scope: string;
    /** Routes whose traces ran it (empty without traces). */
    readonly routes: readonly string[];
  };
  readonly 'pool-saturation': {
    readonly pool: string;
    readonly pending_avg: number;
    readonly pending_max: number;
    readonly used_max: number;
    readonly limit_pending_avg: number;
    readonly limit_pending_max: number;
    readonly pool_max?: number;
    /** What held the connections (from traces), most first. */
    readonly holders: readonly PoolHolder[];
    /** Who waited for them (from traces), most first. */
    readonly waiters: readonly PoolWaiter[];
  };
  readonly 'n-plus-one': {
    readonly fingerprint: string;
    readonly statement: string;
    readonly db_system?: string;
    readonly limit_repeats: number;
    readonly limit_total_ms: number;
    /** Where it repeats, most user time first: one finding for the statement, however many routes run it. */
    readonly sites: readonly RepeatSite[];
    /** The routes of `sites`, in the same order. */
    readonly routes: readonly string[];
    /** Routes where it repeated in too few traces to count (kept as evidence, not judged). */
    readonly unsystematic_routes: readonly string[];
    /** The one-round-trip statement, from the AST, and whether PostgreSQL planned it (null: not checked). */
    readonly batched?: {
      readonly statement: string;
      readonly parameter: string;
      readonly shape: string;
      readonly notes: readonly string[];
      readonly planned: boolean | null;
      readonly plan_error?: string;
    };
  };
  readonly 'missing-index': {
    /** `schema.table`, as the DDL writes it. */
    readonly table: string;
    readonly columns: readonly string[];
    readonly ddl: string;
    /** Whether a HypoPG hypothetical index showed the cost reduction (else: from the plan and the AST only). */
    readonly verified: boolean;
    readonly min_cost_reduction: number;
    /** DDL of the indexes it was chosen with: only the set halves the statements' cost, not this one alone. */
    readonly together_with?: readonly string[];
    /** Estimated database time removed per second: each statement's time × the share of its cost removed. */
    readonly db_s_removed_per_s: number;
    readonly table_rows: number;
    readonly index_bytes?: number;
    /** Rows written per second to the table (n_mod_since_analyze over the time since it was analyzed). */
    readonly table_writes_per_s?: number;
    /** pganalyze's Index Write Overhead: index entry bytes per table row byte, from average column widths. */
    readonly write_overhead?: number;
    /** Index bytes those writes would add per second (entry size × rows written/s; an upper bound). */
    readonly index_write_bytes_per_s?: number;
    readonly statements: readonly ServedStatement[];
    /** Routes whose traces ran one of the statements (empty without traces). */
    readonly routes: readonly string[];
    readonly fingerprints: readonly string[];
  };
  readonly 'cache-candidate': {
    readonly fingerprint: string;
    readonly statement: string;
    readonly tables: readonly string[];
    readonly calls_per_s: number;
    readonly mean_ms: number;
    readonly db_s_per_s: number;
    /** The shortest stretch over which every table it reads is known to have had no row written. */
    readonly quiet_s: number;
    readonly routes: readonly string[];
    /** Instances serving the service: above one, a per-process cache is filled once per instance. */
    readonly instances: number;
    readonly cache: string;
  };
  readonly 'web-vital': {
    readonly page: string;
    /** `lcp`, `inp`, `cls`, `fcp`, `ttfb` or `page_load`. */
    readonly vital: string;
    /** p75 over the window, seconds (CLS: the score; `p75` then carries it). */
    readonly p75: number;
    readonly limit_p75: number;
    readonly poor_p75: number;
    readonly views_per_s: number;
    /** The element most of its slow reports name (LCP, INP, CLS), with that element's own p75. */
    readonly element?: string;
    readonly element_p75?: number;
    readonly element_share?: number;
    /** The LCP element's resource, as a URL template. */
    readonly resource_url?: string;
    /** The LCP's four parts (mean seconds) and the largest of them. */
    readonly lcp_phases?: Readonly<Record<string, number>>;
    readonly largest_phase?: string;
    /** The app's own route that serves the LCP's resource, when it is slow too (correlate), and its p95. */
    readonly served_by?: string;
    readonly served_p95_s?: number;
  };
  readonly 'heavy-asset': {
    readonly url: string;
    readonly initiator_type: string;
    readonly render_blocking: string;
    /** What is wrong with it: `render-blocking` (Sentry's rule), `uncompressed` (Sentry's rule), or both. */
    readonly problems: readonly string[];
    readonly encoded_bytes: number;
    readonly decoded_bytes: number;
    readonly fetch_s: number;
    readonly loads_per_s: number;
    /** The pages that load it, most loads first, and the first one's FCP p75. */
    readonly pages: readonly string[];
    readonly page_fcp_p75_s?: number;
    readonly limit_bytes: number;
  };
  readonly 'parallelizable-queries': {
    readonly route: string;
    readonly statements: readonly string[];
    readonly calls_per_run_median: number;
    readonly sum_ms_mean: number;
    readonly saved_ms_mean: number;
    readonly saved_share_mean: number;
    readonly traces_affected: number;
    readonly traces_of_route: number;
    readonly limit_saved_ms: number;
    readonly limit_saved_ratio: number;
  };
}

/** A finding before `recommend`: its facts, typed by kind. */
export type Draft<K extends FindingKind = FindingKind> = {
  [P in K]: Omit<Finding, 'recommendations' | 'kind'> & { readonly kind: P; readonly facts: FactsByKind[P] };
}[K];

/**
 * The scalar facts, as evidence values: numbers and strings as they are, booleans as `true`/`false`, lists of
 * strings one per line, and the route of an attached breakdown as its shares, so the stored finding shows what
 * the recommendation rests on.
 */
export function factValues(facts: object): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (const [key, value] of Object.entries(facts)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
    else if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'boolean') out[key] = String(value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      if (value.length > 0) out[key] = value.join('\n');
    } else if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object') {
      out[`${key}_count`] = value.length;
    } else if (value !== null && typeof value === 'object') {
      for (const [inner, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v === 'number' && Number.isFinite(v)) out[`${key}.${inner}`] = v;
        else if (typeof v === 'string') out[`${key}.${inner}`] = v;
        else if (typeof v === 'boolean') out[`${key}.${inner}`] = String(v);
      }
    }
  }
  return out;
}
