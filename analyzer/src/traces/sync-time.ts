/**
 * Which route holds the event loop, from traces alone. Node runs one callback at a time: while a request's code
 * runs synchronously, no other span of the process can start or end. So a stretch of a server span with no child
 * span running, during which no span of any other request of the service starts or ends, is time the request
 * held the loop ("silent" own time). A route that only waited for a blocked loop has no such stretch: its query
 * or outbound call ends late (the callback waited), so the wait is inside a child span, not between them.
 */
import type { BlockingRoute } from '../facts.ts';
import type { Snapshot } from '../types.ts';
import { descendants, offsetMs, type Span, serviceJob, spanKey } from './model.ts';
import { exampleTraceIds, indexTraces, mean, requestRate, requestsByRoute, round } from './requests.ts';

/** Span edges within 1 ms of a gap's ends are its own edges (start times are whole milliseconds), not another request moving. */
const EDGE_NS = 1_000_000n;

/** Silent own time of each request of `service`, by route key. */
function silentTime(snapshot: Snapshot, service: string): Map<string, { ms: number; traceId: string }[]> {
  const out = new Map<string, { ms: number; traceId: string }[]>();
  const data = snapshot.traces;
  if (data === undefined) return out;
  const indexed = indexTraces(data.traces);
  // Every span edge of the service, with the span it belongs to.
  const edges: { at: bigint; key: string }[] = [];
  const seen = new Set<string>();
  for (const { trace } of indexed) {
    for (const s of trace.spans) {
      const key = spanKey(s);
      if (seen.has(key) || serviceJob(s) !== service) continue;
      seen.add(key);
      edges.push({ at: s.startNs, key }, { at: s.endNs, key });
    }
  }
  edges.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const firstAtOrAfter = (t: bigint): number => {
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((edges[mid] as { at: bigint }).at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (const [routeKey, requests] of requestsByRoute(indexed)) {
    if (!routeKey.startsWith(`${service}\0`)) continue;
    const list: { ms: number; traceId: string }[] = [];
    for (const { server, tree, trace } of requests) {
      const own = new Set<string>([spanKey(server)]);
      const children: Span[] = descendants(tree, server, (s) => s.kind === 'server');
      for (const c of children) own.add(spanKey(c));
      // Gaps of the server span that no descendant covers.
      const covered = children
        .map((c) => [c.startNs, c.endNs] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const gaps: [bigint, bigint][] = [];
      let cursor = server.startNs;
      for (const [start, end] of covered) {
        if (start > cursor) gaps.push([cursor, start < server.endNs ? start : server.endNs]);
        if (end > cursor) cursor = end;
      }
      if (cursor < server.endNs) gaps.push([cursor, server.endNs]);
      let silentMs = 0;
      for (const [a, b] of gaps) {
        if (b - a <= 2n * EDGE_NS) continue;
        let moved = false;
        for (let i = firstAtOrAfter(a + EDGE_NS); i < edges.length; i++) {
          const edge = edges[i] as { at: bigint; key: string };
          if (edge.at >= b - EDGE_NS) break;
          if (!own.has(edge.key)) {
            moved = true;
            break;
          }
        }
        if (!moved) silentMs += offsetMs(a, b);
      }
      list.push({ ms: silentMs, traceId: trace.traceId });
    }
    out.set(routeKey, list);
  }
  return out;
}

/**
 * The routes of `service` that hold its loop, largest first, by synchronous time per second (request rate ×
 * silent own time per request). A route holds it when
 * - it is one of the fewest routes that together hold the majority of that time (one route holding most of it
 *   is named alone), or
 * - each of its requests alone holds the loop longer than `blockMs`, the delay objective: a callback queued
 *   behind one of them waits past the objective whatever else runs (slo.yaml `event_loop_p99_ms`, Clinic
 *   Doctor's blocked-loop line).
 * So two routes blocking the loop with their own work (a compression on one, a key derivation on another) are
 * both named, each a cause that fixing the other does not remove. Empty without traces or synchronous time.
 */
export function blockingRoutes(snapshot: Snapshot, service: string, blockMs: number): BlockingRoute[] {
  const perRoute = [...silentTime(snapshot, service)].map(([key, requests]) => {
    const syncMs = mean(requests.map((r) => r.ms));
    const rate = requestRate(snapshot, key, requests.length);
    return { key, requests, syncMs, rate, perSecond: (rate * syncMs) / 1000 };
  });
  const total = perRoute.reduce((s, r) => s + r.perSecond, 0);
  if (total <= 0) return [];
  perRoute.sort((a, b) => b.perSecond - a.perSecond);
  const holders: BlockingRoute[] = [];
  let held = 0;
  for (const r of perRoute) {
    if (!(r.perSecond > 0)) break;
    const majority = held / total <= 0.5;
    held += r.perSecond;
    if (!majority && !(r.syncMs > blockMs)) continue;
    holders.push({
      route: r.key.slice(service.length + 1),
      sync_ms_mean: round(r.syncMs),
      rate_per_s: r.rate,
      share: round(r.perSecond / total, 3),
      traces: r.requests.length,
      trace_ids: exampleTraceIds(r.requests.map((x) => ({ traceId: x.traceId, ms: x.ms }))),
    });
  }
  return holders;
}
