/**
 * `hotpath compare`: is the candidate (a load-test run, or a window) worse than the baseline? Per route: latency
 * (the whole distribution, and its tail), error rate and throughput; per statement (when both runs recorded
 * the app database's statements): mean time and calls per request. Each question is a one-sided statistical
 * test with an effect-size floor (`stats.ts` says which and why), all p-values of one comparison corrected
 * together (Holm). A route that regressed gets its cause where one is found: the root-cause pipeline's finding
 * that absorbed the route in the candidate window, or else the statement whose added time is most of the
 * route's.
 */
import { METRICS, prometheusSeries } from '@hotpath/instrumentation';
import { type Analysis, type AnalysisOptions, analyze } from '../analyze.ts';
import { UsageError } from '../errors.ts';
import { formatSeconds, serviceNameOf, shortSql } from '../findings.ts';
import { limitsFor } from '../limits.ts';
import { MIN_SINCE_SECONDS, type RecordedRun, RUN_ID, readRun } from '../runs.ts';
import { objectivesFor } from '../slo.ts';
import type { PrometheusClient, PrometheusSample } from '../sources/prometheus.ts';
import type { Finding, StatementStats } from '../types.ts';
import { bucketQuantile, holm, mannWhitney, meanIncrease, proportionIncrease, rateChange } from './stats.ts';

/** Family-wise false-alarm rate of one comparison (after Holm). A CI gate must rarely cry wolf. */
export const ALPHA = 0.01;
/** Below this many requests (calls) a side, the normal approximations of the tests do not hold. */
export const MIN_SAMPLES = 20;
/** Statements need more: their test uses means and standard deviations only (central limit, ~30). */
export const MIN_CALLS = 30;
/** Effect-size floors, from the literature `stats.ts` cites: medium A and d, small h. */
export const EFFECT = { a: 0.64, h: 0.2, d: 0.5 } as const;

export interface CompareWindow {
  /** The run id, or `start/end`. */
  readonly label: string;
  readonly start: Date;
  readonly end: Date;
  readonly run?: RecordedRun;
}

const ISO = /^\d{4}-\d{2}-\d{2}T/;

/** `--baseline` / `--candidate`: a run id recorded by `npm run load`, or `<ISO start>/<ISO end>`. */
export function resolveWindow(
  flag: string,
  value: string,
  runsDir: string,
  now: Date = new Date(),
): CompareWindow {
  let window: CompareWindow;
  if (RUN_ID.test(value)) {
    const run = readRun(runsDir, value);
    window = { label: run.id, start: new Date(run.start), end: new Date(run.end), run };
  } else {
    const [from, to, ...rest] = value.split('/');
    const start = new Date(from ?? '');
    const end = new Date(to ?? '');
    if (
      rest.length > 0 ||
      !ISO.test(from ?? '') ||
      !ISO.test(to ?? '') ||
      Number.isNaN(start.getTime()) ||
      Number.isNaN(end.getTime())
    ) {
      throw new UsageError(
        `${flag} "${value}" is neither a run id like load-20261204T200500Z nor a window like 2026-12-04T20:05:00Z/2026-12-04T20:10:00Z`,
      );
    }
    window = { label: value, start, end };
  }
  const seconds = (window.end.getTime() - window.start.getTime()) / 1000;
  if (seconds < MIN_SINCE_SECONDS) {
    throw new UsageError(
      `${flag} ${value} covers ${Math.round(seconds)} s: a comparison needs at least ${MIN_SINCE_SECONDS} s a side`,
    );
  }
  if (window.end.getTime() > now.getTime()) {
    throw new UsageError(`${flag} ${value} ends in the future (${window.end.toISOString()})`);
  }
  return window;
}

/** One route's requests over a window, from Prometheus: its latency histogram, errors and latency sum. */
export interface RouteSample {
  readonly service: string;
  readonly method: string;
  readonly route: string;
  /** Upper bounds of the buckets in seconds, ascending, the last +Inf. */
  readonly bounds: readonly number[];
  /** Requests per bucket (not cumulative), whole numbers. */
  readonly counts: readonly number[];
  readonly requests: number;
  /** Responses with a 5xx status. */
  readonly errors: number;
  /** Σ latency, seconds. */
  readonly sumSeconds: number;
  readonly seconds: number;
}

