/**
 * The analyzer's data model. `sources/` fill a `Snapshot` (plain data, no I/O handles); `detectors/` turn it into
 * `Finding`s (pure); `recommend` adds what to change (pure); the store and the API persist and serve them.
 */

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
  // From traces (analyzer/src/traces/detectors):
  | 'n-plus-one'
  | 'parallelizable-queries'
  | 'time-breakdown';

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
  /** Highest p99 event-loop delay seen in the window. */
  readonly eventLoopP99Seconds: number | null;
  readonly eventLoopUtilization: number | null;
  readonly heapUsedBytes: number | null;
  readonly heapLimitBytes: number | null;
  /** Slope of the heap that survives GC (the lower envelope), bytes per hour. */
  readonly heapGrowthBytesPerHour: number | null;
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

/** One statement from pg_stat_statements (cumulative since the statistics were last reset). */
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
  /** The exact queries used to fill the snapshot, by signal, for evidence. */
  readonly queries: Readonly<Record<string, EvidenceQuery>>;
}
