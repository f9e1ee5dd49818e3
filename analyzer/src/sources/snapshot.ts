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
import type { PrometheusClient, PrometheusSample } from './prometheus.ts';
import { readStatements, STATEMENTS_QUERY } from './statements.ts';

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

/** The PromQL of every signal for a window; exported so tests and evidence use exactly these. */
export function snapshotQueries(window: string, windowSeconds: number): Record<string, EvidenceQuery> {
  const w = window;
  // The heap's lower envelope: the minimum over short sub-windows (GC sawtooth removed), then its slope.
  const envelope = `${Math.max(10, Math.round(windowSeconds / 6))}s`;
  const step = `${Math.max(5, Math.round(windowSeconds / 30))}s`;
  const heap = `sum by (${INSTANCE}) (${prometheusName(METRICS.v8jsMemoryHeapUsed)})`;
  // Minimum per heap space over short sub-windows, then summed: one level of subquery only (a subquery of a
  // subquery evaluates to a flat line on Prometheus 2.x).
  const heapEnvelope = `sum by (${INSTANCE}) (min_over_time(${prometheusName(METRICS.v8jsMemoryHeapUsed)}[${envelope}]))`;
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
    // Only samples from after start-up: loading modules and warming the JIT block a new process's loop for a
    // moment, which is no bottleneck. The loop's own active + idle time is the process's uptime.
    'runtime.eventLoopP99': promql(
      `max by (${INSTANCE}) (max_over_time((${prometheusName(METRICS.nodejsEventloopDelayP99)} and on (${INSTANCE}) ` +
        `sum by (${INSTANCE}) (${prometheusName(METRICS.nodejsEventloopTime)}) > ${STARTUP_GRACE_S})[${w}:${step}]))`,
    ),
    'runtime.eventLoopUtilization': promql(
      `max by (${INSTANCE}) (avg_over_time(${prometheusName(METRICS.nodejsEventloopUtilization)}[${w}]))`,
    ),
    'runtime.heapUsed': promql(heap),
    'runtime.heapGrowth': promql(`deriv(${heapEnvelope}[${w}:${step}]) * 3600`),
    // The same slope over the last third of the window: a process that grew while warming up and then levelled
    // off has a steep window slope but a flat recent one; a leak has both.
    'runtime.heapGrowthRecent': promql(
      `deriv(${heapEnvelope}[${Math.max(30, Math.round(windowSeconds / 3))}s:${step}]) * 3600`,
    ),
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

/** Growth that holds over the whole window and recently: the smaller of the two slopes. */
function sustainedGrowth(window: number | undefined, recent: number | undefined): number | null {
  if (window === undefined || recent === undefined) return null;
  return Math.min(window, recent);
}

export interface SnapshotOptions {
  readonly prometheus: PrometheusClient;
  readonly window: string;
  readonly databaseUrl?: string;
  readonly databaseService?: string;
  readonly at?: Date;
}

export async function takeSnapshot(options: SnapshotOptions): Promise<Snapshot> {
  const windowSeconds = parseWindow(options.window);
  const queries = snapshotQueries(options.window, windowSeconds);
  const at = options.at ?? new Date();
  const names = Object.keys(queries);
  // All signals of a cycle at the same instant, concurrently.
  const results = await Promise.all(names.map((n) => options.prometheus.query(queries[n]?.text ?? '', at)));
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
  const signals = {
    eventLoopP99: keyed(get('runtime.eventLoopP99'), instanceLabels),
    eventLoopUtilization: keyed(get('runtime.eventLoopUtilization'), instanceLabels),
    heapUsed: keyed(get('runtime.heapUsed'), instanceLabels),
    heapGrowth: keyed(get('runtime.heapGrowth'), instanceLabels),
    heapGrowthRecent: keyed(get('runtime.heapGrowthRecent'), instanceLabels),
    cpu: keyed(get('runtime.cpu'), instanceLabels),
    gc: keyed(get('runtime.gc'), instanceLabels),
  };
  const instances = new Set(Object.values(signals).flatMap((m) => [...m.keys()]));
  const runtime: RuntimeStats[] = [...instances].map((key) => {
    const [service = '', instance = ''] = key.split('\u0000');
    return {
      service,
      instance,
      eventLoopP99Seconds: signals.eventLoopP99.get(key) ?? null,
      eventLoopUtilization: signals.eventLoopUtilization.get(key) ?? null,
      heapUsedBytes: signals.heapUsed.get(key) ?? null,
      heapLimitBytes: null,
      heapGrowthBytesPerHour: sustainedGrowth(signals.heapGrowth.get(key), signals.heapGrowthRecent.get(key)),
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
  if (options.databaseUrl !== undefined) {
    statements = await readStatements({
      databaseUrl: options.databaseUrl,
      ...(options.databaseService === undefined ? {} : { service: options.databaseService }),
    });
    queries.statements = { language: 'sql', text: STATEMENTS_QUERY };
  }

  return { at, window: options.window, windowSeconds, routes, runtime, pools, statements, queries };
}