const HTTP = METRICS.httpServerRequestDuration;
const BY = 'job, http_route, http_request_method';

/** The PromQL of a window's route samples, evaluated at its end. */
export function routeQueries(
  seconds: number,
  service?: string,
): Record<'buckets' | 'errors' | 'sum', string> {
  const job = service === undefined ? '' : `job=${JSON.stringify(service)}`;
  const sel = (extra = '') => `{${[job, extra].filter((s) => s !== '').join(', ')}}`;
  return {
    buckets: `sum by (${BY}, le) (increase(${prometheusSeries(HTTP, 'bucket')}${sel()}[${seconds}s]))`,
    errors: `sum by (${BY}) (increase(${prometheusSeries(HTTP, 'count')}${sel('http_response_status_code=~"5.."')}[${seconds}s]))`,
    sum: `sum by (${BY}) (increase(${prometheusSeries(HTTP, 'sum')}${sel()}[${seconds}s]))`,
  };
}

const routeKey = (labels: Readonly<Record<string, string>>) =>
  `${labels.job ?? ''}\0${labels.http_request_method ?? ''}\0${labels.http_route ?? ''}`;

/** Cumulative `le` buckets (as `increase` extrapolates them: fractions) → whole requests per bucket. */
export function bucketCounts(samples: readonly PrometheusSample[]): { bounds: number[]; counts: number[] } {
  const rows = samples
    .map((s) => ({ le: s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le), v: s.value }))
    .filter((r) => !Number.isNaN(r.le) && Number.isFinite(r.v))
    .sort((a, b) => a.le - b.le);
  const bounds: number[] = [];
  const counts: number[] = [];
  let previous = 0;
  for (const r of rows) {
    const cumulative = Math.max(previous, Math.round(r.v));
    bounds.push(r.le);
    counts.push(cumulative - previous);
    previous = cumulative;
  }
  return { bounds, counts };
}

export async function readRouteSamples(
  prometheus: PrometheusClient,
  window: CompareWindow,
  service?: string,
): Promise<RouteSample[]> {
  const seconds = Math.round((window.end.getTime() - window.start.getTime()) / 1000);
  const q = routeQueries(seconds, service);
  const [buckets, errors, sums] = await Promise.all([
    prometheus.query(q.buckets, window.end),
    prometheus.query(q.errors, window.end),
    prometheus.query(q.sum, window.end),
  ]);
  const byRoute = new Map<string, PrometheusSample[]>();
  for (const s of buckets) {
    if ((s.labels.http_route ?? '') === '') continue; // unmatched requests (404s) have no route to compare
    const list = byRoute.get(routeKey(s.labels)) ?? [];
    list.push(s);
    byRoute.set(routeKey(s.labels), list);
  }
  const value = (samples: readonly PrometheusSample[]) =>
    new Map(samples.map((s) => [routeKey(s.labels), s.value]));
  const errorsBy = value(errors);
  const sumBy = value(sums);
  const out: RouteSample[] = [];
  for (const [key, samples] of byRoute) {
    const [svc = '', method = '', route = ''] = key.split('\0');
    const { bounds, counts } = bucketCounts(samples);
    const requests = counts.reduce((s, c) => s + c, 0);
    if (requests === 0) continue;
    out.push({
      service: svc,
      method,
      route,
      bounds,
      counts,
      requests,
      errors: Math.min(requests, Math.round(errorsBy.get(key) ?? 0)),
      sumSeconds: sumBy.get(key) ?? 0,
      seconds,
    });
  }
  return out.sort((a, b) => a.service.localeCompare(b.service) || subjectOf(a).localeCompare(subjectOf(b)));
}

const subjectOf = (r: Pick<RouteSample, 'method' | 'route'>) => `${r.method} ${r.route}`;

// ---------------------------------------------------------------------------------------------------------------
// Judging

export type Metric = 'latency' | 'tail' | 'errors' | 'throughput' | 'mean' | 'calls';

/** One question asked of one route or statement. */
export interface Verdict {
  readonly metric: Metric;
  /** One-sided p-value, before the correction. */
  readonly p: number;
  readonly effect: number;
  readonly effectName: 'A' | 'h' | 'd';
  readonly floor: number;
  /** Significant after Holm over the whole comparison. */
  significant: boolean;
  /** Significant, and the effect at least its floor. */
  regressed: boolean;
}

