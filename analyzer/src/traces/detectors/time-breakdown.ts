/**
 * Time breakdown: where a route's time goes, from its traces. For each request (a server span) the time
 * covered by its DB spans, by its outbound HTTP client spans and by neither (the service's own code), each as
 * the union of intervals so that concurrent children are counted once, and a DB call inside an HTTP call's
 * time counts as DB. Shares are averaged over the route's requests; the single statement with the largest
 * share is named ("82 % of GET /orders/:id is one statement"). Work of downstream services is not looked into:
 * it is already inside the client span that waited for it.
 */
import { formatPercent, formatSeconds, shortSql } from '../../findings.ts';
import {
  exampleTraceIds,
  indexTraces,
  mean,
  type RouteRequest,
  requestRate,
  requestsByRoute,
  round,
  traceFindingId,
} from '../findings.ts';
import {
  dbQueryText,
  descendants,
  httpMethod,
  httpRoute,
  isDbSpan,
  isHttpClientSpan,
  offsetMs,
  spanKey,
  unionLength,
} from '../model.ts';
import { withTraceRecommendations } from '../recommend.ts';
import { slowTracesTraceQl } from '../traceql.ts';
import type { TraceDetectorLimits, TraceFinding, TraceSnapshot } from '../types.ts';

type Interval = readonly [number, number];

interface Breakdown {
  readonly traceId: string;
  readonly durationMs: number;
  readonly dbMs: number;
  readonly httpMs: number;
  readonly ownMs: number;
  /** Time covered by each statement fingerprint's spans. */
  readonly statementMs: ReadonlyMap<string, number>;
}

function breakdown(request: RouteRequest, snapshot: TraceSnapshot, texts: Map<string, string>): Breakdown {
  const { server, tree, trace } = request;
  const duration = server.durationMs;
  const clip = (startNs: bigint, endNs: bigint): Interval => [
    Math.max(0, offsetMs(server.startNs, startNs)),
    Math.min(duration, offsetMs(server.startNs, endNs)),
  ];
  const db: Interval[] = [];
  const http: Interval[] = [];
  const byStatement = new Map<string, Interval[]>();
  for (const span of descendants(tree, server, (s) => s.kind === 'server')) {
    if (isDbSpan(span)) {
      const interval = clip(span.startNs, span.endNs);
      db.push(interval);
      const fingerprint = snapshot.fingerprints.get(spanKey(span));
      if (fingerprint !== undefined) {
        const list = byStatement.get(fingerprint);
        if (list === undefined) byStatement.set(fingerprint, [interval]);
        else list.push(interval);
        if (!texts.has(fingerprint)) texts.set(fingerprint, dbQueryText(span) ?? '');
      }
    } else if (isHttpClientSpan(span)) {
      http.push(clip(span.startNs, span.endNs));
    }
  }
  const dbMs = unionLength(db);
  const waitingMs = unionLength([...db, ...http]);
  return {
    traceId: trace.traceId,
    durationMs: duration,
    dbMs,
    httpMs: waitingMs - dbMs,
    ownMs: Math.max(0, duration - waitingMs),
    statementMs: new Map([...byStatement].map(([fp, intervals]) => [fp, unionLength(intervals)])),
  };
}

export function detect(snapshot: TraceSnapshot, limits: TraceDetectorLimits): TraceFinding[] {
  const { minTraces, minDurationMs, dominantShare } = limits.timeBreakdown;
  const findings: TraceFinding[] = [];
  for (const [rateKey, requests] of requestsByRoute(indexTraces(snapshot.traces))) {
    const timed = requests.filter((r) => r.server.durationMs > 0);
    if (timed.length === 0 || timed.length < minTraces) continue;
    const meanMs = mean(timed.map((r) => r.server.durationMs));
    if (meanMs < minDurationMs) continue;
    const texts = new Map<string, string>();
    const parts = timed.map((r) => breakdown(r, snapshot, texts));
    const share = (pick: (b: Breakdown) => number): number => mean(parts.map((b) => pick(b) / b.durationMs));
    const dbShare = share((b) => b.dbMs);
    const httpShare = share((b) => b.httpMs);
    const ownShare = share((b) => b.ownMs);
    let top: { fingerprint: string; share: number } | undefined;
    for (const fingerprint of texts.keys()) {
      const s = share((b) => b.statementMs.get(fingerprint) ?? 0);
      if (top === undefined || s > top.share) top = { fingerprint, share: s };
    }

    const { service, subject, server } = timed[0] as RouteRequest;
    const topText = top === undefined ? '' : (texts.get(top.fingerprint) ?? '');
    const values: Record<string, number | string> = {
      route: subject,
      traces: timed.length,
      mean_ms: round(meanMs),
      db_share: round(dbShare, 3),
      http_share: round(httpShare, 3),
      own_share: round(ownShare, 3),
      db_ms_mean: round(mean(parts.map((b) => b.dbMs))),
      http_ms_mean: round(mean(parts.map((b) => b.httpMs))),
      own_ms_mean: round(mean(parts.map((b) => b.ownMs))),
    };
    if (top !== undefined) {
      values.top_statement = topText;
      values.top_statement_fingerprint = top.fingerprint;
      values.top_statement_share = round(top.share, 3);
    }
    const dominant = top !== undefined && top.share >= dominantShare;
    const mix =
      `${formatPercent(dbShare)} database, ${formatPercent(httpShare)} outbound HTTP, ` +
      `${formatPercent(ownShare)} own code`;
    const topSentence =
      top === undefined
        ? ''
        : ` The largest single statement, ${shortSql(topText, 80)}, holds ${formatPercent(top.share)}.`;
    const route = httpRoute(server);
    const method = httpMethod(server);
    const impactShare = top?.share ?? 0;
    findings.push(
      withTraceRecommendations({
        id: traceFindingId('time-breakdown', service, subject),
        kind: 'time-breakdown',
        layer: 'api',
        service,
        subject,
        severity: dominant ? 'warning' : 'info',
        // Seconds per second spent in the route's largest statement: what fixing that one statement could win.
        impact: requestRate(snapshot, rateKey, timed.length) * (meanMs / 1000) * impactShare,
        title: dominant
          ? `${formatPercent(top?.share ?? 0)} of ${subject} is one statement: ${shortSql(topText, 60)}`
          : `${subject}: ${mix}`,
        summary:
          `Over ${timed.length} traced ${subject} requests on ${service} in the last ${snapshot.window} ` +
          `(mean ${formatSeconds(meanMs / 1000)}), the time went ${mix}.${topSentence}`,
        evidence: {
          values,
          window: snapshot.window,
          queries:
            route === undefined
              ? []
              : [
                  {
                    language: 'traceql',
                    text: slowTracesTraceQl({ service, route, ...(method === undefined ? {} : { method }) }),
                  },
                ],
          traceIds: exampleTraceIds(parts.map((b) => ({ traceId: b.traceId, ms: b.durationMs }))),
        },
      }),
    );
  }
  return findings;
}
