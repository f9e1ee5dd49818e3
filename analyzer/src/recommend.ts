/**
 * What to change for a finding, concretely, and how to know it worked: the pure second step after a detector.
 * Recommendations read the finding (its evidence values) and the snapshot it came from, nothing else.
 */
import { ATTR } from '@hotpath/instrumentation/semconv';
import {
  type FindingDraft,
  formatBytes,
  formatNumber,
  formatPercent,
  formatSeconds,
  isNumber,
  routeSubject,
} from './findings.ts';
import { recommendTrace } from './traces/recommend.ts';
import type { Finding, Recommendation, RouteStats, Snapshot } from './types.ts';

/** The finding with its recommendations: what every detector returns. */
export function withRecommendations(draft: FindingDraft, snapshot: Snapshot): Finding {
  return { ...draft, recommendations: recommend(draft, snapshot) };
}

/** At least one recommendation for every kind; the first is the one to start with. */
export function recommend(finding: FindingDraft, snapshot: Snapshot): Recommendation[] {
  switch (finding.kind) {
    case 'slow-endpoint':
      return slowEndpoint(finding, snapshot);
    case 'error-rate':
      return errorRate(finding, snapshot);
    case 'latency-regression':
      return latencyRegression(finding, snapshot);
    case 'event-loop-lag':
      return eventLoopLag(finding, snapshot);
    case 'memory-leak':
      return memoryLeak(finding, snapshot);
    case 'cpu-saturation':
      return cpuSaturation(finding, snapshot);
    case 'gc-pressure':
      return gcPressure(finding, snapshot);
    case 'slow-statement':
      return slowStatement(finding, snapshot);
    case 'pool-saturation':
      return poolSaturation(finding, snapshot);
    case 'n-plus-one':
    case 'parallelizable-queries':
    case 'time-breakdown':
      // Trace detectors add their recommendations themselves (they need the traces, not the snapshot).
      return recommendTrace({
        ...finding,
        kind: finding.kind,
        layer: finding.layer === 'database' ? 'database' : 'api',
      });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces

function value(finding: FindingDraft, key: string): number | null {
  const v = finding.evidence.values[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function text(finding: FindingDraft, key: string): string | null {
  const v = finding.evidence.values[key];
  return typeof v === 'string' ? v : null;
}

/** "…: <query>" when the snapshot holds the query, so the check can be pasted as it is. */
function using(snapshot: Snapshot, key: string): string {
  const query = snapshot.queries[key];
  return query === undefined ? '' : `: ${query.text}`;
}

function quote(s: string): string {
  return `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** `service.namespace/service.name` jobs match both resource attributes; plain jobs match service.name. */
function serviceMatcher(service: string): string {
  const slash = service.indexOf('/');
  if (slash < 0) return `resource.${ATTR.serviceName} = ${quote(service)}`;
  return (
    `resource.${ATTR.serviceNamespace} = ${quote(service.slice(0, slash))} && ` +
    `resource.${ATTR.serviceName} = ${quote(service.slice(slash + 1))}`
  );
}

/** `GET /api/products/:id` → method and route template. */
function splitRoute(subject: string): { method: string; route: string } {
  const space = subject.indexOf(' ');
  return space < 0
    ? { method: '', route: subject }
    : { method: subject.slice(0, space), route: subject.slice(space + 1) };
}

/** TraceQL for the server spans of one route, with extra conditions (`duration > 200ms`). */
function routeTraceQl(service: string, subject: string, ...conditions: readonly string[]): string {
  const { method, route } = splitRoute(subject);
  const parts = [
    'kind = server',
    serviceMatcher(service),
    ...(method === '' ? [] : [`span.${ATTR.httpRequestMethod} = ${quote(method)}`]),
    `span.${ATTR.httpRoute} = ${quote(route)}`,
    ...conditions,
  ];
  return `{ ${parts.join(' && ')} }`;
}

function traceDuration(seconds: number): string {
  return `${Math.max(1, Math.round(seconds * 1000))}ms`;
}

/** The route of `service` with the highest p95 (where blocking or held connections show first), if any. */
function slowestRoute(snapshot: Snapshot, service: string): RouteStats | null {
  let slowest: RouteStats | null = null;
  for (const r of snapshot.routes) {
    if (r.service !== service || !isNumber(r.p95Seconds) || !(r.requestRate > 0)) continue;
    if (slowest === null || r.p95Seconds > (slowest.p95Seconds ?? 0)) slowest = r;
  }
  return slowest;
}

function slowestRouteHint(snapshot: Snapshot, service: string): string {
  const r = slowestRoute(snapshot, service);
  return r === null
    ? ''
    : ` (its slowest route is ${routeSubject(r)}, p95 ${formatSeconds(r.p95Seconds ?? 0)}: start there)`;
}

const CPU_PROFILE =
  '# Record a CPU profile under load; open the .cpuprofile in Chrome DevTools (Performance) or speedscope.\n' +
  'node --cpu-prof --cpu-prof-dir=./profiles <your entry point>';

// ---------------------------------------------------------------------------------------------------------------
// API

function slowEndpoint(f: FindingDraft, snapshot: Snapshot): Recommendation[] {
  const limit = value(f, 'limit_p95_s') ?? 0;
  const excess = value(f, 'excess_s') ?? 0;
  const verify = `The p95 of ${f.subject} falls under ${formatSeconds(limit)}${using(snapshot, 'routes.p95')}`;
  return [
    {
      action: `Open the slowest traces of ${f.subject} and find where the time goes: database, outbound calls or the route's own code`,
      artifact: routeTraceQl(f.service, f.subject, `duration > ${traceDuration(limit)}`),
      expectedGain: `Names the spans that hold the ${formatSeconds(excess)} over the objective, which decides the fix`,
      confidence: 'high',
      verify,
    },
    {
      action:
        'If the time is in the route’s own code, cache or precompute its result, or compute it in SQL on the ' +
        'candidate rows only; if it is in the database, fix the statements the traces name',
      expectedGain: `Up to ${formatSeconds(excess)} off the p95, ${f.impact.toFixed(2)} s of user time per second`,
      confidence: 'low',
      verify,
    },
  ];
}

function errorRate(f: FindingDraft, snapshot: Snapshot): Recommendation[] {
  const ratio = value(f, 'error_ratio') ?? 0;
  const limit = value(f, 'limit_error_ratio') ?? 0;
  const verify =
    `The 5xx ratio of ${f.subject} (errors ÷ requests) falls under ${formatPercent(limit)}` +
    `${using(snapshot, 'routes.errors')}`;
  return [
    {
      action: `Open the failed traces of ${f.subject} and find the span that fails first: a dependency, the database or the route's own code`,
      artifact: routeTraceQl(f.service, f.subject, `span.${ATTR.httpResponseStatusCode} >= 500`),
      expectedGain: `Names the failing call behind ${formatPercent(ratio)} of the route's requests`,
      confidence: 'high',
      verify,
    },
    {
      action:
        'If a downstream call fails, retry it with backoff (idempotent calls only) behind a circuit breaker, and ' +
        'answer 503 with Retry-After while the breaker is open',
      artifact:
        '// Transient failures are retried; a provider outage fails fast instead of holding every request.\n' +
        'const result = await breaker.fire(() => retry(() => provider.call(input), { retries: 2, backoffMs: 100 }));',
      expectedGain:
        'Transient failures stop reaching users; an outage costs a fast 503 instead of a slow 5xx',
      confidence: 'low',
      verify,
    },
  ];
}

function latencyRegression(f: FindingDraft, snapshot: Snapshot): Recommendation[] {
  const baseline = value(f, 'baseline_p95_s') ?? 0;
  return [
    {
      action:
        `Find what changed since the previous ${snapshot.window} (a deploy, configuration, data volume, a ` +
        `dependency): compare a slow trace of ${f.subject} now with one from before and see which span grew`,
      artifact: routeTraceQl(f.service, f.subject, `duration > ${traceDuration(baseline)}`),
      expectedGain: `Back to a p95 of about ${formatSeconds(baseline)}: ${f.impact.toFixed(2)} s of user time per second`,
      confidence: 'medium',
      verify: `The p95 of ${f.subject} returns to about ${formatSeconds(baseline)}${using(snapshot, 'routes.p95')}`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime

function eventLoopLag(f: FindingDraft, snapshot: Snapshot): Recommendation[] {
  const limit = value(f, 'limit_event_loop_p99_s') ?? 0;
  const delay = value(f, 'event_loop_p99_s');
  const verify =
    `The event-loop p99 delay of ${f.subject} stays under ${formatSeconds(limit)}` +
    `${using(snapshot, 'runtime.eventLoopP99')}`;
  return [
    {
      action: `Record a CPU profile of ${f.service} under load to name the synchronous function that holds the event loop${slowestRouteHint(snapshot, f.service)}`,
      artifact: CPU_PROFILE,
      expectedGain: 'Names the blocking function and its share of the main thread',
      confidence: 'high',
      verify,
    },
    {
      action:
        'Move the blocking work off the main thread: the async variant of the API (crypto.pbkdf2, zlib.gzip, ' +
        'fs.promises), a worker thread for pure computation, or chunks that yield with setImmediate',
      artifact:
        "import { pbkdf2 } from 'node:crypto';\nimport { promisify } from 'node:util';\n" +
        '// before: crypto.pbkdf2Sync(password, salt, 500_000, 64, "sha512") blocks every request meanwhile\n' +
        'const key = await promisify(pbkdf2)(password, salt, 500_000, 64, "sha512"); // runs on the libuv pool',
      expectedGain:
        delay === null
          ? 'Other requests stop waiting for the loop'
          : `Requests stop waiting up to ${formatSeconds(delay)} for the loop`,
      confidence: 'medium',
      verify,
    },
  ];
}

function memoryLeak(f: FindingDraft, snapshot: Snapshot): Recommendation[] {
  const limit = value(f, 'limit_bytes_per_h') ?? 0;
  const hours = value(f, 'hours_to_exhaustion_h');
  const verify =
    `The heap after GC of ${f.subject} stays flat under steady load (growth under ${formatBytes(limit)}/h)` +
    `${using(snapshot, 'runtime.heapGrowth')}`;
  return [
    {
      action: `Take two heap snapshots of ${f.service} minutes apart under load and compare them: the objects whose count and retained size only grow are the leak`,
      artifact:
        'node --heapsnapshot-signal=SIGUSR2 <your entry point>   # start the service with it\n' +
        'kill -USR2 <pid>; sleep 300; kill -USR2 <pid>           # two snapshots, five minutes apart\n' +
        '# Chrome DevTools → Memory → load both → "Comparison", sorted by size delta',
      expectedGain: 'Names what is retained and the code that keeps it',
      confidence: 'high',
      verify,
    },
    {
      action:
        'Bound whatever grows per request: an LRU cache with a size limit instead of a plain Map, and remove ' +
        'listeners and timers added per request',
      artifact:
        "import { LRUCache } from 'lru-cache';\n" +
        '// Bounded: past 1 000 entries (or 50 MB) the least recently used are evicted.\n' +
        'const cache = new LRUCache<string, Rendered>({ max: 1_000, maxSize: 50_000_000, sizeCalculation: (v) => v.length });',
      expectedGain:
        hours === null
          ? 'A flat heap, and no "JavaScript heap out of memory" crash'
          : `A flat heap, instead of a "JavaScript heap out of memory" crash in about ${formatNumber(hours)} h`,
      confidence: 'medium',
      verify,
    },
  ];
}

function cpuSaturation(f: FindingDraft, snapshot: Snapshot): Recommendation[] {
  const limit = value(f, 'limit_cpu_cores') ?? 0;
  const verify = `CPU of ${f.subject} stays under ${formatPercent(limit)} of a core${using(snapshot, 'runtime.cpu')}`;
  return [
    {
      action: `Record a CPU profile of ${f.service} under load to see which functions use the core${slowestRouteHint(snapshot, f.service)}`,
      artifact: CPU_PROFILE,
      expectedGain: 'Names the hot functions and their share of CPU',
      confidence: 'high',
      verify,
    },
    {
      action:
        'Cut the hot path’s CPU (cache or precompute results, let the database filter and aggregate), and run ' +
        'one process per core (more replicas, or node:cluster) so one thread is not the ceiling',
      expectedGain: `Headroom under the ${formatPercent(limit)} objective, so requests stop queueing behind each other`,
      confidence: 'medium',
      verify,
    },
  ];
}

function gcPressure(f: FindingDraft, snapshot: Snapshot): Recommendation[] {
  const limit = value(f, 'limit_gc_s_per_s') ?? 0;
  const gc = value(f, 'gc_s_per_s') ?? 0;
  const used = value(f, 'heap_used_bytes');
  const heapLimit = value(f, 'heap_limit_bytes');
  const verify = `GC time of ${f.subject} stays under ${formatSeconds(limit)} per second${using(snapshot, 'runtime.gc')}`;
  const out: Recommendation[] = [
    {
      action: `Record a heap allocation profile of ${f.service} under load to see which code allocates most`,
      artifact:
        '# Sampled allocations; open the .heapprofile in Chrome DevTools (Memory). --trace-gc logs each pause.\n' +
        'node --heap-prof --heap-prof-dir=./profiles <your entry point>',
      expectedGain: 'Names the allocation sites that keep the collector busy',
      confidence: 'high',
      verify,
    },
  ];
  // Past 80 % of the limit, collections free little and run back to back: the heap is too small, or leaking.
  if (used !== null && heapLimit !== null && used >= 0.8 * heapLimit) {
    const mb = Math.ceil((2 * heapLimit) / 1_048_576);
    out.push({
      action: `The heap is ${formatPercent(used / heapLimit)} full: check for a leak first (see memory-leak findings), then give the heap room`,
      artifact: `NODE_OPTIONS=--max-old-space-size=${mb}`,
      expectedGain: `Collections free more per pause: most of the ${formatSeconds(gc)} per second of GC`,
      confidence: 'medium',
      verify,
    });
  } else {
    out.push({
      action:
        'Allocate less per request: stream large responses instead of building them in memory, reuse buffers, ' +
        'and avoid copying large arrays and objects on the hot path',
      expectedGain: `Part of the ${formatSeconds(gc)} per second of GC pauses back for requests`,
      confidence: 'medium',
      verify,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Database

/** Rows per call past which fetching less is a fix of its own. */
const MANY_ROWS = 1_000;

function slowStatement(f: FindingDraft, snapshot: Snapshot): Recommendation[] {
  const sql =
    text(f, 'statement') ?? snapshot.statements.find((s) => s.fingerprint === f.subject)?.query ?? '';
  const limitMs = value(f, 'limit_p95_ms') ?? 0;
  const meanMs = value(f, 'mean_ms') ?? 0;
  const rows = value(f, 'rows_per_call');
  const verify =
    `The statement's mean_exec_time and stddev_exec_time in pg_stat_statements drop so its p95 is under ` +
    `${formatSeconds(limitMs / 1000)} (reset with pg_stat_statements_reset() after the fix to see it sooner)` +
    `${using(snapshot, 'statements')}`;
  const out: Recommendation[] = [
    {
      action: `Run EXPLAIN on the statement to see where its ${formatSeconds(meanMs / 1000)} go: a sequential scan of a large table, a sort, or a join`,
      // GENERIC_PLAN (PostgreSQL 16+) plans a statement with $1 placeholders as pg_stat_statements stores it.
      artifact: `-- PostgreSQL 16+; on older servers put real values in place of $1, $2…\nEXPLAIN (GENERIC_PLAN) ${sql.trim().replace(/;\s*$/, '')};`,
      expectedGain: 'Shows the plan node that costs the time, which decides the fix',
      confidence: 'high',
      verify,
    },
  ];
  const index = indexCandidate(sql);
  if (index !== null) {
    const columns = index.columns.join(', ');
    // The plan, when the evidence has one, turns a guess from the SQL text into a confirmed scan.
    const confirmed =
      f.evidence.plan !== undefined &&
      new RegExp(`Seq Scan on ${escapeRegExp(index.table)}\\b`).test(f.evidence.plan);
    out.push({
      action:
        `Add an index on ${index.table} (${columns}) if EXPLAIN shows a sequential scan of ${index.table}: the ` +
        `statement filters it by equality on ${columns} (a heuristic from the SQL text; CONCURRENTLY keeps ` +
        'writes going while it builds, and every write pays for the index afterwards)',
      artifact: `CREATE INDEX CONCURRENTLY ON ${index.table} (${columns});`,
      expectedGain: `A lookup by ${columns} becomes an index scan: from ${formatSeconds(meanMs / 1000)} to a few milliseconds per call, ${f.impact.toFixed(2)} s of waiting per second`,
      confidence: confirmed ? 'medium' : 'low',
      verify: `EXPLAIN shows an Index Scan on ${index.table} using the new index; ${verify.charAt(0).toLowerCase()}${verify.slice(1)}`,
    });
  }
  if (rows !== null && rows >= MANY_ROWS) {
    out.push({
      action: `Fetch fewer rows: the statement returns about ${formatNumber(rows)} rows per call; page it (LIMIT with a keyset) or aggregate in SQL`,
      expectedGain: 'Less time reading, sending and parsing rows the caller does not use',
      confidence: 'medium',
      verify,
    });
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const IDENT = String.raw`(?:"[^"]+"|[A-Za-z_][\w$]*)`;
const KEYWORDS = new Set(
  (
    'where join on left right inner outer full cross natural lateral using set group order limit offset having ' +
    'window union intersect except returning for only select values as and or not'
  ).split(' '),
);

/**
 * The table and columns a statement filters by equality with a parameter (`WHERE o.customer_id = $1`, or
 * `= ANY($1)`), read from the normalized SQL text: a heuristic, not a plan. Aliases are resolved through FROM and
 * JOIN; an unqualified column is only attributed when the statement reads a single table. `id` columns are left
 * out (a primary key is indexed already). Null when nothing qualifies.
 */
export function indexCandidate(sql: string): { table: string; columns: string[] } | null {
  const q = sql.replace(/\s+/g, ' ').trim();
  if (!/^(?:WITH|SELECT|UPDATE|DELETE)\b/i.test(q)) return null;

  const tables = new Map<string, string>(); // name or alias → table as written
  const distinct = new Set<string>();
  const from = new RegExp(
    String.raw`(?<!\bFOR |\bDO )\b(?:FROM|JOIN|UPDATE) (${IDENT}(?:\.${IDENT})?)(?![\w$]| ?\()(?: (?:AS )?(${IDENT}))?`,
    'gi',
  );
  for (const m of q.matchAll(from)) {
    const table = m[1] ?? '';
    if (table === '' || KEYWORDS.has(table.toLowerCase())) continue;
    distinct.add(table);
    tables.set(table.toLowerCase(), table);
    tables.set((table.split('.').pop() ?? table).toLowerCase(), table);
    const alias = m[2];
    if (alias !== undefined && !KEYWORDS.has(alias.toLowerCase())) tables.set(alias.toLowerCase(), table);
  }
  if (distinct.size === 0) return null;
  // `FROM a, b` lists tables the FROM/JOIN scan above does not see: unqualified columns are then ambiguous.
  const commaJoin = new RegExp(String.raw`\bFROM ${IDENT}(?:\.${IDENT})?(?: (?:AS )?${IDENT})? ?,`, 'i').test(
    q,
  );
  const single = distinct.size === 1 && !commaJoin ? [...distinct][0] : undefined;

  const byTable = new Map<string, string[]>();
  const condition = new RegExp(
    String.raw`\b(?:WHERE|AND) \(?(?:(${IDENT})\.)?(${IDENT}) ?= ?(?:\$\d+|ANY ?\( ?\$\d+ ?\))`,
    'gi',
  );
  for (const m of q.matchAll(condition)) {
    const qualifier = m[1];
    const column = m[2] ?? '';
    if (column === '' || column.toLowerCase() === 'id' || KEYWORDS.has(column.toLowerCase())) continue;
    const table = qualifier !== undefined ? tables.get(qualifier.toLowerCase()) : single;
    if (table === undefined) continue;
    const columns = byTable.get(table) ?? [];
    if (!columns.includes(column)) columns.push(column);
    byTable.set(table, columns);
  }
  let best: { table: string; columns: string[] } | null = null;
  for (const [table, columns] of byTable) {
    if (best === null || columns.length > best.columns.length) best = { table, columns };
  }
  return best;
}

function poolSaturation(f: FindingDraft, snapshot: Snapshot): Recommendation[] {
  const avg = value(f, 'pending_avg') ?? 0;
  const size = value(f, 'pool_max');
  const verify = `Requests waiting for a connection of ${f.subject} stay at 0${using(snapshot, 'pools.pending')}`;
  const out: Recommendation[] = [
    {
      action: `Find what holds the connections of ${f.service}: a transaction kept open across slow work that is not the database (an HTTP call between BEGIN and COMMIT), or slow statements${slowestRouteHint(snapshot, f.service)}`,
      artifact:
        '-- Connections "idle in transaction" for long are held while the app does something else.\n' +
        'SELECT pid, application_name, state, now() - xact_start AS in_transaction, left(query, 120) AS last_query\n' +
        'FROM pg_stat_activity\n' +
        'WHERE datname = current_database() AND xact_start IS NOT NULL\n' +
        'ORDER BY xact_start\n' +
        'LIMIT 20;',
      expectedGain: 'Names the transactions that keep connections from the pool, and for how long',
      confidence: 'high',
      verify,
    },
    {
      action:
        'Do slow work outside the transaction (call the remote service first, then open a short transaction to ' +
        'write its result), or hand it to a queue',
      artifact:
        '// before: BEGIN; …; await warehouse.reserve(item); …; COMMIT — a connection held across the HTTP call\n' +
        'const reservation = await warehouse.reserve(item);\n' +
        'await withTransaction(pool, (client) => saveReservation(client, reservation)); // milliseconds on a connection',
      expectedGain: `Connections return to the pool in milliseconds: the ${formatNumber(avg)} requests waiting on average (${f.impact.toFixed(2)} s per second) stop waiting`,
      confidence: 'medium',
      verify,
    },
  ];
  if (size !== null) {
    out.push({
      action:
        'Only if the database has headroom (max_connections across all instances and pools), raise the pool ' +
        'size; it hides held connections rather than fixing them',
      artifact: `new pg.Pool({ max: ${formatNumber(size * 2)} }) // was ${formatNumber(size)}`,
      expectedGain: 'Less waiting for the same load, at the cost of more database connections',
      confidence: 'low',
      verify,
    });
  }
  return out;
}