export interface RouteSide {
  readonly requests: number;
  readonly ratePerSecond: number;
  readonly p50Seconds: number | null;
  readonly p95Seconds: number | null;
  readonly meanSeconds: number | null;
  readonly errorRatio: number;
}

export interface Cause {
  /** `pipeline`: a finding of the candidate window that absorbed the route; `accounting`: a statement's added time. */
  readonly basis: 'pipeline' | 'accounting';
  readonly text: string;
  readonly finding?: Pick<Finding, 'kind' | 'subject' | 'title'> & { readonly action?: string };
  /** The statement's fingerprint, when the cause is one. */
  readonly statement?: string;
}

export interface RouteComparison {
  readonly service: string;
  readonly subject: string;
  readonly baseline: RouteSide;
  readonly candidate: RouteSide;
  readonly verdicts: readonly Verdict[];
  /** Why it was not judged (too few requests), when it was not. */
  readonly skipped?: string;
  readonly regressed: boolean;
  readonly cause?: Cause;
}

export interface StatementSide {
  readonly calls: number;
  readonly meanMs: number;
  readonly stddevMs: number;
  readonly callsPerRequest: number;
}

export interface StatementComparison {
  readonly fingerprint: string;
  readonly query: string;
  readonly database: string;
  readonly service: string;
  readonly baseline: StatementSide;
  readonly candidate: StatementSide;
  readonly verdicts: readonly Verdict[];
  readonly skipped?: string;
  readonly regressed: boolean;
  /** What the candidate spends on it per second beyond what the baseline's mean would cost. */
  readonly addedMsPerSecond: number;
}

export interface Comparison {
  readonly baseline: CompareWindow;
  readonly candidate: CompareWindow;
  readonly alpha: number;
  readonly routes: readonly RouteComparison[];
  readonly statements: readonly StatementComparison[];
  /** Routes only one side has, and what could not be compared. */
  readonly notes: readonly string[];
  /** The root-cause pipeline's findings in the candidate window. */
  readonly findings: readonly Finding[];
  /** One line per regression, cause included: what a CI log shows. */
  readonly regressions: readonly string[];
}

function side(r: RouteSample): RouteSide {
  return {
    requests: r.requests,
    ratePerSecond: r.requests / r.seconds,
    p50Seconds: bucketQuantile(0.5, r.bounds, r.counts),
    p95Seconds: bucketQuantile(0.95, r.bounds, r.counts),
    meanSeconds: r.requests > 0 ? r.sumSeconds / r.requests : null,
    errorRatio: r.requests > 0 ? r.errors / r.requests : 0,
  };
}

/** Both sides on the union of their bucket bounds (a bound one side lacks holds none of its requests). */
function aligned(a: RouteSample, b: RouteSample): { bounds: number[]; a: number[]; b: number[] } {
  const bounds = [...new Set([...a.bounds, ...b.bounds])].sort((x, y) => x - y);
  const on = (r: RouteSample) => {
    const at = new Map(r.bounds.map((le, i) => [le, r.counts[i] ?? 0]));
    return bounds.map((le) => at.get(le) ?? 0);
  };
  return { bounds, a: on(a), b: on(b) };
}

const verdict = (metric: Metric, p: number, effect: number, effectName: Verdict['effectName']): Verdict => ({
  metric,
  p,
  effect,
  effectName,
  floor: EFFECT[effectName === 'A' ? 'a' : effectName],
  significant: false,
  regressed: false,
});

function routeVerdicts(base: RouteSample, cand: RouteSample, throughput: boolean): Verdict[] {
  const { bounds, a, b } = aligned(base, cand);
  const out: Verdict[] = [];
  const rank = mannWhitney(a, b);
  out.push(verdict('latency', rank.p, rank.a, 'A'));
  // The tail: requests above the bucket that holds the baseline's p95 (≤ 5 % of the baseline's by definition).
  const p95 = bucketQuantile(0.95, bounds, a);
  const edge = p95 === null ? -1 : bounds.findIndex((le) => le >= p95);
  if (edge >= 0 && edge < bounds.length - 1) {
    const above = (counts: readonly number[]) => counts.slice(edge + 1).reduce((s, c) => s + c, 0);
    const tail = proportionIncrease(above(a), base.requests, above(b), cand.requests);
    out.push(verdict('tail', tail.p, tail.h, 'h'));
  }
  const errors = proportionIncrease(base.errors, base.requests, cand.errors, cand.requests);
  out.push(verdict('errors', errors.p, errors.h, 'h'));
  if (throughput) {
    const rate = rateChange(base.requests, base.seconds, cand.requests, cand.seconds, 'lower');
    out.push(verdict('throughput', rate.p, rate.h, 'h'));
  }
  return out;
}

