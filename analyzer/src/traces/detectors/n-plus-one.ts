/**
 * N+1 queries: within one request, at least 5 DB spans with the same statement fingerprint under one parent
 * span, at least 50 ms together (Sentry's N+1 DB detector thresholds). The calls are counted whether they ran
 * one after another or concurrently: either way it is N round trips that one batched query replaces.
 * Occurrences are aggregated per service, route of the enclosing server span and fingerprint.
 */
import { formatPercent, formatSeconds, severityFor, shortSql } from '../../findings.ts';
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
  traceFindingId,
} from '../findings.ts';
import {
  dbQueryText,
  dbSystem,
  enclosingServerSpan,
  httpMethod,
  httpRoute,
  isDbSpan,
  routeSubject,
  type Span,
  serviceJob,
  spanKey,
} from '../model.ts';
import { withTraceRecommendations } from '../recommend.ts';
import { DB_SPAN_MATCHER, routeDescendantsTraceQl, statementMatcher } from '../traceql.ts';
import type { TraceDetectorLimits, TraceFinding, TraceSnapshot } from '../types.ts';

/** One request's repeated statement (merged over the parents it repeated under). */
interface Occurrence {
  readonly traceId: string;
  readonly count: number;
  readonly totalMs: number;
  /** The request's duration, when the repeats are under a server span. */
  readonly requestMs: number | null;
  readonly texts: ReadonlySet<string>;
  readonly parentName: string;
  readonly dbSystem: string | undefined;
}

interface Group {
  readonly service: string;
  readonly subject: string;
  readonly server: Span | undefined;
  readonly fingerprint: string;
  readonly occurrences: Map<string, Occurrence>;
}

