/**
 * What to change for a finding, concretely, and how to know it worked: the pure step after `correlate`. Every
 * recommendation is written from the finding's typed facts (the statement, the route, the host, the numbers);
 * advice the facts do not support is not printed. Advice about code shapes in general, with no fact of the app in
 * it, is at most one line and marked `general`.
 */
import { ATTR } from '@hotpath/instrumentation/semconv';
import { VITAL_NAMES } from './detectors/frontend.ts';
import { type Draft, factValues, type HotFunction, type RouteBreakdown } from './facts.ts';
import { formatBytes, formatNumber, formatPercent, formatRate, formatSeconds } from './findings.ts';
import { hotCodeAdvice } from './recommend/hot-code.ts';
import { quote, serviceMatcher } from './traces/traceql.ts';
import type { Finding, Recommendation, Snapshot, Vital } from './types.ts';

/** The finding with its recommendations. */
export function withRecommendations(draft: Draft, snapshot: Snapshot): Finding {
  const { facts, ...finding } = draft;
  // Facts filled after the draft (correlate's routes and holders, the checked batched statement) reach the
  // evidence values here, once, at the end of the pipeline.
  return {
    ...finding,
    evidence: { ...finding.evidence, values: { ...finding.evidence.values, ...factValues(facts) } },
    recommendations: [...recommend(draft, snapshot), ...forAbsorbedPools(draft, snapshot)],
  };
}

/**
 * A cause that explains a saturated pool (a slow statement or an N+1 on the route that holds the connections)
 * says so in its own advice too: the pool, how many waited, and who held it, from the absorbed finding's values.
 */
function forAbsorbedPools(d: Draft, snapshot: Snapshot): Recommendation[] {
  if (d.kind === 'pool-saturation') return [];
  return (d.evidence.symptoms ?? [])
    .filter((x) => x.kind === 'pool-saturation')
    .map((x) => {
      const holder = typeof x.values.top_holder === 'string' ? x.values.top_holder : undefined;
      const waiting = Number(x.values.pending_avg ?? 0);
      return {
        action:
          `While it runs, ${holder ?? 'the route that runs it'} holds a connection of pool ${x.subject}, ` +
          `which requests wait for (${formatNumber(waiting)} waiting on average, up to ${formatNumber(Number(x.values.pending_max ?? 0))}): ` +
          'the fix above frees the pool too; until it lands, keep that work off the pool the other routes use',
        expectedGain: `The ${formatNumber(waiting)} requests waiting on average (${waiting.toFixed(2)} s per second) stop waiting`,
        confidence: 'medium',
        verify: `Requests waiting for a connection of ${x.subject} stay at 0${using(snapshot, 'pools.pending')}`,
      };
    });
}