function statementVerdicts(
  base: StatementStats,
  cand: StatementStats,
  requests: { base: number; cand: number },
): Verdict[] {
  const mean = meanIncrease(
    { n: base.calls, mean: base.meanMs, sd: base.stddevMs },
    { n: cand.calls, mean: cand.meanMs, sd: cand.stddevMs },
  );
  const out = [verdict('mean', mean.p, mean.d, 'd')];
  if (requests.base > 0 && requests.cand > 0) {
    const calls = rateChange(base.calls, requests.base, cand.calls, requests.cand, 'higher');
    out.push(verdict('calls', calls.p, calls.h, 'h'));
  }
  return out;
}

/** Holm over every verdict of the comparison, then each verdict's effect floor. */
function decide(verdicts: readonly Verdict[], alpha: number): void {
  const rejected = holm(
    verdicts.map((v) => v.p),
    alpha,
  );
  verdicts.forEach((v, i) => {
    v.significant = rejected[i] ?? false;
    v.regressed = v.significant && v.effect >= v.floor;
  });
}

/**
 * A route slower by less than the advisor's share of its latency objective (slo.yaml: 5 % of latency_p95_ms)
 * has not regressed, however sure the test is: the same rule as a statement's. Mann–Whitney on a few hundred
 * requests is sure of a shift of a few milliseconds that no user of a 200 ms objective would notice, and a
 * CI gate that goes red for it is noise. The whole distribution is held to its mean's increase, the tail to its
 * p95's. Errors and throughput keep their own effect sizes.
 */
export function applyRouteFloor(
  route: Pick<RouteComparison, 'baseline' | 'candidate'> & { readonly verdicts: readonly Verdict[] },
  floorSeconds: number,
): void {
  const slower = (b: number | null, c: number | null) =>
    b === null || c === null ? Number.POSITIVE_INFINITY : c - b;
  const { baseline: b, candidate: c } = route;
  for (const v of route.verdicts) {
    if (!v.regressed) continue;
    if (v.metric === 'latency' && slower(b.meanSeconds, c.meanSeconds) < floorSeconds) v.regressed = false;
    if (v.metric === 'tail' && slower(b.p95Seconds, c.p95Seconds) < floorSeconds) v.regressed = false;
  }
}

const statementKey = (s: Pick<StatementStats, 'database' | 'fingerprint'>) =>
  `${s.database}\0${s.fingerprint}`;

const ROUTE_KINDS = new Set<string>(['slow-endpoint', 'latency-regression']);
const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;

function statementChange(s: StatementComparison): string {
  const calls =
    Math.abs(s.candidate.callsPerRequest - s.baseline.callsPerRequest) >= 0.05
      ? `, ${s.baseline.callsPerRequest.toFixed(1)} → ${s.candidate.callsPerRequest.toFixed(1)} calls per request`
      : '';
  return `statement ${shortSql(s.query)} now takes ${ms(s.candidate.meanMs)}, was ${ms(s.baseline.meanMs)}${calls}`;
}

/**
 * Whether a finding is about a statement: its subject (a slow statement, an N+1), one of the statements it
 * serves (a missing index: `fingerprints`), or a statement it absorbed.
 */
function isAbout(f: Finding, fingerprint: string): boolean {
  return (
    f.subject === fingerprint ||
    String(f.evidence.values.fingerprints ?? '')
      .split('\n')
      .includes(fingerprint) ||
    (f.evidence.symptoms ?? []).some((s) => s.subject === fingerprint)
  );
}

/** The latency a route's regression adds per second: its mean's increase times its candidate rate; 0 unknown. */
export function routeAddedMsPerSecond(route: Pick<RouteComparison, 'baseline' | 'candidate'>): number {
  const { baseline: b, candidate: c } = route;
  if (b.meanSeconds === null || c.meanSeconds === null) return 0;
  return (c.meanSeconds - b.meanSeconds) * 1000 * c.ratePerSecond;
}

