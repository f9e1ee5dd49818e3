/**
 * N+1 queries: within one request, at least 5 DB spans with the same statement fingerprint under one parent
 * span, at least 50 ms together (Sentry's N+1 DB detector thresholds, `limits.nPlusOne`). The calls are counted
 * whether they ran one after another or concurrently: either way it is N round trips one batched query
 * replaces. One finding per service and statement, listing every route it repeats in: the same loop reached
 * from three routes is one place in the code. A route counts only where the pattern is systematic
 * (`limits.systematic`); the others are kept in the evidence.
 */
import type { Draft, RepeatSite } from '../facts.ts';
import { draft, findingId, formatPercent, formatSeconds, severityFor, shortSql } from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
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
import { DB_SPAN_MATCHER, routeDescendantsTraceQl, statementMatcher } from '../traces/traceql.ts';
import type { Snapshot } from '../types.ts';

/** One request's repeats of one statement (merged over the parents it repeated under). */
interface Occurrence {
  readonly traceId: string;
  readonly count: number;
  readonly totalMs: number;
  readonly requestMs: number | null;
  readonly parentName: string;
}

interface Group {
  readonly service: string;
  readonly fingerprint: string;
  readonly texts: Set<string>;
  system: string | undefined;
  /** By route subject, by trace id. */
  readonly byRoute: Map<string, { server: Span | undefined; occurrences: Map<string, Occurrence> }>;
}

