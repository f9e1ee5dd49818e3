/**
 * The one detector registry. Each detector is pure, declares the sources it `needs`, and returns drafts with
 * typed facts; a detector runs only when the snapshot holds its sources, and the store's coverage (which
 * findings a cycle could have seen) derives from the same declarations.
 */
import type { Draft } from '../facts.ts';
import type { DetectorLimits } from '../limits.ts';
import type { FindingKind, Snapshot, Source } from '../types.ts';
import { detect as cpuGc } from './cpu-gc.ts';
import { detect as errorRate } from './error-rate.ts';
import { detect as eventLoopLag } from './event-loop-lag.ts';
import { detect as frontend } from './frontend.ts';
import { detect as latencyRegression } from './latency-regression.ts';
import { detect as memoryLeak } from './memory-leak.ts';
import { detect as nPlusOne } from './n-plus-one.ts';
import { detect as parallelizable } from './parallelizable.ts';
import { detect as poolSaturation } from './pool-saturation.ts';
import { detect as slowEndpoint } from './slow-endpoint.ts';
import { detect as slowStatement } from './slow-statement.ts';

/** A pure detector: `[]` when it finds nothing. */
export type Detect = (snapshot: Snapshot, limits: DetectorLimits) => Draft[];

export interface Detector {
  readonly name: string;
  /** The kinds of finding it reports. */
  readonly kinds: readonly FindingKind[];
  /** The sources it cannot judge without (it may also use others when they are there). */
  readonly needs: readonly Source[];
  readonly detect: Detect;
}

export const DETECTORS: readonly Detector[] = Object.freeze([
  { name: 'slow-endpoint', kinds: ['slow-endpoint'], needs: ['prometheus'], detect: slowEndpoint },
  { name: 'error-rate', kinds: ['error-rate'], needs: ['prometheus'], detect: errorRate },
  {
    name: 'latency-regression',
    kinds: ['latency-regression'],
    needs: ['prometheus'],
    detect: latencyRegression,
  },
  { name: 'event-loop-lag', kinds: ['event-loop-lag'], needs: ['prometheus'], detect: eventLoopLag },
  { name: 'memory-leak', kinds: ['memory-leak'], needs: ['prometheus'], detect: memoryLeak },
  { name: 'cpu-gc', kinds: ['cpu-saturation', 'gc-pressure'], needs: ['prometheus'], detect: cpuGc },
  { name: 'slow-statement', kinds: ['slow-statement'], needs: ['statements'], detect: slowStatement },
  { name: 'pool-saturation', kinds: ['pool-saturation'], needs: ['prometheus'], detect: poolSaturation },
  { name: 'n-plus-one', kinds: ['n-plus-one'], needs: ['traces'], detect: nPlusOne },
  { name: 'frontend', kinds: ['web-vital', 'heavy-asset'], needs: ['prometheus'], detect: frontend },
  {
    name: 'parallelizable-queries',
    kinds: ['parallelizable-queries'],
    needs: ['traces'],
    detect: parallelizable,
  },
]);

/** Kinds the database advisor reports (`advisor/`): it reads the app database, not only its statistics. */
export const ADVISOR_KINDS: readonly FindingKind[] = ['missing-index', 'cache-candidate'];

/** The sources a finding of `kind` rests on. */
export function needsOf(kind: string): readonly Source[] {
  if (ADVISOR_KINDS.includes(kind as FindingKind)) return ['statements'];
  return DETECTORS.find((d) => d.kinds.includes(kind as FindingKind))?.needs ?? ['prometheus'];
}

/** The sources the snapshot holds. */
export function sourcesOf(snapshot: Snapshot): Set<Source> {
  const out = new Set<Source>(['prometheus']);
  if (snapshot.queries.statements !== undefined) out.add('statements');
  if (snapshot.traces !== undefined) out.add('traces');
  return out;
}

/** The limits of one service: `(service) => limitsFor(objectivesFor(slo, service))`. */
export type LimitsOf = (service: string) => DetectorLimits;

/** The part of a snapshot that belongs to one service (traces stay whole: detectors group them by service). */
export function forService(snapshot: Snapshot, service: string): Snapshot {
  return {
    ...snapshot,
    routes: snapshot.routes.filter((r) => r.service === service),
    runtime: snapshot.runtime.filter((r) => r.service === service),
    pools: snapshot.pools.filter((p) => p.service === service),
    statements: snapshot.statements.filter((s) => s.service === service),
    pages: (snapshot.pages ?? []).filter((p) => p.service === service),
    assets: (snapshot.assets ?? []).filter((a) => a.service === service),
  };
}

export function services(snapshot: Snapshot): string[] {
  const all = new Set<string>();
  for (const list of [
    snapshot.routes,
    snapshot.runtime,
    snapshot.pools,
    snapshot.statements,
    snapshot.pages ?? [],
  ]) {
    for (const item of list) all.add(item.service);
  }
  return [...all].sort();
}

/**
 * Runs every detector whose sources the snapshot holds. `limits` is either one set for all services, or a
 * function giving each service its own (the SLO file's per-service overrides); then the metric detectors see one
 * service's part of the snapshot at a time, and the trace detectors keep the findings of that service.
 */
export function detectAll(snapshot: Snapshot, limits: DetectorLimits | LimitsOf): Draft[] {
  const have = sourcesOf(snapshot);
  const runnable = DETECTORS.filter((d) => d.needs.every((n) => have.has(n)));
  if (typeof limits !== 'function') return runnable.flatMap((d) => d.detect(snapshot, limits));
  const drafts: Draft[] = [];
  const seen = new Set(services(snapshot));
  for (const service of seen) {
    const part = forService(snapshot, service);
    const own = limits(service);
    for (const d of runnable) drafts.push(...d.detect(part, own).filter((f) => f.service === service));
  }
  // Traced services Prometheus did not see (no route metrics yet): their trace findings, with default limits.
  if (snapshot.traces !== undefined) {
    for (const d of runnable.filter((x) => x.needs.includes('traces'))) {
      for (const f of d.detect(snapshot, limits(''))) if (!seen.has(f.service)) drafts.push(f);
    }
  }
  return drafts;
}
