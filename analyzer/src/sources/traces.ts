/**
 * The trace source of a cycle: which traces to read (each service's busiest and slowest routes Prometheus saw,
 * a bounded number of each), read from a `TraceSource`, with each DB span's statement fingerprint. Bounded on
 * purpose: at most `maxRoutes` × `tracesPerRoute` traces per service and cycle, however many routes it has, and
 * `tracesPerPage` per page the browsers reported.
 */
import { isNumber, routeSubject } from '../findings.ts';
import { traceData } from '../traces/fingerprint.ts';
import type { Trace } from '../traces/model.ts';
import type { TraceSource } from '../traces/source.ts';
import type { RouteStats, Snapshot, TraceData } from '../types.ts';

export interface TraceReadOptions {
  readonly source: TraceSource;
  /** Routes looked at per service and cycle, by request rate × p95 (default 10). */
  readonly maxRoutes?: number;
  /** Recent traces read per route (default 20). */
  readonly tracesPerRoute?: number;
  /** Recent traces of each page's documents read besides (default 10). */
  readonly tracesPerPage?: number;
  /** A past window's end (the snapshot's `at` when it was taken for then); default now. */
  readonly until?: Date;
}

/**
 * Each service's routes by time spent in them (request rate × p95), the first `max` of each: one busy service
 * must not crowd the others out of a bounded read.
 */
export function busiestRoutes(snapshot: Snapshot, max: number): RouteStats[] {
  const byService = new Map<string, { route: RouteStats; weight: number }[]>();
  for (const r of snapshot.routes) {
    if (!isNumber(r.requestRate) || r.requestRate <= 0) continue;
    const list = byService.get(r.service) ?? [];
    list.push({ route: r, weight: r.requestRate * (isNumber(r.p95Seconds) ? r.p95Seconds : 0) });
    byService.set(r.service, list);
  }
  return [...byService.values()].flatMap((list) =>
    list
      .sort((a, b) => b.weight - a.weight)
      .slice(0, max)
      .map((w) => w.route),
  );
}

export async function readTraces(snapshot: Snapshot, options: TraceReadOptions): Promise<TraceData> {
  const routes = busiestRoutes(snapshot, options.maxRoutes ?? 10);
  const byId = new Map<string, Trace>();
  for (const r of routes) {
    const traces = await options.source.recentTraces({
      service: r.service,
      route: r.route,
      method: r.method,
      limit: options.tracesPerRoute ?? 20,
      sinceSeconds: snapshot.windowSeconds,
      ...(options.until === undefined ? {} : { until: options.until }),
    });
    for (const t of traces) byId.set(t.traceId, t);
  }
  // The documents of each page the browsers reported, whose server spans a route's recent traces (its API
  // calls, most of them) may not reach: they tell which route renders the page.
  for (const p of snapshot.pages ?? []) {
    const traces = await options.source.recentTraces({
      service: p.service,
      pageLoad: p.page,
      limit: options.tracesPerPage ?? 10,
      sinceSeconds: snapshot.windowSeconds,
      ...(options.until === undefined ? {} : { until: options.until }),
    });
    for (const t of traces) byId.set(t.traceId, t);
  }
  return traceData(
    [...byId.values()],
    routes.map((r) => `${r.service}\0${routeSubject(r)}`),
  );
}
