/**
 * The analyzer's data model, one for every layer and source. `sources/` fill a `Snapshot` (plain data, no I/O
 * handles); `detectors/` turn it into `Draft`s with typed facts (pure); `correlate` lets causes absorb their
 * symptoms; `recommend` adds what to change from the facts (pure); the store and the API persist and serve them.
 */
import type { GrowingSite } from './facts.ts';
import type { HotCode } from './profiles/hot.ts';
import type { Trace } from './traces/model.ts';

export type Layer = 'api' | 'database' | 'runtime' | 'frontend';
export type Severity = 'info' | 'warning' | 'critical';

/** A query a person can paste (into Grafana Explore, psql, Tempo) to see the evidence themselves. */
export interface EvidenceQuery {
  readonly language: 'promql' | 'sql' | 'traceql';
  readonly text: string;
}

export interface Evidence {
  /** The measured values the finding rests on, with units in the key (`p95_s`, `rate_per_s`). */
  readonly values: Readonly<Record<string, number | string>>;
  /** The window the values cover, e.g. `15m`. */
  readonly window: string;
  readonly queries: readonly EvidenceQuery[];
  readonly traceIds?: readonly string[];
  readonly plan?: string;
  /**
   * Findings this one explains, absorbed by `correlate`: a slow route whose time is this N+1, the routes a
   * blocked event loop delayed. Their impact is included in the cause's.
   */
  readonly symptoms?: readonly Symptom[];
}

/** A finding absorbed by its cause: kept as evidence, not reported on its own. */
export interface Symptom {
  readonly kind: FindingKind;
  readonly subject: string;
  readonly title: string;
  readonly impact: number;
  readonly values: Readonly<Record<string, number | string>>;
}

/** What to change, concretely, and how to know it worked. */
export interface Recommendation {
  /** One sentence, imperative: "Add an index on orders(customer_id)". */
  readonly action: string;
  /** The artefact to apply: DDL, a code shape, a config line. */
  readonly artifact?: string;
  /** What improves and by how much, as far as the evidence says. */
  readonly expectedGain: string;
  readonly confidence: 'low' | 'medium' | 'high';
  /** How to verify the fix: the query or measurement that must change. */
  readonly verify: string;
  /** Advice about code shapes in general, not drawn from this app's evidence: a hint, at most one line. */
  readonly general?: boolean;
}

export interface Finding {
  /** Stable fingerprint: kind + service + subject (see `findingId`). */
  readonly id: string;
  readonly kind: FindingKind;
  readonly layer: Layer;
  /** The Prometheus job of the service (service.namespace/service.name, or service.name). */
  readonly service: string;
  /** Route (`GET /api/products/:id`), statement fingerprint, instance, pool or page. */
  readonly subject: string;
  readonly severity: Severity;
  /**
   * One unit across layers: seconds of user-facing time lost per second of wall time (request rate × excess
   * latency), so a slow statement and a slow route can be ranked against each other.
   */
  readonly impact: number;
  readonly title: string;
  readonly summary: string;
  readonly evidence: Evidence;
  readonly recommendations: readonly Recommendation[];
}

export type FindingKind =
  | 'slow-endpoint'
  | 'error-rate'
  | 'latency-regression'
  | 'event-loop-lag'
  | 'memory-leak'
  | 'cpu-saturation'
  | 'gc-pressure'
  | 'slow-statement'
  | 'pool-saturation'
  | 'n-plus-one'
  | 'parallelizable-queries'
  | 'missing-index'
  | 'cache-candidate'
  | 'web-vital'
  | 'heavy-asset';

/** Where a detector's input comes from; a cycle that did not read a source says nothing about its findings. */
export type Source = 'prometheus' | 'statements' | 'traces';

/** One route of one service over the analysis window. */
export interface RouteStats {
  readonly service: string;
  readonly method: string;
  readonly route: string;
  readonly requestRate: number;
  /** 5xx responses per second. */
  readonly errorRate: number;
  readonly p95Seconds: number | null;
  readonly p99Seconds: number | null;
  /** p95 over the baseline window (the same length, ending where the analysis window starts). */
  readonly baselineP95Seconds: number | null;
  readonly baselineRequestRate: number | null;
}

/** One instance (process) of one service. */
export interface RuntimeStats {
  readonly service: string;
  readonly instance: string;
  /**
   * The longest event-loop delay most of the window saw: the median over the window's intervals of each
   * interval's maximum, so one spike (a deploy, a GC) does not count as a blocked loop. What "blocked" is judged on.
   */
  readonly eventLoopDelaySeconds: number | null;
  /** The p99 delay most of the window saw (the median of the intervals' p99), for evidence. */
  readonly eventLoopP99Seconds: number | null;
  /** The highest interval p99 in the window, for evidence. */
  readonly eventLoopP99MaxSeconds: number | null;
  readonly eventLoopUtilization: number | null;
  readonly heapUsedBytes: number | null;
  readonly heapLimitBytes: number | null;
  /**
   * Slope of the heap that survives GC (the lower envelope), bytes per hour, where a straight line fits it better
   * than a curve that levels off (warm-up); 0 when it levels off.
   */
  readonly heapGrowthBytesPerHour: number | null;
  /** Seconds between the first and the last major collection the growth was measured on. */
  readonly heapTrendSeconds: number | null;
  /** The model that fitted the trend best, and how many collections it was fitted on. */
  readonly heapTrendModel?: 'linear' | 'levelling' | 'warm-up then linear';
  readonly heapTrendCollections?: number;
  /** Seconds since the process started. */
  readonly processAgeSeconds: number | null;
  /** Major (mark-compact) garbage collections within the window. */
  readonly majorGcs: number | null;
  /** CPU seconds per second (1 = one core). */
  readonly cpuCores: number | null;
  /** Seconds of GC pause per second. */
  readonly gcSecondsPerSecond: number | null;
}

