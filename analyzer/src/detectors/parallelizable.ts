/**
 * Parallelizable queries (anchor: Sentry's "Consecutive DB Queries" detector): under one parent span, calls
 * that ran strictly one after another although nothing suggests one needs the other, where running them
 * concurrently would save at least 100 ms and 10 % of the enclosing request.
 *
 * A trace cannot show data dependencies, so "independent" is a heuristic, stated here in full:
 * - only calls that are safe to reorder count: read-only statements (`SELECT`, `WITH` without a data-modifying
 *   clause or a row lock) and `GET`/`HEAD` outbound HTTP calls; writes keep their order;
 * - nothing inside an explicit transaction (between `BEGIN` and `COMMIT`/`ROLLBACK` siblings): one connection
 *   runs one statement at a time, so they cannot overlap however they are written;
 * - a run is broken by any other child span between two calls (that work may compute the next call's input),
 *   by a gap longer than `maxGapMs` (the code did something with the previous result before the next call;
 *   20 ms by default, because a busy event loop alone delays the next call by several ms),
 *   and by overlap (calls that already overlap are concurrent, not sequential);
 * - consecutive calls in a run may repeat the same statement, but not as often as an N+1 loop (`nPlusOne.minRepeats`
 *   under one parent): those are the N+1 detector's finding, whose fix is one batched query.
 * Saving = sum of the durations − the longest, which is what the run would take if all ran at once.
 */
import type { Draft } from '../facts.ts';
import { draft, findingId, formatPercent, formatSeconds, severityFor, shortSql } from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import { hostOf } from '../traces/breakdown.ts';
import { normalizeSql } from '../traces/fingerprint.ts';
import {
  ancestry,
  dbQueryText,
  enclosingServerSpan,
  httpMethod,
  httpRoute,
  isDbSpan,
  isHttpClientSpan,
  offsetMs,
  routeSubject,
  type Span,
  serviceJob,
  spanKey,
} from '../traces/model.ts';
import {
  exampleTraceIds,
  type IndexedTrace,
  indexTraces,
  mean,
  median,
  requestRate,
  requestsByRoute,
  round,
  routeRateKey,
} from '../traces/requests.ts';
import { DB_SPAN_MATCHER, routeDescendantsTraceQl } from '../traces/traceql.ts';
import type { Snapshot } from '../types.ts';

