/**
 * The trace step of an analysis: which traces to read (each service's busiest and slowest routes Prometheus saw,
 * a bounded number of each), read them from a `TraceSource`, and run the trace detectors over them. Bounded on
 * purpose: at most `maxRoutes` × `tracesPerRoute` traces per service and cycle, however many routes it has.
 */
import { isNumber, routeSubject } from '../findings.ts';
import type { Finding, RouteStats, Snapshot } from '../types.ts';
import { detectFromTraces } from './detectors/index.ts';
import { DEFAULT_TRACE_LIMITS, routeRateKey } from './findings.ts';
import { prepareTraceSnapshot } from './fingerprint.ts';
import type { Trace } from './model.ts';
import type { TraceSource } from './source.ts';
import type { TraceDetectorLimits } from './types.ts';

export interface TraceStepOptions {
  readonly source: TraceSource;
  /** Routes looked at per service and cycle, by request rate × p95 (default 10). */
  readonly maxRoutes?: number;
  /** Recent traces read per route (default 20). */
  readonly tracesPerRoute?: number;
  readonly limits?: TraceDetectorLimits;
}

export interface TraceStep {
  readonly findings: readonly Finding[];
  readonly traces: number;
  /** The routes whose traces were read, as `service\0METHOD /route` (trace findings of other routes were not judged). */
  readonly routes: readonly string[];
}

export async function analyzeTraces(snapshot: Snapshot, options: TraceStepOptions): Promise<TraceStep> {
  // Per service: one busy service must not crowd the others out of the trace step.
  const byService = new Map<string, { route: RouteStats; weight: number }[]>();
  for (const r of snapshot.routes) {
    if (!isNumber(r.requestRate) || r.requestRate <= 0) continue;
    const list = byService.get(r.service) ?? [];
    list.push({ route: r, weight: r.requestRate * (isNumber(r.p95Seconds) ? r.p95Seconds : 0) });
    byService.set(r.service, list);
  }
  const routes = [...byService.values()].flatMap((list) =>
    list
      .sort((a, b) => b.weight - a.weight)
      .slice(0, options.maxRoutes ?? 10)
      .map((w) => w.route),
  );
  const routeRates = new Map<string, number>();
  for (const r of snapshot.routes) {
    if (isNumber(r.requestRate)) routeRates.set(routeRateKey(r.service, routeSubject(r)), r.requestRate);
  }
  const byId = new Map<string, Trace>();
  for (const r of routes) {
    const traces = await options.source.recentTraces({
      service: r.service,
      route: r.route,
      method: r.method,
      limit: options.tracesPerRoute ?? 20,
      sinceSeconds: snapshot.windowSeconds,
    });
    for (const t of traces) byId.set(t.traceId, t);
  }
  const prepared = await prepareTraceSnapshot([...byId.values()], {
    at: snapshot.at,
    window: snapshot.window,
    windowSeconds: snapshot.windowSeconds,
    routeRates,
  });
  const findings = detectFromTraces(prepared, options.limits ?? DEFAULT_TRACE_LIMITS);
  return {
    findings: findings as Finding[],
    traces: byId.size,
    routes: routes.map((r) => `${r.service}\0${routeSubject(r)}`),
  };
}