/** One connection pool of one service. */
export interface PoolStats {
  readonly service: string;
  readonly pool: string;
  /** Requests waiting for a connection: highest seen, and the average over the window. */
  readonly pendingMax: number;
  readonly pendingAvg: number;
  readonly usedMax: number;
  readonly max: number | null;
}

/**
 * One statement shape from pg_stat_statements: the rows of one fingerprint merged (several roles, IN-lists of
 * other lengths), as a delta over the window when an earlier sample is known, else totals since the reset.
 */
export interface StatementStats {
  /** libpg-query fingerprint: the same statement shape always has the same one. */
  readonly fingerprint: string;
  /** The normalized text (constants as $1…) as pg_stat_statements stores it. */
  readonly query: string;
  readonly database: string;
  /** The service this database belongs to (Prometheus job), or the database name. */
  readonly service: string;
  readonly calls: number;
  readonly meanMs: number;
  readonly stddevMs: number;
  readonly totalMs: number;
  readonly rowsPerCall: number;
  /** Calls per second, when the statistics' age is known. */
  readonly callsPerSecond: number | null;
  /** `window`: the numbers are the delta over the analysis window; `since-reset`: totals since the last reset. */
  readonly scope: 'window' | 'since-reset';
}

/** What the trace step read: the traces and the statement fingerprint of each DB span. */
export interface TraceData {
  readonly traces: readonly Trace[];
  /** Statement fingerprint per DB span that carries a statement, by `spanKey(span)`. */
  readonly fingerprints: ReadonlyMap<string, string>;
  /** The routes whose traces were read, as `service\0METHOD /route`: findings of other routes were not judged. */
  readonly routes: readonly string[];
}

/** What the profile step read: the code that held each service's main thread (wall profiles). */
export interface ProfileData {
  /** `embedded` or `pyroscope`. */
  readonly source: string;
  /** The whole process, per service (Prometheus job). */
  readonly services: ReadonlyMap<string, HotCode>;
  /** One route's samples (its server span name), as `service\0METHOD /route`. */
  readonly routes: ReadonlyMap<string, HotCode>;
  /** Allocation sites whose live heap grew between the first and the last heap profile of the window. */
  readonly heap: ReadonlyMap<
    string,
    { readonly sites: readonly GrowingSite[]; readonly apartSeconds: number }
  >;
}

/** Everything the detectors look at, gathered in one cycle. */
export interface Snapshot {
  readonly at: Date;
  /** Prometheus range, e.g. `15m`, and the same in seconds. */
  readonly window: string;
  readonly windowSeconds: number;
  readonly routes: readonly RouteStats[];
  readonly runtime: readonly RuntimeStats[];
  readonly pools: readonly PoolStats[];
  readonly statements: readonly StatementStats[];
  /** Traces, when a trace source was given and answered. */
  readonly traces?: TraceData;
  /** Wall profiles, when a profile source was given and answered. */
  readonly profiles?: ProfileData;
  /** Pages as real browsers saw them (`browser.*` metrics of `@hotpath/instrumentation`), when any reported. */
  readonly pages?: readonly PageStats[];
  /** The assets those pages loaded, by URL template. */
  readonly assets?: readonly AssetStats[];
  /** The exact queries used to fill the snapshot, by signal, for evidence. */
  readonly queries: Readonly<Record<string, EvidenceQuery>>;
}

/** The vitals Hotpath judges a page by: the five Web Vitals and the page load. */
export type Vital = 'lcp' | 'inp' | 'cls' | 'fcp' | 'ttfb' | 'page_load';

/** One element a vital is attributed to on a page: the LCP element (and its resource), an INP target. */
export interface VitalElement {
  readonly element: string;
  /** The LCP element's resource, as a URL template (`none` for text). */
  readonly url?: string;
  readonly ratePerS: number;
  readonly p75: number | null;
}

/** One page route of one service over the window, from real browsers. */
export interface PageStats {
  readonly service: string;
  /** The app's route template of the page (`/products/:id`), or `other`. */
  readonly page: string;
  /** Page views per second (TTFB reports, one per view). */
  readonly viewsPerS: number;
  /** p75 of each vital, in seconds (CLS: the score); null where no browser reported it. */
  readonly p75: Readonly<Record<Vital, number | null>>;
  /** Reports per second of each vital. */
  readonly ratePerS: Readonly<Record<Vital, number>>;
  /** The elements each attributed vital (LCP, INP, CLS) was reported for, most reports first. */
  readonly elements: Readonly<Partial<Record<'lcp' | 'inp' | 'cls', readonly VitalElement[]>>>;
  /** Mean seconds of each of the LCP's four parts (web.dev: ttfb, load delay, load duration, render delay). */
  readonly lcpPhases: Readonly<Record<string, number>>;
}

/** One asset (by URL template) loaded by one page, over full loads (not from the cache). */
export interface AssetStats {
  readonly service: string;
  readonly page: string;
  readonly url: string;
  readonly initiatorType: string;
  /** `blocking`, `non-blocking` or `unknown`. */
  readonly renderBlocking: string;
  readonly loadsPerS: number;
  readonly encodedBytes: number | null;
  readonly decodedBytes: number | null;
  readonly durationSeconds: number | null;
}