const READ_ONLY = /^\s*(?:\(\s*)?(?:select|with)\b/i;
const WRITES =
  /\b(?:insert|update|delete|merge|truncate|for\s+(?:no\s+key\s+)?update|for\s+(?:key\s+)?share)\b/i;
const TX_BEGIN = /^\s*(?:begin|start\s+transaction)\b/i;
const TX_END = /^\s*(?:commit|rollback|end|abort)\b/i;
const SAFE_METHODS = new Set(['GET', 'HEAD']);

interface Call {
  readonly span: Span;
  /** What identifies the call across requests: the statement fingerprint, or method and host. */
  readonly signature: string;
  /** What a person reads: the statement, or `HTTP GET host`. */
  readonly label: string;
  readonly kind: 'db' | 'http';
}

/**
 * Calls awaited one after the other still show overlaps of up to a fraction of a millisecond: a span ends when
 * its instrumentation's handler runs, and the next can start in the same tick (measured on the demo's report,
 * -0.2 to -0.6 ms). Real concurrent calls overlap by their whole duration.
 */
const OVERLAP_TOLERANCE_MS = 1;

function asCall(span: Span, fingerprints: ReadonlyMap<string, string>): Call | null {
  if (isDbSpan(span)) {
    const text = dbQueryText(span);
    if (text === undefined || !READ_ONLY.test(text) || WRITES.test(text)) return null;
    const signature = fingerprints.get(spanKey(span)) ?? normalizeSql(text);
    return { span, signature, label: text.replace(/\s+/g, ' ').trim(), kind: 'db' };
  }
  if (isHttpClientSpan(span)) {
    const method = (httpMethod(span) ?? '').toUpperCase();
    if (!SAFE_METHODS.has(method)) return null;
    const label = `HTTP ${method} ${hostOf(span)}`;
    return { span, signature: label, label, kind: 'http' };
  }
  return null;
}

interface Run {
  readonly traceId: string;
  readonly calls: readonly Call[];
  readonly sumMs: number;
  readonly savedMs: number;
  readonly requestMs: number;
  readonly server: Span | undefined;
  readonly service: string;
  readonly subject: string;
}

function runsUnder(
  parent: Span,
  indexed: IndexedTrace,
  fingerprints: ReadonlyMap<string, string>,
  limits: DetectorLimits,
): Run[] {
  const { trace, tree } = indexed;
  const server = enclosingServerSpan(tree, parent);
  const requestMs = server?.durationMs ?? ancestry(tree, parent).at(-1)?.durationMs ?? parent.durationMs;
  const out: Run[] = [];
  const flush = (run: Call[]): void => {
    if (run.length < 2) return;
    const durations = run.map((c) => c.span.durationMs);
    const sumMs = durations.reduce((a, b) => a + b, 0);
    const savedMs = sumMs - Math.max(...durations);
    const { minSavedMs, minSavedRatio } = limits.parallelizable;
    if (savedMs < minSavedMs || savedMs < minSavedRatio * requestMs) return;
    out.push({
      traceId: trace.traceId,
      calls: [...run],
      sumMs,
      savedMs,
      requestMs,
      server,
      service: serviceJob(server ?? parent),
      subject: server === undefined ? (tree.roots[0]?.name ?? parent.name) : routeSubject(server),
    });
  };
  const children = tree.children(parent);
  // A statement repeated like an N+1 loop under this parent is the N+1 detector's: its fix is one batched query,
  // not running the loop's queries concurrently, and one problem must not be reported twice.
  const repeats = new Map<string, number>();
  for (const child of children) {
    const fingerprint = fingerprints.get(spanKey(child));
    if (fingerprint !== undefined) repeats.set(fingerprint, (repeats.get(fingerprint) ?? 0) + 1);
  }
  const loop = (span: Span) =>
    (repeats.get(fingerprints.get(spanKey(span)) ?? '') ?? 0) >= limits.nPlusOne.minRepeats;
  let run: Call[] = [];
  let inTransaction = false;
  for (const child of children) {
    const text = isDbSpan(child) ? (dbQueryText(child) ?? '') : '';
    if (TX_BEGIN.test(text)) inTransaction = true;
    else if (TX_END.test(text)) inTransaction = false;
    const call = inTransaction || loop(child) ? null : asCall(child, fingerprints);
    if (call === null) {
      flush(run);
      run = [];
      continue;
    }
    const previous = run.at(-1);
    if (previous !== undefined) {
      const gapMs = offsetMs(previous.span.endNs, child.startNs);
      if (gapMs < -OVERLAP_TOLERANCE_MS || gapMs > limits.parallelizable.maxGapMs) {
        flush(run);
        run = [];
      }
    }
    run.push(call);
  }
  flush(run);
  return out;
}

export function detect(snapshot: Snapshot, limits: DetectorLimits): Draft<'parallelizable-queries'>[] {
  const data = snapshot.traces;
  if (data === undefined) return [];
  const indexed = indexTraces(data.traces);
  const groups = new Map<string, Run[]>();
  for (const t of indexed) {
    for (const parent of t.trace.spans) {
      for (const run of runsUnder(parent, t, data.fingerprints, limits)) {
        // One finding per route: a run cut short by a busy event loop (4 calls instead of 5) is the same problem,
        // and the finding's id must not change with it.
        const key = `${run.service}\0${run.subject}`;
        const list = groups.get(key);
        if (list === undefined) groups.set(key, [run]);
        else list.push(run);
      }
    }
  }
  if (groups.size === 0) return [];
  const routes = requestsByRoute(indexed);

  const findings: Draft<'parallelizable-queries'>[] = [];
  for (const runs of groups.values()) {
    const first = runs[0] as Run;
    const savedMean = mean(runs.map((r) => r.savedMs));
    const sumMean = mean(runs.map((r) => r.sumMs));
    const savedShare = mean(runs.map((r) => (r.requestMs > 0 ? r.savedMs / r.requestMs : 0)));
    const calls = median(runs.map((r) => r.calls.length));
    const kinds = new Set(runs.flatMap((r) => r.calls.map((c) => c.kind)));
    const labels = [...new Set(runs.flatMap((r) => r.calls.map((c) => c.label)))];
    const rateKey = routeRateKey(first.service, first.subject);
    const affectedTraces = new Set(runs.map((r) => r.traceId)).size;
    const routeRequests = Math.max(routes.get(rateKey)?.length ?? 0, affectedTraces);
    const { minTraces, minShare } = limits.systematic;
    if (affectedTraces < minTraces || affectedTraces / routeRequests < minShare) continue;
    // Runs per request (a request can hold the same run under several parents) × what each would save.
    const perRequestSavedS = runs.reduce((s, r) => s + r.savedMs, 0) / affectedTraces / 1000;
    const impact =
      requestRate(snapshot, rateKey, routeRequests) * (affectedTraces / routeRequests) * perRequestSavedS;
    const route = first.server === undefined ? undefined : httpRoute(first.server);
    const method = first.server === undefined ? undefined : httpMethod(first.server);
    const childMatcher = kinds.has('http')
      ? kinds.has('db')
        ? 'kind = client'
        : 'kind = client && (span.http.request.method != nil || span.http.method != nil)'
      : DB_SPAN_MATCHER;
    const traceql =
      route === undefined
        ? undefined
        : routeDescendantsTraceQl(
            { service: first.service, route, ...(method === undefined ? {} : { method }) },
            childMatcher,
            'count() >= 2',
          );
    const subject = first.subject;
    const what = kinds.has('http') ? (kinds.has('db') ? 'calls' : 'HTTP calls') : 'queries';
    findings.push(
      draft({
        id: findingId('parallelizable-queries', first.service, subject),
        kind: 'parallelizable-queries',
        layer: kinds.has('http') ? 'api' : 'database',
        service: first.service,
        subject,
        severity: severityFor(savedMean, limits.parallelizable.minSavedMs),
        impact,
        title: `${first.subject} runs ${calls} independent ${what} one after another: ${formatSeconds(savedMean / 1000)} to save per request`,
        summary:
          `In ${affectedTraces} of ${routeRequests} traced ${first.subject} requests on ${first.service} over the last ` +
          `${snapshot.window}, ${calls} read-only ${what} (${labels
            .slice(0, 3)
            .map((l) => shortSql(l, 50))
            .join('; ')}` +
          `${labels.length > 3 ? '; …' : ''}) ran back to back under one parent, ${formatSeconds(sumMean / 1000)} in ` +
          `all. Run concurrently they would take as long as the longest: ~${formatSeconds(savedMean / 1000)} ` +
          `(${formatPercent(savedShare)} of the request) less.`,
        facts: {
          route: first.subject,
          statements: labels,
          calls_per_run_median: calls,
          sum_ms_mean: round(sumMean),
          saved_ms_mean: round(savedMean),
          saved_share_mean: round(savedShare, 3),
          traces_affected: affectedTraces,
          traces_of_route: routeRequests,
          limit_saved_ms: limits.parallelizable.minSavedMs,
          limit_saved_ratio: limits.parallelizable.minSavedRatio,
        },
        evidence: {
          window: snapshot.window,
          queries: traceql === undefined ? [] : [{ language: 'traceql', text: traceql }],
          traceIds: exampleTraceIds(runs.map((r) => ({ traceId: r.traceId, ms: r.savedMs }))),
        },
      }),
    );
  }
  return findings;
}
