/**
 * Every detector, and `detectAll`: runs them over one snapshot with the limits of each service, and returns the
 * findings ranked (most severe, then most user time lost, first).
 */
import { rank } from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import type { Finding, FindingKind, Snapshot } from '../types.ts';
import { detect as cpuGc } from './cpu-gc.ts';
import { detect as errorRate } from './error-rate.ts';
import { detect as eventLoopLag } from './event-loop-lag.ts';
import { detect as latencyRegression } from './latency-regression.ts';
import { detect as memoryLeak } from './memory-leak.ts';
import { detect as poolSaturation } from './pool-saturation.ts';
import { detect as slowEndpoint } from './slow-endpoint.ts';
import { detect as slowStatement } from './slow-statement.ts';

/** A pure detector: `[]` when it finds nothing. */
export type Detect = (snapshot: Snapshot, limits: DetectorLimits) => Finding[];

export interface Detector {
  readonly name: string;
  /** The kinds of finding it reports. */
  readonly kinds: readonly FindingKind[];
  readonly detect: Detect;
}

export const DETECTORS: readonly Detector[] = Object.freeze([
  { name: 'slow-endpoint', kinds: ['slow-endpoint'], detect: slowEndpoint },
  { name: 'error-rate', kinds: ['error-rate'], detect: errorRate },
  { name: 'latency-regression', kinds: ['latency-regression'], detect: latencyRegression },
  { name: 'event-loop-lag', kinds: ['event-loop-lag'], detect: eventLoopLag },
  { name: 'memory-leak', kinds: ['memory-leak'], detect: memoryLeak },
  { name: 'cpu-gc', kinds: ['cpu-saturation', 'gc-pressure'], detect: cpuGc },
  { name: 'slow-statement', kinds: ['slow-statement'], detect: slowStatement },
  { name: 'pool-saturation', kinds: ['pool-saturation'], detect: poolSaturation },
]);

/** The limits of one service: `(service) => limitsFor(objectivesFor(slo, service))`. */
export type LimitsOf = (service: string) => DetectorLimits;

/** The part of a snapshot that belongs to one service. */
export function forService(snapshot: Snapshot, service: string): Snapshot {
  return {
    ...snapshot,
    routes: snapshot.routes.filter((r) => r.service === service),
    runtime: snapshot.runtime.filter((r) => r.service === service),
    pools: snapshot.pools.filter((p) => p.service === service),
    statements: snapshot.statements.filter((s) => s.service === service),
  };
}

function services(snapshot: Snapshot): string[] {
  const all = new Set<string>();
  for (const list of [snapshot.routes, snapshot.runtime, snapshot.pools, snapshot.statements]) {
    for (const item of list) all.add(item.service);
  }
  return [...all].sort();
}

/**
 * A blocked event loop delays every route of its service: their latency regressions are symptoms of the one
 * cause the event-loop finding names, and reporting each would bury it.
 */
function dropSymptoms(findings: readonly Finding[]): Finding[] {
  const blocked = new Set(findings.filter((f) => f.kind === 'event-loop-lag').map((f) => f.service));
  return findings.filter((f) => !(f.kind === 'latency-regression' && blocked.has(f.service)));
}

/**
 * Runs every detector. `limits` is either one set for all services, or a function giving each service its own
 * (the SLO file's per-service overrides); then each detector sees one service's part of the snapshot at a time.
 */
export function detectAll(snapshot: Snapshot, limits: DetectorLimits | LimitsOf): Finding[] {
  const findings: Finding[] = [];
  if (typeof limits === 'function') {
    for (const service of services(snapshot)) {
      const part = forService(snapshot, service);
      const own = limits(service);
      for (const d of DETECTORS) findings.push(...d.detect(part, own));
    }
  } else {
    for (const d of DETECTORS) findings.push(...d.detect(snapshot, limits));
  }
  return rank(dropSymptoms(findings));
}
