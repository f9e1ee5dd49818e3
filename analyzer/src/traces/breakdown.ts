/**
 * Where a route's time goes, from its traces: a description that `correlate` attaches to the findings of the
 * route, never a finding of its own. For each request (a server span) the time covered by waiting for a pooled
 * connection, by its DB spans, by its outbound HTTP client spans and by none of them (the service's own code),
 * each as the union of intervals so that concurrent children count once. Pool waiting is never "own code": a
 * route that only queues for a connection is a victim, not a culprit. Shares are averaged over the route's
 * requests; the statement and the outbound host with the largest share are named. Work of downstream services
 * is not looked into: it is already inside the client span that waited for it.
 */
import type { RouteBreakdown } from '../facts.ts';
import type { Snapshot } from '../types.ts';
import {
  dbQueryText,
  descendants,
  isDbSpan,
  isHttpClientSpan,
  isPoolWaitSpan,
  offsetMs,
  poolNameOf,
  type Span,
  spanKey,
  unionLength,
} from './model.ts';
import { exampleTraceIds, indexTraces, mean, type RouteRequest, requestsByRoute, round } from './requests.ts';

type Interval = readonly [number, number];

interface Parts {
  readonly traceId: string;
  readonly durationMs: number;
  readonly poolWaitMs: number;
  readonly dbMs: number;
  readonly httpMs: number;
  readonly ownMs: number;
  readonly heldMs: number;
  /** Per pool name ('' for spans that name none): connection held (first query to last) and waited for. */
  readonly pools: ReadonlyMap<string, { readonly heldMs: number; readonly waitMs: number }>;
  readonly statementMs: ReadonlyMap<string, number>;
  readonly hostMs: ReadonlyMap<string, number>;
}

/** The host an outbound call went to (`server.address`, else the URL's host, else the span's name). */
export function hostOf(span: Span): string {
  const a = span.attributes;
  for (const key of ['server.address', 'net.peer.name', 'http.host']) {
    const v = a[key];
    if (typeof v === 'string' && v !== '') return v;
  }
  for (const key of ['url.full', 'http.url']) {
    const v = a[key];
    if (typeof v === 'string') {
      try {
        return new URL(v).host;
      } catch {
        // not a URL: fall through to the span name
      }
    }
  }
  return span.name;
}

function add(map: Map<string, Interval[]>, key: string, interval: Interval): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [interval]);
  else list.push(interval);
}

function parts(
  request: RouteRequest,
  fingerprints: ReadonlyMap<string, string>,
  texts: Map<string, string>,
): Parts {
  const { server, tree, trace } = request;
  const duration = server.durationMs;
  const clip = (s: Span): Interval => [
    Math.max(0, offsetMs(server.startNs, s.startNs)),
    Math.min(duration, offsetMs(server.startNs, s.endNs)),
  ];
  const wait: Interval[] = [];
  const db: Interval[] = [];
  const http: Interval[] = [];
  const byStatement = new Map<string, Interval[]>();
  const byHost = new Map<string, Interval[]>();
  const waitByPool = new Map<string, Interval[]>();
  const dbByPool = new Map<string, Interval[]>();
  for (const span of descendants(tree, server, (s) => s.kind === 'server')) {
    if (isPoolWaitSpan(span)) {
      wait.push(clip(span));
      add(waitByPool, poolNameOf(span), clip(span));
    } else if (isDbSpan(span)) {
      db.push(clip(span));
      add(dbByPool, poolNameOf(span), clip(span));
      const fingerprint = fingerprints.get(spanKey(span));
      if (fingerprint !== undefined) {
        add(byStatement, fingerprint, clip(span));
        if (!texts.has(fingerprint)) texts.set(fingerprint, dbQueryText(span) ?? '');
      }
    } else if (isHttpClientSpan(span)) {
      http.push(clip(span));
      add(byHost, hostOf(span), clip(span));
    }
  }
  // Nested time counts once, to the innermost kind that explains it: a query inside an HTTP call's time is DB
  // time; waiting for a connection overlaps no query of the same request.
  const waitMs = unionLength(wait);
  const waitOrDb = unionLength([...wait, ...db]);
  const covered = unionLength([...wait, ...db, ...http]);
  const union = (m: Map<string, Interval[]>) => new Map([...m].map(([k, v]) => [k, unionLength(v)]));
  // A checked-out connection (BEGIN … COMMIT, or several queries on one client) is held from the first query
  // to the last, whatever runs between them: an upper bound for queries that each take the pool themselves.
  const held = (spans: readonly Interval[]) =>
    spans.length === 0 ? 0 : Math.max(...spans.map((i) => i[1])) - Math.min(...spans.map((i) => i[0]));
  const pools = new Map(
    [...new Set([...dbByPool.keys(), ...waitByPool.keys()])].map((name) => [
      name,
      { heldMs: held(dbByPool.get(name) ?? []), waitMs: unionLength(waitByPool.get(name) ?? []) },
    ]),
  );
  return {
    traceId: trace.traceId,
    durationMs: duration,
    poolWaitMs: waitMs,
    dbMs: waitOrDb - waitMs,
    httpMs: covered - waitOrDb,
    ownMs: Math.max(0, duration - covered),
    heldMs: held(db),
    pools,
    statementMs: union(byStatement),
    hostMs: union(byHost),
  };
}

