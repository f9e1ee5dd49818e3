/**
 * Fills a `Snapshot` from Prometheus (and pg_stat_statements when a database is given). One PromQL per signal,
 * aggregated by labels: the number of queries is fixed, however many routes, instances or pools there are.
 */
import { METRICS, prometheusName, prometheusSeries } from '@hotpath/instrumentation';
import type {
  EvidenceQuery,
  PoolStats,
  RouteStats,
  RuntimeStats,
  Snapshot,
  StatementStats,
} from '../types.ts';
import { frontendQueries, frontendStats } from './frontend.ts';
import { collections, type HeapTrend, heapTrend } from './heap-trend.ts';
import type { PrometheusClient, PrometheusSample } from './prometheus.ts';
import { readStatements, STATEMENTS_QUERY, type StatementSample, statementStats } from './statements.ts';

/** `15m` → 900. Accepts s, m, h, d. */
export function parseWindow(window: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(window);
  if (m === null) throw new Error(`window "${window}" is not a duration like 30s, 15m or 1h`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

const HTTP = METRICS.httpServerRequestDuration;
/** Seconds after a process starts during which its event loop is not judged. */
export const STARTUP_GRACE_S = 8;
const ROUTE = 'job, http_route, http_request_method';
const INSTANCE = 'job, instance';
const POOL = 'job, db_client_connection_pool_name';

/** Seconds: the shortest stretch the loop's longest delay is judged over (see `runtime.eventLoopDelay`). */
const LOOP_STRETCH_S = 10;

/** The PromQL of every signal for a window; exported so tests and evidence use exactly these. */
export function snapshotQueries(window: string, windowSeconds: number): Record<string, EvidenceQuery> {
  const w = window;
  const step = `${Math.max(5, Math.round(windowSeconds / 30))}s`;
  const heap = `sum by (${INSTANCE}) (${prometheusName(METRICS.v8jsMemoryHeapUsed)})`;
  const loopTime = `sum by (${INSTANCE}) (${prometheusName(METRICS.nodejsEventloopTime)})`;
  // Only samples from after start-up: loading modules and warming the JIT block a new process's loop for a
  // moment, which is no bottleneck. The loop's own active + idle time is the process's uptime.
  const settled = (series: string, every = step) =>
    `(${series} and on (${INSTANCE}) ${loopTime} > ${STARTUP_GRACE_S})[${w}:${every}]`;
  const settledDelay = settled(prometheusName(METRICS.nodejsEventloopDelayP99));
  // The longest delay per stretch of at least the SDK's default metric export interval (10 s,
  // @hotpath/instrumentation's DEFAULT_METRIC_EXPORT_INTERVAL_MS), so "most intervals" means the same whether
  // Prometheus scrapes every second or the collector pushes every 10 s.
  const stretch = `${Math.max(LOOP_STRETCH_S, Math.round(windowSeconds / 30))}s`;
  const longestDelay = settled(
    `max_over_time(${prometheusName(METRICS.nodejsEventloopDelayMax)}[${stretch}])`,
    stretch,
  );
  const promql = (text: string): EvidenceQuery => ({ language: 'promql', text });
  return {
    'routes.rate': promql(`sum by (${ROUTE}) (rate(${prometheusSeries(HTTP, 'count')}[${w}]))`),
    'routes.errors': promql(
      `sum by (${ROUTE}) (rate(${prometheusSeries(HTTP, 'count')}{http_response_status_code=~"5.."}[${w}]))`,
    ),
    'routes.p95': promql(
      `histogram_quantile(0.95, sum by (${ROUTE}, le) (rate(${prometheusSeries(HTTP, 'bucket')}[${w}])))`,
    ),
    'routes.p99': promql(
      `histogram_quantile(0.99, sum by (${ROUTE}, le) (rate(${prometheusSeries(HTTP, 'bucket')}[${w}])))`,
    ),
    'routes.baselineP95': promql(
      `histogram_quantile(0.95, sum by (${ROUTE}, le) (rate(${prometheusSeries(HTTP, 'bucket')}[${w}] offset ${w})))`,
    ),
    'routes.baselineRate': promql(
      `sum by (${ROUTE}) (rate(${prometheusSeries(HTTP, 'count')}[${w}] offset ${w}))`,
    ),
    // Blocked, sustained: the median over the window of each stretch's longest delay. Clinic Doctor
    // calls a loop blocked when its delay reaches 100 ms even once ("just once can be an issue"); the median
    // keeps one GC pause or deploy from counting. Not the interval's p99: runtime-node's histogram records one
    // sample per timer tick, so a 150 ms block is one sample among a hundred 10 ms ticks, and a route that blocks
    // the loop for 150 ms once a second stays under a 100 ms p99 (measured under the root-cause test's mixed
    // traffic: p99 median 14 ms, longest-delay median 278 ms).
    'runtime.eventLoopDelay': promql(`max by (${INSTANCE}) (quantile_over_time(0.5, ${longestDelay}))`),
    // The p99 most intervals saw and its peak, for evidence.
    'runtime.eventLoopP99': promql(`max by (${INSTANCE}) (quantile_over_time(0.5, ${settledDelay}))`),
    'runtime.eventLoopP99Max': promql(`max by (${INSTANCE}) (max_over_time(${settledDelay}))`),
    'runtime.processAge': promql(loopTime),
    'runtime.eventLoopUtilization': promql(
      `max by (${INSTANCE}) (avg_over_time(${prometheusName(METRICS.nodejsEventloopUtilization)}[${w}]))`,
    ),
    'runtime.heapUsed': promql(heap),
    // Major (mark-compact) collections in the window: only they reclaim the old generation, so only they say what
    // survived.
    'runtime.majorGcs': promql(
      `sum by (${INSTANCE}) (increase(${prometheusSeries(METRICS.v8jsGcDuration, 'count')}{v8js_gc_type="major"}[${w}]))`,
    ),
    // Where the heap ends (@hotpath/instrumentation's gauge), for a leak's time to exhaustion.
    'runtime.heapLimit': promql(
      `max by (${INSTANCE}) (last_over_time(${prometheusName(METRICS.hotpathV8jsHeapSizeLimit)}[${w}]))`,
    ),
    // The heap right after each major GC (@hotpath/instrumentation's gauge), read as a range, one point per
    // collection, and fitted in `heap-trend.ts`: a line or a curve that levels off. The slope over the window
    // alone cannot tell a leak from a warm-up.
    'runtime.heapGrowth': promql(`max by (${INSTANCE}) (${prometheusName(METRICS.hotpathV8jsHeapLive)})`),
    'runtime.cpu': promql(`sum by (${INSTANCE}) (rate(${prometheusName(METRICS.processCpuTime)}[${w}]))`),
    'runtime.gc': promql(
      `sum by (${INSTANCE}) (rate(${prometheusSeries(METRICS.v8jsGcDuration, 'sum')}[${w}]))`,
    ),
    'pools.pending': promql(
      `max by (${POOL}) (max_over_time(${prometheusName(METRICS.dbClientConnectionPendingRequests)}[${w}]))`,
    ),
    'pools.pendingAvg': promql(
      `max by (${POOL}) (avg_over_time(${prometheusName(METRICS.dbClientConnectionPendingRequests)}[${w}]))`,
    ),
    'pools.used': promql(
      `max by (${POOL}) (max_over_time(${prometheusName(METRICS.dbClientConnectionCount)}{db_client_connection_state="used"}[${w}]))`,
    ),
    'pools.max': promql(`max by (${POOL}) (${prometheusName(METRICS.dbClientConnectionMax)})`),
    ...frontendQueries(w),
  };
}

type Keyed = Map<string, number>;

function keyed(samples: readonly PrometheusSample[], labels: readonly string[]): Keyed {
  const map: Keyed = new Map();
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    map.set(labels.map((l) => s.labels[l] ?? '').join('\u0000'), s.value);
  }
  return map;
}

/** Where earlier pg_stat_statements samples are kept (the service's store), so a cycle judges its window. */
export interface StatementHistory {
  /** The latest sample of `database` taken at or before `notAfter`, else the earliest one; undefined if none. */
  earlier(database: string, notAfter: Date): Promise<StatementSample | undefined>;
  record(database: string, sample: StatementSample): Promise<void>;
}

export interface TakeSnapshotOptions {
  readonly prometheus: PrometheusClient;
  readonly window: string;
  readonly databaseUrl?: string;
  readonly databaseService?: string;
  /** Without it, statements are totals since pg_stat_statements was last reset (and say so). */
  readonly statementHistory?: StatementHistory;
  /**
   * The window's statements, measured already (a recorded load-test run's pg_stat_statements deltas): used
   * instead of reading pg_stat_statements now, which counts up to now, not to the window's end.
   */
  readonly statements?: readonly StatementStats[];
  readonly at?: Date;
}

/**
 * Steps of the heap range: about 120 over the window, no finer than 5 s (a common scrape interval). A step sees
 * the latest collection's value, so collections closer together than a step are one point; a trend needs only a
 * handful of them.
 */
function heapStep(windowSeconds: number): number {
  return Math.max(5, Math.round(windowSeconds / 120));
}

export async function takeSnapshot(options: TakeSnapshotOptions): Promise<Snapshot> {
  const windowSeconds = parseWindow(options.window);
  const queries = snapshotQueries(options.window, windowSeconds);
  const at = options.at ?? new Date();
  const ranged = new Set(['runtime.heapGrowth']);
  const names = Object.keys(queries).filter((n) => !ranged.has(n));
  // All signals of a cycle at the same instant, concurrently.
  const [results, heapSeries] = await Promise.all([
    Promise.all(names.map((n) => options.prometheus.query(queries[n]?.text ?? '', at))),
    options.prometheus.queryRange(
      queries['runtime.heapGrowth']?.text ?? '',
      new Date(at.getTime() - windowSeconds * 1000),
      at,
      heapStep(windowSeconds),
    ),
  ]);
  const by = new Map(names.map((n, i) => [n, results[i] ?? []]));
  const get = (name: string) => by.get(name) ?? [];

  const routeLabels = ['job', 'http_route', 'http_request_method'];
  const rate = keyed(get('routes.rate'), routeLabels);
  const errors = keyed(get('routes.errors'), routeLabels);
  const p95 = keyed(get('routes.p95'), routeLabels);
  const p99 = keyed(get('routes.p99'), routeLabels);
  const baselineP95 = keyed(get('routes.baselineP95'), routeLabels);
  const baselineRate = keyed(get('routes.baselineRate'), routeLabels);
  const routes: RouteStats[] = [];
  for (const [key, requestRate] of rate) {
    const [service = '', route = '', method = ''] = key.split('\u0000');
    if (route === '') continue; // requests that matched no route (404s) have no template to report
    routes.push({
      service,
      route,
      method,
      requestRate,
      errorRate: errors.get(key) ?? 0,
      p95Seconds: p95.get(key) ?? null,
      p99Seconds: p99.get(key) ?? null,
      baselineP95Seconds: baselineP95.get(key) ?? null,
      baselineRequestRate: baselineRate.get(key) ?? null,
    });
  }

  const instanceLabels = ['job', 'instance'];
  const heapGrowth = new Map<string, number>();
  const heapTrends = new Map<string, HeapTrend & { collections: number }>();
  for (const series of heapSeries) {
    const points = collections(series.points);
    const trend = heapTrend(points);
    if (trend === null) continue;
    const key = instanceLabels.map((l) => series.labels[l] ?? '').join('\u0000');
    heapGrowth.set(key, trend.bytesPerHour);
    heapTrends.set(key, { ...trend, collections: points.length });
  }
  const signals = {
    eventLoopDelay: keyed(get('runtime.eventLoopDelay'), instanceLabels),
    eventLoopP99: keyed(get('runtime.eventLoopP99'), instanceLabels),
    eventLoopP99Max: keyed(get('runtime.eventLoopP99Max'), instanceLabels),
    processAge: keyed(get('runtime.processAge'), instanceLabels),
    eventLoopUtilization: keyed(get('runtime.eventLoopUtilization'), instanceLabels),
    heapUsed: keyed(get('runtime.heapUsed'), instanceLabels),
    heapLimit: keyed(get('runtime.heapLimit'), instanceLabels),
    majorGcs: keyed(get('runtime.majorGcs'), instanceLabels),
    heapGrowth,
    cpu: keyed(get('runtime.cpu'), instanceLabels),
    gc: keyed(get('runtime.gc'), instanceLabels),
  };
  const instances = new Set(Object.values(signals).flatMap((m) => [...m.keys()]));
  const runtime: RuntimeStats[] = [...instances].map((key) => {
    const [service = '', instance = ''] = key.split('\u0000');
    const trend = heapTrends.get(key);
    return {
      service,
      instance,
      eventLoopDelaySeconds: signals.eventLoopDelay.get(key) ?? null,
      eventLoopP99Seconds: signals.eventLoopP99.get(key) ?? null,
      eventLoopP99MaxSeconds: signals.eventLoopP99Max.get(key) ?? null,
      eventLoopUtilization: signals.eventLoopUtilization.get(key) ?? null,
      heapUsedBytes: signals.heapUsed.get(key) ?? null,
      heapLimitBytes: signals.heapLimit.get(key) ?? null,
      majorGcs: signals.majorGcs.get(key) ?? null,
      heapGrowthBytesPerHour: signals.heapGrowth.get(key) ?? null,
      heapTrendSeconds: trend?.seconds ?? null,
      ...(trend === undefined
        ? {}
        : { heapTrendModel: trend.model, heapTrendCollections: trend.collections }),
      processAgeSeconds: signals.processAge.get(key) ?? null,
      cpuCores: signals.cpu.get(key) ?? null,
      gcSecondsPerSecond: signals.gc.get(key) ?? null,
    };
  });

  const poolLabels = ['job', 'db_client_connection_pool_name'];
  const pending = keyed(get('pools.pending'), poolLabels);
  const pendingAvg = keyed(get('pools.pendingAvg'), poolLabels);
  const used = keyed(get('pools.used'), poolLabels);
  const max = keyed(get('pools.max'), poolLabels);
  const pools: PoolStats[] = [...new Set([...pending.keys(), ...used.keys()])].map((key) => {
    const [service = '', pool = ''] = key.split('\u0000');
    return {
      service,
      pool,
      pendingMax: pending.get(key) ?? 0,
      pendingAvg: pendingAvg.get(key) ?? 0,
      usedMax: used.get(key) ?? 0,
      max: max.get(key) ?? null,
    };
  });

  let statements: StatementStats[] = [];
  if (options.statements !== undefined) {
    statements = [...options.statements];
    queries.statements = { language: 'sql', text: STATEMENTS_QUERY };
  } else if (options.databaseUrl !== undefined) {
    const counters = await readStatements({
      databaseUrl: options.databaseUrl,
      ...(options.databaseService === undefined ? {} : { service: options.databaseService }),
    });
    const database = counters[0]?.database ?? new URL(options.databaseUrl).pathname.slice(1);
    const history = options.statementHistory;
    const earlier = await history?.earlier(database, new Date(at.getTime() - windowSeconds * 1000));
    statements = statementStats(counters, earlier, at);
    await history?.record(database, { at, counters });
    queries.statements = { language: 'sql', text: STATEMENTS_QUERY };
  }

  const { pages, assets } = frontendStats(get);
  return {
    at,
    window: options.window,
    windowSeconds,
    routes,
    runtime,
    pools,
    statements,
    pages,
    assets,
    queries,
  };
}

/**
 * A snapshot of the app database alone (no Prometheus, no traces): its statements since pg_stat_statements was
 * last reset, for `hotpath advise`. The window is the statistics' age.
 */
export async function statementSnapshot(
  databaseUrl: string,
  options: { readonly service?: string; readonly at?: Date } = {},
): Promise<Snapshot> {
  const at = options.at ?? new Date();
  const counters = await readStatements({
    databaseUrl,
    ...(options.service === undefined ? {} : { service: options.service }),
  });
  const age = Math.max(0, ...counters.map((c) => c.ageSeconds ?? 0));
  return {
    at,
    window: `${Math.round(age)}s`,
    windowSeconds: age,
    routes: [],
    runtime: [],
    pools: [],
    statements: statementStats(counters, undefined, at),
    queries: { statements: { language: 'sql', text: STATEMENTS_QUERY } },
  };
}
