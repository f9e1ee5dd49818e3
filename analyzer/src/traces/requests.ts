/**
 * What the trace detectors share: the requests of each route (server spans with their trace), the route's
 * request rate, and the small statistics they report.
 */
import { createHash } from 'node:crypto';
import { isNumber, routeSubject as statsSubject } from '../findings.ts';
import type { Snapshot } from '../types.ts';
import { buildSpanTree, routeSubject, type Span, type SpanTree, serviceJob, type Trace } from './model.ts';

/** The key of a route across services: `service\0METHOD /route`. */
export function routeRateKey(service: string, subject: string): string {
  return `${service}\0${subject}`;
}

/** One request: a server span with the trace it belongs to. */
export interface RouteRequest {
  readonly trace: Trace;
  readonly tree: SpanTree;
  readonly server: Span;
  readonly service: string;
  /** `GET /api/orders/:id`. */
  readonly subject: string;
}

/** Each trace with its span tree, built once for all detectors of a cycle. */
export interface IndexedTrace {
  readonly trace: Trace;
  readonly tree: SpanTree;
}

/** Span trees per traces array: every detector and the breakdown of one cycle share the same ones. */
const INDEXED = new WeakMap<readonly Trace[], IndexedTrace[]>();

export function indexTraces(traces: readonly Trace[]): IndexedTrace[] {
  let indexed = INDEXED.get(traces);
  if (indexed === undefined) {
    indexed = traces.map((trace) => ({ trace, tree: buildSpanTree(trace.spans) }));
    INDEXED.set(traces, indexed);
  }
  return indexed;
}

/** Every server span of the snapshot, grouped by `routeRateKey(service, subject)`. */
export function requestsByRoute(traces: readonly IndexedTrace[]): Map<string, RouteRequest[]> {
  const out = new Map<string, RouteRequest[]>();
  for (const { trace, tree } of traces) {
    for (const server of trace.spans) {
      if (server.kind !== 'server') continue;
      const request = { trace, tree, server, service: serviceJob(server), subject: routeSubject(server) };
      const key = routeRateKey(request.service, request.subject);
      const list = out.get(key);
      if (list === undefined) out.set(key, [request]);
      else list.push(request);
    }
  }
  return out;
}

/**
 * Requests per second of a route: Prometheus' rate when the snapshot has it, else what the traces show (a lower
 * bound when traces are sampled).
 */
export function requestRate(snapshot: Snapshot, key: string, observedRequests: number): number {
  for (const r of snapshot.routes) {
    if (routeRateKey(r.service, statsSubject(r)) === key && isNumber(r.requestRate) && r.requestRate > 0) {
      return r.requestRate;
    }
  }
  return snapshot.windowSeconds > 0 ? observedRequests / snapshot.windowSeconds : 0;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Up to `n` distinct trace ids, the worst (`ms` highest) first. */
export function exampleTraceIds(items: readonly { traceId: string; ms: number }[], n = 5): string[] {
  const best = new Map<string, number>();
  for (const { traceId, ms } of items) best.set(traceId, Math.max(ms, best.get(traceId) ?? 0));
  return [...best]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([id]) => id);
}

/** A short stable hash, for subjects that name a set of statements. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** `1.23456` → `1.23`: evidence values rounded to what a person reads, so they are stable in snapshots. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