/** Repeats of one fingerprint under one parent that reach the limits, per request. */
function findRepeats(
  indexed: IndexedTrace,
  snapshot: TraceSnapshot,
  limits: TraceDetectorLimits,
  groups: Map<string, Group>,
): void {
  const { trace, tree } = indexed;
  const byParent = new Map<string, Span[]>();
  for (const span of trace.spans) {
    if (!isDbSpan(span) || !snapshot.fingerprints.has(spanKey(span))) continue;
    const key = `${span.parentSpanId ?? ''}\0${snapshot.fingerprints.get(spanKey(span))}`;
    const list = byParent.get(key);
    if (list === undefined) byParent.set(key, [span]);
    else list.push(span);
  }
  for (const spans of byParent.values()) {
    const totalMs = spans.reduce((sum, s) => sum + s.durationMs, 0);
    if (spans.length < limits.nPlusOne.minRepeats || totalMs < limits.nPlusOne.minTotalMs) continue;
    const sample = spans[0] as Span;
    const fingerprint = snapshot.fingerprints.get(spanKey(sample)) as string;
    const parent = tree.parent(sample);
    const server = parent === undefined ? undefined : enclosingServerSpan(tree, parent);
    const service = serviceJob(server ?? sample);
    const subject = server === undefined ? (tree.roots[0]?.name ?? sample.name) : routeSubject(server);
    const key = `${service}\0${subject}\0${fingerprint}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { service, subject, server, fingerprint, occurrences: new Map() };
      groups.set(key, group);
    }
    const before = group.occurrences.get(trace.traceId);
    const texts = new Set(before?.texts ?? []);
    for (const s of spans) texts.add(dbQueryText(s) ?? '');
    group.occurrences.set(trace.traceId, {
      traceId: trace.traceId,
      count: (before?.count ?? 0) + spans.length,
      totalMs: (before?.totalMs ?? 0) + totalMs,
      requestMs: server === undefined ? null : server.durationMs,
      texts,
      parentName: before?.parentName ?? parent?.name ?? '(no parent)',
      dbSystem: before?.dbSystem ?? dbSystem(sample),
    });
  }
}

export function detect(snapshot: TraceSnapshot, limits: TraceDetectorLimits): TraceFinding[] {
  const indexed = indexTraces(snapshot.traces);
  const groups = new Map<string, Group>();
  for (const t of indexed) findRepeats(t, snapshot, limits, groups);
  if (groups.size === 0) return [];
  const routes = requestsByRoute(indexed);

  const findings: TraceFinding[] = [];
  for (const g of groups.values()) {
    const occurrences = [...g.occurrences.values()];
    const counts = occurrences.map((o) => o.count);
    const count = median(counts);
    const totalMean = mean(occurrences.map((o) => o.totalMs));
    // Batched, the N calls cost about one of them: the rest is what the request would not wait for.
    const avoidableMean = mean(occurrences.map((o) => o.totalMs * (1 - 1 / o.count)));
    const shares = occurrences.filter((o) => o.requestMs !== null && o.requestMs > 0);
    const share = shares.length === 0 ? null : mean(shares.map((o) => o.totalMs / (o.requestMs as number)));
    const rateKey = routeRateKey(g.service, g.subject);
    const routeRequests = routes.get(rateKey)?.length ?? occurrences.length;
    const affected = occurrences.length / Math.max(routeRequests, occurrences.length);
    // Seconds of user time per second: requests of the route × the share that repeats × what batching saves.
    const impact = requestRate(snapshot, rateKey, routeRequests) * affected * (avoidableMean / 1000);
    const texts = new Set(occurrences.flatMap((o) => [...o.texts]));
    const statement = [...texts].find((t) => t !== '') ?? '';
    const route = g.server === undefined ? undefined : httpRoute(g.server);
    const method = g.server === undefined ? undefined : httpMethod(g.server);
    const traceql =
      route === undefined
        ? undefined
        : routeDescendantsTraceQl(
            { service: g.service, route, ...(method === undefined ? {} : { method }) },
            texts.size === 1 ? statementMatcher(statement) : DB_SPAN_MATCHER,
            `count() >= ${limits.nPlusOne.minRepeats}`,
          );
    const values: Record<string, number | string> = {
      route: g.subject,
      statement,
      fingerprint: g.fingerprint,
      parent_span: occurrences[0]?.parentName ?? '',
      count_per_request_median: count,
      count_per_request_max: Math.max(...counts),
      total_ms_mean: round(totalMean),
      total_ms_sum: round(occurrences.reduce((s, o) => s + o.totalMs, 0)),
      avoidable_ms_mean: round(avoidableMean),
      traces_affected: occurrences.length,
      traces_of_route: routeRequests,
      limit_repeats: limits.nPlusOne.minRepeats,
      limit_total_ms: limits.nPlusOne.minTotalMs,
    };
    if (share !== null) values.share_of_request = round(share, 3);
    const system = occurrences.find((o) => o.dbSystem !== undefined)?.dbSystem;
    if (system !== undefined) values.db_system = system;
    const subject = `${g.subject} [${g.fingerprint}]`;
    const shareText = share === null ? '' : ` (${formatPercent(share)} of the request)`;
    findings.push(
      withTraceRecommendations({
        id: traceFindingId('n-plus-one', g.service, subject),
        kind: 'n-plus-one',
        layer: 'database',
        service: g.service,
        subject,
        severity: severityFor(totalMean, limits.nPlusOne.minTotalMs),
        impact,
        title: `N+1 queries in ${g.subject}: ${count} × ${shortSql(statement || g.fingerprint, 60)} per request, ${formatSeconds(totalMean / 1000)} together`,
        summary:
          `In ${occurrences.length} of ${routeRequests} traced ${g.subject} requests on ${g.service} over the last ` +
          `${snapshot.window}, the same statement ran ${count} times (median) under one ${values.parent_span} span, ` +
          `${formatSeconds(totalMean / 1000)} together per request${shareText}. One batched query would take about one ` +
          `round trip: ~${formatSeconds(avoidableMean / 1000)} less per request.`,
        evidence: {
          values,
          window: snapshot.window,
          queries: traceql === undefined ? [] : [{ language: 'traceql', text: traceql }],
          traceIds: exampleTraceIds(occurrences.map((o) => ({ traceId: o.traceId, ms: o.totalMs }))),
        },
      }),
    );
  }
  return findings;
}
