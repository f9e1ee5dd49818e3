/**
 * Every trace detector, and `detectFromTraces`: runs them over one trace snapshot and returns the findings
 * ranked like the metric findings (most severe, then most user time lost; ties by id).
 */
import { DEFAULT_TRACE_LIMITS } from '../findings.ts';
import type { TraceDetectorLimits, TraceFinding, TraceFindingKind, TraceSnapshot } from '../types.ts';
import { detect as nPlusOne } from './n-plus-one.ts';
import { detect as parallelizable } from './parallelizable.ts';
import { detect as timeBreakdown } from './time-breakdown.ts';

/** A pure trace detector: `[]` when it finds nothing. */
export type TraceDetect = (snapshot: TraceSnapshot, limits: TraceDetectorLimits) => TraceFinding[];

export interface TraceDetector {
  readonly name: string;
  readonly kinds: readonly TraceFindingKind[];
  readonly detect: TraceDetect;
}

export const TRACE_DETECTORS: readonly TraceDetector[] = Object.freeze([
  { name: 'n-plus-one', kinds: ['n-plus-one'], detect: nPlusOne },
  { name: 'parallelizable-queries', kinds: ['parallelizable-queries'], detect: parallelizable },
  { name: 'time-breakdown', kinds: ['time-breakdown'], detect: timeBreakdown },
]);

const SEVERITY_ORDER = { info: 0, warning: 1, critical: 2 } as const;

export function detectFromTraces(
  snapshot: TraceSnapshot,
  limits: TraceDetectorLimits = DEFAULT_TRACE_LIMITS,
): TraceFinding[] {
  return TRACE_DETECTORS.flatMap((d) => d.detect(snapshot, limits)).sort(
    (a, b) =>
      SEVERITY_ORDER[b.severity] - SEVERITY_ORDER[a.severity] ||
      b.impact - a.impact ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