/** At least one recommendation for every kind; the first is the one to start with. */
export function recommend(d: Draft, snapshot: Snapshot): Recommendation[] {
  switch (d.kind) {
    case 'slow-endpoint':
    case 'latency-regression':
      return routeLatency(d, snapshot);
    case 'error-rate':
      return errorRate(d, snapshot);
    case 'event-loop-lag':
      return eventLoopLag(d, snapshot);
    case 'memory-leak':
      return memoryLeak(d, snapshot);
    case 'cpu-saturation':
      return cpuSaturation(d, snapshot);
    case 'gc-pressure':
      return gcPressure(d, snapshot);
    case 'slow-statement':
      return slowStatement(d, snapshot);
    case 'pool-saturation':
      return poolSaturation(d, snapshot);
    case 'n-plus-one':
      return nPlusOne(d);
    case 'parallelizable-queries':
      return parallelizable(d);
    case 'missing-index':
      return missingIndex(d);
    case 'cache-candidate':
      return cacheCandidate(d);
    case 'web-vital':
      return webVital(d, snapshot);
    case 'heavy-asset':
      return heavyAsset(d, snapshot);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces

/** "…: <query>" when the snapshot holds the query, so the check can be pasted as it is. */
function using(snapshot: Snapshot, key: string): string {
  const query = snapshot.queries[key];
  return query === undefined ? '' : `: ${query.text}`;
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

function ms(value: number): string {
  return formatSeconds(value / 1000);
}

/** `EXPLAIN` for a statement as pg_stat_statements or a span stores it ($1 placeholders). */
function explain(sql: string): string {
  const statement = sql.trim().replace(/;\s*$/, '');
  return (
    '-- PostgreSQL 16+ plans $1 placeholders as they are; on 15, PREPARE it and EXPLAIN EXECUTE with values.\n' +
    `EXPLAIN (GENERIC_PLAN) ${statement};`
  );
}

const CPU_PROFILE_HINT =
  'node --cpu-prof --cpu-prof-dir=./profiles <entry point>  # open the .cpuprofile in DevTools or speedscope';

// ---------------------------------------------------------------------------------------------------------------
// API

/** A slow or slower route that nothing else explains: what its traces show decides the advice. */
function routeLatency(
  d: Draft<'slow-endpoint' | 'latency-regression'>,
  snapshot: Snapshot,
): Recommendation[] {
  const target = d.kind === 'slow-endpoint' ? d.facts.limit_p95_s : d.facts.baseline_p95_s;
  const lost = d.kind === 'slow-endpoint' ? d.facts.excess_s : d.facts.increase_s;
  const verify = `The p95 of ${d.subject} falls to ${formatSeconds(target)}${using(snapshot, 'routes.p95')}`;
  const slowTraces = routeTraceQl(d.service, d.subject, `duration > ${traceDuration(target)}`);
  const b = d.facts.breakdown;
  if (b === undefined) {
    return [
      {
        action: `Open the traces of ${d.subject} slower than ${formatSeconds(target)}: no traces of it were read, so where its ${formatSeconds(lost)} go is not known yet`,
        artifact: slowTraces,
        expectedGain: `Names the spans that hold the ${formatSeconds(lost)}`,
        confidence: 'medium',
        verify,
      },
    ];
  }
  return [breakdownAdvice(d.subject, b, verify, slowTraces, d.facts.hot_code)];
}

function breakdownAdvice(
  route: string,
  b: RouteBreakdown,
  verify: string,
  slowTraces: string,
  hot?: HotFunction,
): Recommendation {
  const parts = [
    { part: 'db', share: b.db_share, ms: b.db_ms_mean },
    { part: 'pool', share: b.pool_wait_share, ms: b.pool_wait_ms_mean },
    { part: 'http', share: b.http_share, ms: b.http_ms_mean },
    { part: 'own', share: b.own_share, ms: b.own_ms_mean },
  ].sort((x, y) => y.share - x.share);
  const top = parts[0] as (typeof parts)[number];
  if (top.part === 'db' && b.top_statement !== undefined) {
    return {
      action: `Start with ${b.top_statement.text.replace(/\s+/g, ' ').trim()}: it holds ${formatPercent(b.top_statement.share)} of ${route} (${ms(b.db_ms_mean)} of database time per request); read its plan`,
      artifact: explain(b.top_statement.text),
      expectedGain: `Up to ${ms(b.mean_ms * b.top_statement.share)} of the route's ${ms(b.mean_ms)} mean`,
      confidence: 'medium',
      verify,
    };
  }
  if (top.part === 'pool') {
    return {
      action: `${route} waits ${ms(b.pool_wait_ms_mean)} per request for a pooled connection (${formatPercent(b.pool_wait_share)} of its time): the fix is in what holds the pool's connections, not in this route`,
      artifact: slowTraces,
      expectedGain: `Up to ${ms(b.pool_wait_ms_mean)} per request`,
      confidence: 'medium',
      verify,
    };
  }
  if (top.part === 'http') {
    const host = b.top_host === undefined ? 'its outbound calls' : b.top_host.host;
    return {
      action: `${route} spends ${ms(b.http_ms_mean)} per request (${formatPercent(b.http_share)}) waiting on ${host}: bound that call with a timeout under the route's objective, cache its answer, or start it concurrently with the route's other work`,
      artifact: slowTraces,
      expectedGain: `Up to ${ms(b.http_ms_mean)} per request`,
      confidence: 'medium',
      verify,
    };
  }
  if (hot !== undefined) {
    const advice = hotCodeAdvice(hot);
    return {
      action: `${route} runs ${ms(b.own_ms_mean)} of its own code per request (${formatPercent(b.own_share)} of its time): ${advice.action}`,
      artifact: advice.artifact,
      expectedGain: `Up to ${ms(b.own_ms_mean * hot.share)} per request, the part of its own code ${hot.function} holds`,
      confidence: 'high',
      verify,
    };
  }
  return {
    action: `${route} runs ${ms(b.own_ms_mean)} of its own code per request with no query or outbound call running (${formatPercent(b.own_share)} of its time): profile that route`,
    artifact: `${slowTraces}\n${CPU_PROFILE_HINT}`,
    expectedGain: `Up to ${ms(b.own_ms_mean)} per request`,
    confidence: 'medium',
    verify,
  };
}

function errorRate(d: Draft<'error-rate'>, snapshot: Snapshot): Recommendation[] {
  const f = d.facts;
  return [
    {
      action: `Open the failed traces of ${d.subject} and find the span that fails first: ${formatPercent(f.error_ratio)} of its requests answer 5xx`,
      artifact: routeTraceQl(d.service, d.subject, `span.${ATTR.httpResponseStatusCode} >= 500`),
      expectedGain: `The error ratio back under ${formatPercent(f.limit_error_ratio)}: ${formatNumber(f.errors_per_s)} failed requests per second fewer`,
      confidence: 'medium',
      verify: `The 5xx ratio of ${d.subject} falls under ${formatPercent(f.limit_error_ratio)}${using(snapshot, 'routes.errors')}`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime

function eventLoopLag(d: Draft<'event-loop-lag'>, snapshot: Snapshot): Recommendation[] {
  const f = d.facts;
  const verify =
    `The longest event-loop delay of ${f.instance} stays under ${formatSeconds(f.limit_event_loop_delay_s)} in ` +
    `most intervals${using(snapshot, 'runtime.eventLoopDelay')}`;
  const delay = f.event_loop_delay_s;
  const waitGain =
    delay === undefined
      ? 'Other requests stop waiting for the loop'
      : `Other requests stop waiting up to ${formatSeconds(delay)} for the loop`;
  if (f.hot_code !== undefined) {
    const advice = hotCodeAdvice(f.hot_code);
    const route =
      f.blocking === undefined
        ? ''
        : `${f.blocking.route} blocks the loop for ${ms(f.blocking.sync_ms_mean)} per request. `;
    return [
      {
        action: `${route}${advice.action}`,
        artifact:
          f.blocking === undefined
            ? advice.artifact
            : `${advice.artifact}\n${routeTraceQl(d.service, f.blocking.route)}`,
        expectedGain: waitGain,
        confidence: 'high',
        verify,
      },
    ];
  }
  if (f.blocking !== undefined) {
    const b = f.blocking;
    return [
      {
        action: `Take the ${ms(b.sync_ms_mean)} of synchronous work in ${b.route} off the event loop: while it runs (${formatPercent(b.share)} of the process's synchronous time, no query or call in flight), every other request waits`,
        artifact: `${routeTraceQl(d.service, b.route)}\n${CPU_PROFILE_HINT}`,
        expectedGain:
          delay === undefined
            ? 'Other requests stop waiting for the loop'
            : `Other requests stop waiting up to ${formatSeconds(delay)} for the loop`,
        confidence: 'high',
        verify,
      },
      {
        action:
          'Synchronous APIs on a request path (…Sync calls, large JSON, regexes, loops over big arrays) are the usual cause',
        expectedGain: 'A general hint',
        confidence: 'low',
        verify,
        general: true,
      },
    ];
  }
  return [
    {
      action: `Record a CPU profile of ${d.service} under load: its traces do not show one route holding the loop`,
      artifact: CPU_PROFILE_HINT,
      expectedGain: 'Names the function that holds the event loop',
      confidence: 'medium',
      verify,
    },
  ];
}

function memoryLeak(d: Draft<'memory-leak'>, snapshot: Snapshot): Recommendation[] {
  const f = d.facts;
  const verify =
    `The heap after GC of ${f.instance} stays flat under steady load (growth under ${formatBytes(f.limit_bytes_per_h)}/h)` +
    `${using(snapshot, 'runtime.heapGrowth')}`;
  const site = f.growing_site;
  const fromProfile: Recommendation[] =
    site === undefined
      ? []
      : [
          {
            action:
              `Find what keeps the objects ${site.function} (${site.location}) allocates${site.allocates_in === undefined ? '' : ` through ${site.allocates_in}`}: ` +
              `it holds ${formatBytes(site.grown_bytes)} more live memory than ${formatSeconds(f.heap_profiles_apart_s ?? 0)} earlier, ` +
              `${formatPercent(site.share)} of the growth. Whatever holds on to them needs a bound or an eviction`,
            artifact: `# heap profile, live bytes by allocation site, outermost first\n${site.stack}`,
            expectedGain:
              f.hours_to_exhaustion_h === undefined
                ? `Up to ${formatPercent(site.share)} of the growth stops`
                : `Up to ${formatPercent(site.share)} of the growth stops, before the heap is full in about ${formatNumber(f.hours_to_exhaustion_h)} h`,
            confidence: 'high',
            verify,
          },
        ];
  return [
    ...fromProfile,
    {
      action: `Compare two heap snapshots of ${d.service} taken minutes apart under load: the heap after GC grows ${formatBytes(f.heap_growth_bytes_per_h)}/h and has not levelled off`,
      artifact:
        'node --heapsnapshot-signal=SIGUSR2 <entry point>; kill -USR2 <pid>; sleep 300; kill -USR2 <pid>  # DevTools → Memory → Comparison',
      expectedGain:
        f.hours_to_exhaustion_h === undefined
          ? 'Names what is retained and what keeps it'
          : `Names what is retained, before the heap is full in about ${formatNumber(f.hours_to_exhaustion_h)} h`,
      confidence: 'medium',
      verify,
    },
  ];
}

function cpuSaturation(d: Draft<'cpu-saturation'>, snapshot: Snapshot): Recommendation[] {
  const f = d.facts;
  const verify = `CPU of ${f.instance} stays under ${formatPercent(f.limit_cpu_cores)} of a core${using(snapshot, 'runtime.cpu')}`;
  if (f.hot_code !== undefined) {
    const advice = hotCodeAdvice(f.hot_code);
    return [
      {
        action: advice.action,
        artifact: advice.artifact,
        expectedGain: `Up to ${formatPercent(f.hot_code.share)} of the main thread's time back; headroom under ${formatPercent(f.limit_cpu_cores)} stops requests queueing`,
        confidence: 'high',
        verify,
      },
    ];
  }
  return [
    {
      action: `Record a CPU profile of ${d.service} under load: it uses ${formatPercent(f.cpu_cores)} of a core, and Node runs JavaScript on one`,
      artifact: CPU_PROFILE_HINT,
      expectedGain: `Names the functions that use the core; headroom under ${formatPercent(f.limit_cpu_cores)} stops requests queueing`,
      confidence: 'medium',
      verify: `CPU of ${f.instance} stays under ${formatPercent(f.limit_cpu_cores)} of a core${using(snapshot, 'runtime.cpu')}`,
    },
  ];
}

function gcPressure(d: Draft<'gc-pressure'>, snapshot: Snapshot): Recommendation[] {
  const f = d.facts;
  const verify = `GC time of ${f.instance} stays under ${formatSeconds(f.limit_gc_s_per_s)} per second${using(snapshot, 'runtime.gc')}`;
  const out: Recommendation[] = [
    {
      action: `Record a heap allocation profile of ${d.service} under load: GC takes ${formatSeconds(f.gc_s_per_s)} of every second`,
      artifact:
        'node --heap-prof --heap-prof-dir=./profiles <entry point>  # open the .heapprofile in DevTools → Memory',
      expectedGain: 'Names the allocation sites that keep the collector busy',
      confidence: 'medium',
      verify,
    },
  ];
  const used = f.heap_used_bytes;
  const limit = f.heap_limit_bytes;
  // Past 80 % of the limit, collections free little and run back to back: the heap is too small, or leaking.
  if (used !== undefined && limit !== undefined && used >= 0.8 * limit) {
    out.push({
      action: `The heap is ${formatPercent(used / limit)} full: rule out a leak, then give the heap room`,
      artifact: `NODE_OPTIONS=--max-old-space-size=${Math.ceil((2 * limit) / 1_048_576)}`,
      expectedGain: `Collections free more per pause: most of the ${formatSeconds(f.gc_s_per_s)} per second of GC`,
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

function slowStatement(d: Draft<'slow-statement'>, snapshot: Snapshot): Recommendation[] {
  const f = d.facts;
  const verify =
    `The statement's mean and stddev in pg_stat_statements drop so its p95 is under ` +
    `${formatSeconds(f.limit_p95_ms / 1000)}${using(snapshot, 'statements')}`;
  const routes = f.routes.length === 0 ? '' : ` (run by ${f.routes.join(', ')})`;
  const out: Recommendation[] = [
    {
      action: `Read the plan of the statement${routes}: where do its ${ms(f.mean_ms)} per call go?`,
      artifact: explain(f.statement),
      expectedGain: 'Shows the plan node that costs the time, which decides the fix',
      confidence: 'high',
      verify,
    },
  ];
  if (f.rows_per_call !== undefined && f.rows_per_call >= MANY_ROWS) {
    out.push({
      action: `Fetch fewer rows: the statement returns about ${formatNumber(f.rows_per_call)} rows per call; page it (LIMIT with a keyset) or aggregate in SQL`,
      expectedGain: 'Less time reading, sending and parsing rows the caller does not use',
      confidence: 'medium',
      verify,
    });
  }
  return out;
}

function poolSaturation(d: Draft<'pool-saturation'>, snapshot: Snapshot): Recommendation[] {
  const f = d.facts;
  const verify = `Requests waiting for a connection of ${f.pool} stay at 0${using(snapshot, 'pools.pending')}`;
  const out: Recommendation[] = [];
  const holder = f.holders[0];
  if (holder !== undefined && holder.share > 0.5) {
    out.push({
      action: `Shorten how long ${holder.route} holds a connection: ${ms(holder.db_ms_mean)} per request from its first query to its last, ${formatPercent(holder.share)} of the pool's connection time. Do slow work that is not a query (calls, computation) before or after, outside the transaction`,
      artifact: routeTraceQl(d.service, holder.route),
      expectedGain: `The ${formatNumber(f.pending_avg)} requests waiting on average (${d.impact.toFixed(2)} s per second) stop waiting`,
      confidence: 'high',
      verify,
    });
  } else {
    out.push({
      action: `Find what holds the connections of ${f.pool}: sessions in a transaction, oldest first`,
      artifact:
        'SELECT pid, application_name, state, now() - xact_start AS in_transaction, left(query, 120) AS last_query\n' +
        'FROM pg_stat_activity WHERE datname = current_database() AND xact_start IS NOT NULL ORDER BY xact_start LIMIT 20;',
      expectedGain: 'Names the transactions that keep connections from the pool, and for how long',
      confidence: 'medium',
      verify,
    });
  }
  if (f.pool_max !== undefined && f.used_max >= f.pool_max) {
    out.push({
      action: `Only if the database has headroom (max_connections over every instance and pool), raise the pool's size above ${formatNumber(f.pool_max)}: it hides held connections rather than fixing them`,
      expectedGain: 'Less waiting for the same load, at the cost of more database connections',
      confidence: 'low',
      verify,
    });
  }
  return out;
}

function nPlusOne(d: Draft<'n-plus-one'>): Recommendation[] {
  const f = d.facts;
  const site = f.sites[0];
  const count = site?.count_per_request_median ?? f.limit_repeats;
  const avoidable = site?.avoidable_ms_mean ?? 0;
  const routes = f.sites.map((s) => s.route).join(', ');
  const verify = `In the traces of ${routes} this statement runs once per request instead of ${count} times, and the route's p95 drops by about ${ms(avoidable)}`;
  const b = f.batched;
  if (b === undefined) {
    return [
      {
        action: `Fetch the rows of ${routes} in one statement instead of one per item: ${count} × per request`,
        artifact: `-- Now, once per item:\n${f.statement}`,
        expectedGain: `About ${ms(avoidable)} less per request: ${count} round trips become one`,
        confidence: 'medium',
        verify,
      },
    ];
  }
  const checked =
    b.planned === true
      ? 'PostgreSQL planned it without error'
      : b.planned === false
        ? `PostgreSQL did not plan it (${b.plan_error ?? 'error'}): adjust before use`
        : 'not checked against the database';
  return [
    {
      action: `Replace the ${count} per-item statements in ${routes} with one that takes every key in an array (${b.parameter})`,
      artifact:
        `-- Now, once per item (${count} times per request):\n--   ${f.statement.replace(/\s+/g, ' ')}\n` +
        `-- Once per request (${checked}):\n${b.statement};\n` +
        b.notes.map((n) => `-- ${n}`).join('\n'),
      expectedGain: `About ${ms(avoidable)} less per request: ${count} round trips become one`,
      confidence: b.planned === true ? 'high' : b.planned === false ? 'low' : 'medium',
      verify,
    },
  ];
}

function parallelizable(d: Draft<'parallelizable-queries'>): Recommendation[] {
  const f = d.facts;
  const calls = f.statements.map(
    (s) => `  ${s.startsWith('HTTP ') ? `fetch(/* ${s} */)` : `pool.query(${JSON.stringify(s)})`},`,
  );
  const vars = f.statements.map((_, i) => `r${i + 1}`).join(', ');
  return [
    {
      action: `Run the ${f.calls_per_run_median} independent calls of ${f.route} concurrently instead of one after the other`,
      artifact:
        '// None of these awaits uses the previous result (read-only, outside a transaction).\n' +
        `const [${vars}] = await Promise.all([\n${calls.join('\n')}\n]);`,
      expectedGain: `About ${ms(f.saved_ms_mean)} less per request (${formatPercent(f.saved_share_mean)}): the calls take as long as the longest, not their sum`,
      confidence: 'medium',
      verify: `In the traces of ${f.route} these spans overlap instead of following each other, and the route's p95 drops by about ${ms(f.saved_ms_mean)}. If one call does use another's result, keep that pair in order`,
    },
  ];
}

function missingIndex(d: Draft<'missing-index'>): Recommendation[] {
  const f = d.facts;
  const lines = f.statements.map((s) => {
    const cost =
      s.cost_after === undefined
        ? `plan cost ${formatNumber(s.cost_before)}`
        : `plan cost ${formatNumber(s.cost_before)} → ${formatNumber(s.cost_after)}`;
    return `--   ${s.statement.replace(/\s+/g, ' ').slice(0, 160)}\n--     ${cost}; ${formatNumber(s.calls_per_s)} calls/s, mean ${ms(s.mean_ms)}${s.plan_before.length === 0 ? '' : `; now: ${s.plan_before.join('; ')}`}`;
  });
  const size = f.index_bytes === undefined ? '' : ` (about ${formatBytes(f.index_bytes)})`;
  const writes =
    f.table_writes_per_s === undefined
      ? ''
      : `; ${formatNumber(f.table_writes_per_s)} rows written per second to ${f.table} will each update it too` +
        (f.index_write_bytes_per_s === undefined || f.write_overhead === undefined
          ? ''
          : ` (about ${formatBytes(f.index_write_bytes_per_s)}/s of index writes, ${formatNumber(f.write_overhead)} bytes per table byte)`);
  const routes = f.routes.length === 0 ? '' : ` (routes ${f.routes.join(', ')})`;
  const others = f.together_with ?? [];
  const together =
    others.length === 0
      ? ''
      : ` together with the ${others.length === 1 ? 'other index' : `${others.length} other indexes`} in the artifact (alone it does not halve these statements' cost)`;
  return [
    {
      action: f.verified
        ? `Create the index${size}${together}${others.length === 0 ? ':' : ';'} it serves ${f.statements.length} statement${f.statements.length > 1 ? 's' : ''}${routes}, each planned at least ${formatPercent(f.min_cost_reduction)} cheaper with it${others.length === 0 ? '' : ' and them'} (HypoPG)${writes}`
        : `Check the plan with the index before creating it: the statements scan ${f.table} sequentially and filter or sort on ${f.columns.join(', ')}, but without HypoPG the gain is not verified${writes}`,
      artifact:
        `-- Serves:\n${lines.join('\n')}\n${f.ddl}` +
        (others.length === 0
          ? ''
          : `\n-- Needed with it (the plans above assume all of them):\n${others.join('\n')}`),
      expectedGain: f.verified
        ? `About ${formatSeconds(f.db_s_removed_per_s)} of database time less per second (estimated from the plan costs)`
        : 'Unknown until the plan with the index is read',
      confidence: f.verified ? 'high' : 'low',
      verify: `After creating it, EXPLAIN shows the index in the plans of these statements, and their mean in pg_stat_statements drops`,
    },
  ];
}

function cacheCandidate(d: Draft<'cache-candidate'>): Recommendation[] {
  const f = d.facts;
  const where =
    f.cache === 'shared'
      ? `a cache shared by the ${f.instances} instances (Redis, Memcached)`
      : 'a cache in the process (an LRU map)';
  const routes = f.routes.length === 0 ? '' : ` in ${f.routes.join(', ')}`;
  return [
    {
      action: `Answer this statement${routes} from ${where}, keyed by its parameters, with a TTL under the ${formatSeconds(f.quiet_s)} in which ${f.tables.join(', ')} saw no write; invalidate on writes if the app makes them`,
      artifact: `-- Cached, not run ${formatNumber(f.calls_per_s)} times per second:\n${f.statement}`,
      expectedGain: `Up to ${formatSeconds(f.db_s_per_s)} of database time per second, and a round trip per call`,
      confidence: 'medium',
      verify: `Its calls per second in pg_stat_statements drop to the cache's miss rate`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Frontend

function vitalValue(vital: string, value: number): string {
  return vital === 'cls' ? formatNumber(value) : formatSeconds(value);
}

/** What to change for a page's vital, from its attribution: the element and, for the LCP, its largest part. */
function webVital(d: Draft<'web-vital'>, snapshot: Snapshot): Recommendation[] {
  const f = d.facts;
  const name = VITAL_NAMES[f.vital as Vital] ?? f.vital;
  const verify = `The p75 ${name} of ${f.page} falls under ${vitalValue(f.vital, f.limit_p75)}${using(snapshot, `pages.${f.vital}.p75`)}`;
  const gain = `${name} p75 from ${vitalValue(f.vital, f.p75)} to under ${vitalValue(f.vital, f.limit_p75)} for ${formatRate(f.views_per_s, 'views/s')}`;
  const element = f.element ?? 'the element';
  if (f.vital === 'lcp') {
    const phase = f.largest_phase;
    const ms = (p: string) => formatSeconds(f.lcp_phases?.[p] ?? 0);
    const resource = f.resource_url === undefined ? '' : ` (${f.resource_url})`;
    const actions: Record<string, string> = {
      resource_load_duration:
        f.served_by !== undefined && f.served_p95_s !== undefined
          ? `Make ${f.served_by} answer sooner: it serves the LCP element ${element}${resource}, whose load takes ${ms('resource_load_duration')} on average, the largest part of the LCP, and its own p95 is ${formatSeconds(f.served_p95_s)}. Its traces show where that time goes; then preload the image so the browser asks for it first`
          : `Make the LCP element ${element}${resource} arrive sooner: its resource takes ${ms('resource_load_duration')} to load on average, the largest part of the LCP. Serve it at the size it is shown and in a compressed format (AVIF or WebP for a photo), from a cache or CDN near the users`,
      resource_load_delay: `Start loading the LCP element ${element}${resource} earlier: ${ms('resource_load_delay')} pass between the first byte and the request for it. Reference it in the HTML (not from script or CSS), preload it (<link rel="preload" fetchpriority="high">) and do not lazy-load it`,
      element_render_delay: `Let the LCP element ${element} render once it has arrived: ${ms('element_render_delay')} pass between its load and its paint. Render-blocking scripts and stylesheets, or client-side rendering, hold it back`,
      time_to_first_byte: `Send the HTML of ${f.page} sooner: ${ms('time_to_first_byte')} of the LCP pass before its first byte. The server route that renders it is where the time goes`,
    };
    const action =
      (phase === undefined ? undefined : actions[phase]) ??
      `Find what delays the LCP element ${element}${resource} on ${f.page}: Chrome DevTools' Performance panel splits an LCP into its four parts`;
    return [
      {
        action,
        ...(f.resource_url === undefined
          ? {}
          : {
              artifact: `<link rel="preload" as="image" href="${f.resource_url}" fetchpriority="high">`,
            }),
        expectedGain: gain,
        confidence: phase === undefined ? 'low' : 'medium',
        verify,
      },
    ];
  }
  const actions: Record<string, string> = {
    inp: `Make interactions with ${element} on ${f.page} paint sooner: break up the event handlers it runs (yield to the main thread between steps) and move work not needed for the next frame out of them`,
    cls: `Reserve the space of ${element} on ${f.page} before it appears (width and height, or aspect-ratio, on media; a min-height for content that loads later), so nothing moves when it arrives`,
    fcp: `Let ${f.page} paint sooner: the first paint waits for the HTML and every render-blocking script and stylesheet in its <head>; defer the scripts and inline only the CSS the first screen needs`,
    ttfb: `Send the HTML of ${f.page} sooner: its first byte arrives after ${formatSeconds(f.p75)} at p75. The server route that renders it is where the time goes (its traces show where)`,
    page_load: `Load less, and later, on ${f.page}: its load event waits for every image, script and stylesheet of the page; lazy-load what is below the fold and defer what the first screen does not need`,
  };
  return [
    {
      action: actions[f.vital] ?? `Find what delays ${name} on ${f.page}`,
      expectedGain: gain,
      confidence: f.element === undefined ? 'low' : 'medium',
      verify,
      ...(f.element === undefined && f.vital !== 'ttfb' ? { general: true } : {}),
    },
  ];
}

/** Defer or split a render-blocking asset, compress an uncompressed one: from its sizes and fetch time. */
function heavyAsset(d: Draft<'heavy-asset'>, snapshot: Snapshot): Recommendation[] {
  const f = d.facts;
  const out: Recommendation[] = [];
  const script = f.initiator_type === 'script' || /\.js$/.test(f.url);
  if (f.problems.includes('render-blocking')) {
    out.push({
      action: script
        ? `Load ${f.url} with defer (or async if nothing on the page waits for it), or split it so the first paint needs only its critical part: the browser fetches its ${formatBytes(f.encoded_bytes)} for ${formatSeconds(f.fetch_s)} before it paints ${f.pages.join(', ')}`
        : `Stop ${f.url} from blocking the first paint: inline the CSS the first screen needs and load the rest with media="print" onload or rel="preload"; the browser fetches its ${formatBytes(f.encoded_bytes)} for ${formatSeconds(f.fetch_s)} before it paints ${f.pages.join(', ')}`,
      artifact: script
        ? `<script src="${f.url}" defer></script>`
        : `<link rel="preload" href="${f.url}" as="style" onload="this.rel='stylesheet'">`,
      expectedGain: `FCP${f.page_fcp_p75_s === undefined ? '' : ` (p75 ${formatSeconds(f.page_fcp_p75_s)})`} no longer waits the ${formatSeconds(f.fetch_s)} of ${f.url}`,
      confidence: 'high',
      verify: `Resource Timing reports ${f.url} as non-blocking and the page's FCP p75 drops${using(snapshot, 'pages.fcp.p75')}`,
    });
  }
  if (f.problems.includes('uncompressed')) {
    out.push({
      action: `Serve ${f.url} compressed (Content-Encoding: br or gzip, from the server or the CDN in front of it): browsers receive its ${formatBytes(f.decoded_bytes)} as ${formatBytes(f.encoded_bytes)}, as large as it is`,
      expectedGain: `Fewer bytes for ${formatRate(f.loads_per_s, 'loads/s')} and a shorter fetch than its ${formatSeconds(f.fetch_s)}`,
      confidence: 'high',
      verify: `Its encoded size falls below its decoded size${using(snapshot, 'assets.encoded')}`,
    });
  }
  return out;
}