/**
 * The cause of a route's regression. First the pipeline's: a finding of the candidate window (not the route's
 * own) that absorbed the route as its symptom. Else the accounting: the regressed statement whose added time
 * per second is more than half of the route's added time per second, the largest part of it then by
 * definition. The finding about that statement (its index, its batched form), when there is one, is named.
 *
 * A statement's added time is spent once: `spent` holds what routes judged before this one (the larger ones,
 * see `compare`) already took of each statement, and a route is only blamed on what is left. Without it, a
 * statement adding 100 ms a second to one route would also "explain" every other route that got 3 ms slower.
 */
export function causeOf(
  route: RouteComparison,
  findings: readonly Finding[],
  statements: readonly StatementComparison[],
  spent: Map<string, number> = new Map(),
): Cause | undefined {
  const action = (f: Finding) => f.recommendations[0]?.action;
  const named = (f: Finding) => ({
    kind: f.kind,
    subject: f.subject,
    title: f.title,
    ...(action(f) === undefined ? {} : { action: action(f) as string }),
  });
  const absorbing = findings.find(
    (f) =>
      f.service === route.service &&
      !ROUTE_KINDS.has(f.kind) &&
      (f.evidence.symptoms ?? []).some((s) => ROUTE_KINDS.has(s.kind) && s.subject === route.subject),
  );
  if (absorbing !== undefined) {
    const statement = statements.find((s) => isAbout(absorbing, s.fingerprint));
    return {
      basis: 'pipeline',
      text: `${absorbing.title}${statement === undefined ? '' : `: ${statementChange(statement)}`}`,
      finding: named(absorbing),
      ...(statement === undefined ? {} : { statement: statement.fingerprint }),
    };
  }
  const routeAddedMs = routeAddedMsPerSecond(route);
  if (!(routeAddedMs > 0)) return undefined;
  const left = (s: StatementComparison) => s.addedMsPerSecond - (spent.get(statementKey(s)) ?? 0);
  const statement = statements
    .filter((s) => s.regressed && left(s) > routeAddedMs / 2)
    .sort((x, y) => left(y) - left(x))[0];
  if (statement === undefined) return undefined;
  spent.set(
    statementKey(statement),
    (spent.get(statementKey(statement)) ?? 0) + Math.min(routeAddedMs, left(statement)),
  );
  const finding = findings.find((f) => isAbout(f, statement.fingerprint));
  return {
    basis: 'accounting',
    text:
      `${statementChange(statement)}: it adds ${statement.addedMsPerSecond.toFixed(0)} ms of database time a ` +
      `second, the route ${routeAddedMs.toFixed(0)} ms of latency a second` +
      (finding === undefined
        ? ''
        : `; ${finding.title}${action(finding) === undefined ? '' : `: ${action(finding)}`}`),
    statement: statement.fingerprint,
    ...(finding === undefined ? {} : { finding: named(finding) }),
  };
}

export interface CompareOptions {
  readonly prometheus: PrometheusClient;
  readonly baseline: CompareWindow;
  readonly candidate: CompareWindow;
  /** Only this Prometheus job; all jobs with traffic on both sides when absent. */
  readonly service?: string;
  /** The root-cause pipeline over the candidate window (`analyze`'s options less the window); skipped when absent. */
  readonly analysis?: Omit<AnalysisOptions, 'prometheus' | 'window' | 'at' | 'statements'>;
  readonly alpha?: number;
}