function findRepeats(
  { trace, tree }: IndexedTrace,
  fingerprints: ReadonlyMap<string, string>,
  limits: DetectorLimits,
  groups: Map<string, Group>,
): void {
  const byParent = new Map<string, Span[]>();
  for (const span of trace.spans) {
    const fingerprint = fingerprints.get(spanKey(span));
    if (!isDbSpan(span) || fingerprint === undefined) continue;
    // A span that cannot belong to its parent (another request's, attached by a leaked context) is no repeat.
    const parent = tree.parent(span);
    const key = `${parent?.spanId ?? `root:${span.spanId}`}\0${fingerprint}`;
    const list = byParent.get(key);
    if (list === undefined) byParent.set(key, [span]);
    else list.push(span);
  }
  for (const spans of byParent.values()) {
    const totalMs = spans.reduce((sum, s) => sum + s.durationMs, 0);
    if (spans.length < limits.nPlusOne.minRepeats || totalMs < limits.nPlusOne.minTotalMs) continue;
    const sample = spans[0] as Span;
    const fingerprint = fingerprints.get(spanKey(sample)) as string;
    const parent = tree.parent(sample);
    const server = parent === undefined ? undefined : enclosingServerSpan(tree, parent);
    const service = serviceJob(server ?? sample);
    const route = server === undefined ? (tree.roots[0]?.name ?? sample.name) : routeSubject(server);
    const key = `${service}\0${fingerprint}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { service, fingerprint, texts: new Set(), system: undefined, byRoute: new Map() };
      groups.set(key, group);
    }
    group.system ??= dbSystem(sample);
    for (const s of spans) {
      const text = dbQueryText(s);
      if (text !== undefined) group.texts.add(text);
    }
    let site = group.byRoute.get(route);
    if (site === undefined) {
      site = { server, occurrences: new Map() };
      group.byRoute.set(route, site);
    }
    const before = site.occurrences.get(trace.traceId);
    site.occurrences.set(trace.traceId, {
      traceId: trace.traceId,
      count: (before?.count ?? 0) + spans.length,
      totalMs: (before?.totalMs ?? 0) + totalMs,
      requestMs: server === undefined ? null : server.durationMs,
      parentName: before?.parentName ?? parent?.name ?? '(no parent)',
    });
  }
}

export function detect(snapshot: Snapshot, limits: DetectorLimits): Draft<'n-plus-one'>[] {
  const data = snapshot.traces;
  if (data === undefined) return [];
  const indexed = indexTraces(data.traces);
  const groups = new Map<string, Group>();
  for (const t of indexed) findRepeats(t, data.fingerprints, limits, groups);
  if (groups.size === 0) return [];
  const routes = requestsByRoute(indexed);
  const { minTraces, minShare } = limits.systematic;

  const findings: Draft<'n-plus-one'>[] = [];
  for (const g of groups.values()) {
    const sites: (RepeatSite & { impact: number; share: number | null; traceIds: string[] })[] = [];
    const unsystematic: string[] = [];
    for (const [route, { occurrences: byTrace }] of g.byRoute) {
      const occurrences = [...byTrace.values()];
      const rateKey = routeRateKey(g.service, route);
      const ofRoute = Math.max(routes.get(rateKey)?.length ?? 0, occurrences.length);
      if (occurrences.length < minTraces || occurrences.length / ofRoute < minShare) {
        unsystematic.push(`${route} (${occurrences.length} of ${ofRoute} traces)`);
        continue;
      }
      const counts = occurrences.map((o) => o.count);
      // Batched, the N calls cost about one of them: the rest is what the request would not wait for.
      const avoidable = mean(occurrences.map((o) => o.totalMs * (1 - 1 / o.count)));
      const rate = requestRate(snapshot, rateKey, ofRoute);
      const timed = occurrences.filter((o) => o.requestMs !== null && o.requestMs > 0);
      sites.push({
        route,
        count_per_request_median: median(counts),
        count_per_request_max: Math.max(...counts),
        total_ms_mean: round(mean(occurrences.map((o) => o.totalMs))),
        avoidable_ms_mean: round(avoidable),
        traces_affected: occurrences.length,
        traces_of_route: ofRoute,
        rate_per_s: rate,
        parent_span: occurrences[0]?.parentName ?? '',
        // Seconds of user time per second: requests of the route × the share that repeats × what batching saves.
        impact: rate * (occurrences.length / ofRoute) * (avoidable / 1000),
        share: timed.length === 0 ? null : mean(timed.map((o) => o.totalMs / (o.requestMs as number))),
        traceIds: exampleTraceIds(occurrences.map((o) => ({ traceId: o.traceId, ms: o.totalMs }))),
      });
    }
    if (sites.length === 0) continue;
    sites.sort((a, b) => b.impact - a.impact || (a.route < b.route ? -1 : 1));
    const worst = sites[0] as (typeof sites)[number];
    const statement = [...g.texts].sort()[0] ?? '';
    const impact = sites.reduce((s, x) => s + x.impact, 0);
    const server = g.byRoute.get(worst.route)?.server;
    const method = server === undefined ? undefined : httpMethod(server);
    const template = server === undefined ? undefined : httpRoute(server);
    const traceql =
      template === undefined
        ? undefined
        : routeDescendantsTraceQl(
            { service: g.service, route: template, ...(method === undefined ? {} : { method }) },
            g.texts.size === 1 ? statementMatcher(statement) : DB_SPAN_MATCHER,
            `count() >= ${limits.nPlusOne.minRepeats}`,
          );
    const where =
      sites.length === 1 ? worst.route : `${sites.length} routes (${sites.map((s) => s.route).join(', ')})`;
    const shareText = worst.share === null ? '' : ` (${formatPercent(worst.share)} of the request)`;
    findings.push(
      draft({
        id: findingId('n-plus-one', g.service, g.fingerprint),
        kind: 'n-plus-one',
        layer: 'database',
        service: g.service,
        subject: g.fingerprint,
        severity: severityFor(worst.total_ms_mean, limits.nPlusOne.minTotalMs),
        impact,
        title: `N+1 queries in ${where}: ${worst.count_per_request_median} × ${shortSql(statement || g.fingerprint, 60)} per request, ${formatSeconds(worst.total_ms_mean / 1000)} together`,
        summary:
          `In ${worst.traces_affected} of ${worst.traces_of_route} traced ${worst.route} requests on ${g.service} ` +
          `over the last ${snapshot.window}, the same statement ran ${worst.count_per_request_median} times ` +
          `(median) under one ${worst.parent_span} span, ${formatSeconds(worst.total_ms_mean / 1000)} together per ` +
          `request${shareText}. One batched query would take about one round trip: ` +
          `~${formatSeconds(worst.avoidable_ms_mean / 1000)} less per request.` +
          (sites.length > 1
            ? ` It repeats the same way in ${sites
                .slice(1)
                .map((s) => `${s.route} (${s.count_per_request_median}×)`)
                .join(', ')}.`
            : ''),
        facts: {
          fingerprint: g.fingerprint,
          statement,
          ...(g.system === undefined ? {} : { db_system: g.system }),
          limit_repeats: limits.nPlusOne.minRepeats,
          limit_total_ms: limits.nPlusOne.minTotalMs,
          sites: sites.map(({ impact: _i, share: _s, traceIds: _t, ...site }) => site),
          routes: sites.map((s) => s.route),
          unsystematic_routes: unsystematic,
        },
        evidence: {
          // The worst site's numbers, flat, for people and dashboards reading the stored finding.
          values: {
            count_per_request_median: worst.count_per_request_median,
            total_ms_mean: worst.total_ms_mean,
            avoidable_ms_mean: worst.avoidable_ms_mean,
            traces_affected: worst.traces_affected,
            traces_of_route: worst.traces_of_route,
          },
          window: snapshot.window,
          queries: traceql === undefined ? [] : [{ language: 'traceql', text: traceql }],
          traceIds: worst.traceIds,
        },
      }),
    );
  }
  return findings;
}