function top(
  keys: Iterable<string>,
  share: (key: string) => number,
): { readonly key: string; readonly share: number } | undefined {
  let best: { key: string; share: number } | undefined;
  for (const key of keys) {
    const s = share(key);
    if (s > 0 && (best === undefined || s > best.share)) best = { key, share: s };
  }
  return best;
}

/** The breakdown of every traced route, by `routeRateKey(service, subject)`. */
export function routeBreakdowns(snapshot: Snapshot): Map<string, RouteBreakdown> {
  const out = new Map<string, RouteBreakdown>();
  const data = snapshot.traces;
  if (data === undefined) return out;
  for (const [key, requests] of requestsByRoute(indexTraces(data.traces))) {
    const timed = requests.filter((r) => r.server.durationMs > 0);
    if (timed.length === 0) continue;
    const texts = new Map<string, string>();
    const all = timed.map((r) => parts(r, data.fingerprints, texts));
    const share = (pick: (p: Parts) => number): number => mean(all.map((p) => pick(p) / p.durationMs));
    const statement = top(texts.keys(), (fp) => share((p) => p.statementMs.get(fp) ?? 0));
    const hosts = new Set(all.flatMap((p) => [...p.hostMs.keys()]));
    const host = top(hosts, (h) => share((p) => p.hostMs.get(h) ?? 0));
    out.set(key, {
      route: (timed[0] as RouteRequest).subject,
      traces: timed.length,
      mean_ms: round(mean(all.map((p) => p.durationMs))),
      db_share: round(
        share((p) => p.dbMs),
        3,
      ),
      pool_wait_share: round(
        share((p) => p.poolWaitMs),
        3,
      ),
      http_share: round(
        share((p) => p.httpMs),
        3,
      ),
      own_share: round(
        share((p) => p.ownMs),
        3,
      ),
      db_ms_mean: round(mean(all.map((p) => p.dbMs))),
      pool_wait_ms_mean: round(mean(all.map((p) => p.poolWaitMs))),
      http_ms_mean: round(mean(all.map((p) => p.httpMs))),
      own_ms_mean: round(mean(all.map((p) => p.ownMs))),
      db_held_ms_mean: round(mean(all.map((p) => p.heldMs))),
      pools: Object.fromEntries(
        [...new Set(all.flatMap((p) => [...p.pools.keys()]))].map((name) => [
          name,
          {
            held_ms_mean: round(mean(all.map((p) => p.pools.get(name)?.heldMs ?? 0))),
            wait_ms_mean: round(mean(all.map((p) => p.pools.get(name)?.waitMs ?? 0))),
          },
        ]),
      ),
      ...(statement === undefined
        ? {}
        : {
            top_statement: {
              text: texts.get(statement.key) ?? '',
              fingerprint: statement.key,
              share: round(statement.share, 3),
            },
          }),
      ...(host === undefined ? {} : { top_host: { host: host.key, share: round(host.share, 3) } }),
      trace_ids: exampleTraceIds(all.map((p) => ({ traceId: p.traceId, ms: p.durationMs }))),
    });
  }
  return out;
}