export async function compare(options: CompareOptions): Promise<Comparison> {
  const alpha = options.alpha ?? ALPHA;
  const { baseline, candidate } = options;
  const [before, after] = await Promise.all([
    readRouteSamples(options.prometheus, baseline, options.service),
    readRouteSamples(options.prometheus, candidate, options.service),
  ]);
  const notes: string[] = [];
  const key = (r: RouteSample) => `${r.service}\0${subjectOf(r)}`;
  const beforeBy = new Map(before.map((r) => [key(r), r]));
  const afterBy = new Map(after.map((r) => [key(r), r]));
  for (const r of before)
    if (!afterBy.has(key(r))) notes.push(`${r.service} ${subjectOf(r)}: no requests in the candidate`);
  for (const r of after)
    if (!beforeBy.has(key(r)))
      notes.push(`${r.service} ${subjectOf(r)}: new in the candidate, nothing to compare with`);
  if (before.length === 0) notes.push(`the baseline has no requests in Prometheus (${baseline.label})`);
  if (after.length === 0) notes.push(`the candidate has no requests in Prometheus (${candidate.label})`);

  // Throughput is the load driver's doing unless both sides ran the same profile at the same scale.
  const sameLoad =
    baseline.run !== undefined &&
    candidate.run !== undefined &&
    baseline.run.profile === candidate.run.profile &&
    baseline.run.scale === candidate.run.scale;
  if (!sameLoad)
    notes.push('throughput not judged: only two runs of the same profile and scale offer the same load');

  const all: Verdict[] = [];
  const routes: (Omit<RouteComparison, 'regressed' | 'cause'> & { verdicts: Verdict[] })[] = [];
  for (const r of after) {
    const b = beforeBy.get(key(r));
    if (b === undefined) continue;
    const base = { service: r.service, subject: subjectOf(r), baseline: side(b), candidate: side(r) };
    if (b.requests < MIN_SAMPLES || r.requests < MIN_SAMPLES) {
      routes.push({ ...base, verdicts: [], skipped: `fewer than ${MIN_SAMPLES} requests a side` });
      continue;
    }
    const verdicts = routeVerdicts(b, r, sameLoad);
    all.push(...verdicts);
    routes.push({ ...base, verdicts });
  }

  const statements: (Omit<StatementComparison, 'regressed'> & { verdicts: Verdict[] })[] = [];
  // The runs' statements belong to the database's service (the database name unless told): the one the
  // pipeline ties to routes by their Prometheus job.
  const owner = options.analysis?.databaseService;
  const owned = (list: readonly StatementStats[] | undefined) =>
    owner === undefined || list === undefined ? list : list.map((s) => ({ ...s, service: owner }));
  const bs = owned(baseline.run?.statements);
  const cs = owned(candidate.run?.statements);
  if (bs === undefined || cs === undefined) {
    notes.push(
      'statements not compared: record both runs with npm run load -- --database <url> (pg_stat_statements at their start and end)',
    );
  } else {
    const requests = (side: readonly RouteSample[]) => side.reduce((s, r) => s + r.requests, 0);
    const req = { base: requests(before), cand: requests(after) };
    const baseBy = new Map(bs.map((s) => [statementKey(s), s]));
    const candidateSeconds = (candidate.end.getTime() - candidate.start.getTime()) / 1000;
    for (const c of cs) {
      const b = baseBy.get(statementKey(c));
      if (b === undefined) continue;
      const sideOf = (s: StatementStats, n: number): StatementSide => ({
        calls: s.calls,
        meanMs: s.meanMs,
        stddevMs: s.stddevMs,
        callsPerRequest: n > 0 ? s.calls / n : 0,
      });
      const entry = {
        fingerprint: c.fingerprint,
        query: c.query,
        database: c.database,
        service: c.service,
        baseline: sideOf(b, req.base),
        candidate: sideOf(c, req.cand),
        addedMsPerSecond: (Math.max(0, c.meanMs - b.meanMs) * c.calls) / candidateSeconds,
      };
      if (b.calls < MIN_CALLS || c.calls < MIN_CALLS) {
        statements.push({ ...entry, verdicts: [], skipped: `fewer than ${MIN_CALLS} calls a side` });
        continue;
      }
      const verdicts = statementVerdicts(b, c, req);
      all.push(...verdicts);
      statements.push({ ...entry, verdicts });
    }
  }
  decide(all, alpha);
  // A statement slower by less than the advisor's share of its objective per call (slo.yaml: 5 % of
  // query_p95_ms) is not worth a red build, however sure the test is: below it, the write and review cost of a
  // fix outweighs what it saves, as the advisor judges an index.
  const slo = options.analysis?.slo;
  const limitsOf = (service: string) =>
    slo === undefined ? undefined : limitsFor(objectivesFor(slo, serviceNameOf(service)));
  const floorMs = (service: string) => {
    const limits = limitsOf(service);
    return limits === undefined ? 0 : limits.slowStatement.p95Seconds * 1000 * limits.advisor.minShare;
  };
  const routeFloorSeconds = (service: string) => {
    const limits = limitsOf(service);
    return limits === undefined ? 0 : limits.slowEndpoint.p95Seconds * limits.advisor.minShare;
  };
  for (const r of routes) applyRouteFloor(r, routeFloorSeconds(r.service));
  const judgedStatements: StatementComparison[] = statements.map((s) => {
    const slower = s.candidate.meanMs - s.baseline.meanMs;
    for (const v of s.verdicts) if (v.metric === 'mean' && slower < floorMs(s.service)) v.regressed = false;
    return { ...s, regressed: s.verdicts.some((v) => v.regressed) };
  });

  let analysis: Analysis | undefined;
  const regressedRoutes = routes.filter((r) => r.verdicts.some((v) => v.regressed));
  if (
    options.analysis !== undefined &&
    (regressedRoutes.length > 0 || judgedStatements.some((s) => s.regressed))
  ) {
    const seconds = Math.round((candidate.end.getTime() - candidate.start.getTime()) / 1000);
    analysis = await analyze({
      ...options.analysis,
      prometheus: options.prometheus,
      window: `${seconds}s`,
      at: candidate.end,
      ...(cs === undefined ? {} : { statements: cs }),
    });
  }
  if (analysis?.traces.error !== undefined)
    notes.push(`traces could not be read (${analysis.traces.error}): causes from statements' numbers only`);
  if (analysis?.advisor !== undefined && !analysis.advisor.ran)
    notes.push(`the database advisor did not run (${analysis.advisor.error ?? 'unknown error'})`);
  const findings = analysis?.findings ?? [];
  // Causes by accounting are handed out largest regression first: each statement's added time is spent once.
  const plain: RouteComparison[] = routes.map((r) => ({
    ...r,
    regressed: r.verdicts.some((v) => v.regressed),
  }));
  const spent = new Map<string, number>();
  const causes = new Map<RouteComparison, Cause>();
  for (const route of plain
    .filter((r) => r.regressed)
    .sort((x, y) => routeAddedMsPerSecond(y) - routeAddedMsPerSecond(x))) {
    const cause = causeOf(route, findings, judgedStatements, spent);
    if (cause !== undefined) causes.set(route, cause);
  }
  const judgedRoutes: RouteComparison[] = plain.map((r) => {
    const cause = causes.get(r);
    return cause === undefined ? r : { ...r, cause };
  });
  return {
    baseline,
    candidate,
    alpha,
    routes: judgedRoutes,
    statements: judgedStatements,
    notes,
    findings,
    regressions: regressionLines(judgedRoutes, judgedStatements),
  };
}

const percent = (from: number, to: number) => {
  const change = from > 0 ? (to - from) / from : Number.POSITIVE_INFINITY;
  return Number.isFinite(change) ? `${change >= 0 ? '+' : ''}${Math.round(change * 100)} %` : 'from 0';
};

function regressionLines(
  routes: readonly RouteComparison[],
  statements: readonly StatementComparison[],
): string[] {
  const lines: string[] = [];
  for (const r of routes) {
    if (!r.regressed) continue;
    const parts: string[] = [];
    const metrics = new Set(r.verdicts.filter((v) => v.regressed).map((v) => v.metric));
    const { baseline: b, candidate: c } = r;
    if ((metrics.has('latency') || metrics.has('tail')) && b.p95Seconds !== null && c.p95Seconds !== null)
      parts.push(
        `p95 ${percent(b.p95Seconds, c.p95Seconds)} (${formatSeconds(b.p95Seconds)} → ${formatSeconds(c.p95Seconds)})`,
      );
    if (metrics.has('errors'))
      parts.push(`errors ${(b.errorRatio * 100).toFixed(1)} % → ${(c.errorRatio * 100).toFixed(1)} %`);
    if (metrics.has('throughput'))
      parts.push(`throughput ${b.ratePerSecond.toFixed(1)} → ${c.ratePerSecond.toFixed(1)} req/s`);
    lines.push(
      `${r.service} ${r.subject}: ${parts.join(', ')}${r.cause === undefined ? '; no cause found in the candidate window' : `: ${r.cause.text}`}`,
    );
  }
  const named = new Set(routes.map((r) => r.cause?.statement));
  for (const s of statements) {
    if (!s.regressed || named.has(s.fingerprint)) continue;
    lines.push(`${s.service}: ${statementChange(s)}`);
  }
  return lines;
}
