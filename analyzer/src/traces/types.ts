/**
 * Types of the trace detectors. A `TraceFinding` is a `Finding` in all but its kind: the trace kinds join
 * `FindingKind` in `../types.ts` when the trace detectors are wired into the analysis, and then a
 * `TraceFinding` is assignable to `Finding` as it is.
 */
import type { Finding } from '../types.ts';
import type { Trace } from './model.ts';

/** What the trace detectors find. */
export type TraceFindingKind = 'n-plus-one' | 'parallelizable-queries' | 'time-breakdown';

/** A finding from traces: the same shape as `Finding`, with a trace kind and an API or database layer. */
export interface TraceFinding extends Omit<Finding, 'kind' | 'layer'> {
  readonly kind: TraceFindingKind;
  readonly layer: 'api' | 'database';
}

/** A trace finding before its recommendations are added. */
export type TraceFindingDraft = Omit<TraceFinding, 'recommendations'>;

/** Everything the trace detectors look at: plain data, gathered by an async step (`prepareTraceSnapshot`). */
export interface TraceSnapshot {
  readonly at: Date;
  /** The window the traces come from, e.g. `15m`, and the same in seconds. */
  readonly window: string;
  readonly windowSeconds: number;
  readonly traces: readonly Trace[];
  /** Statement fingerprint per DB span that carries a statement, by `spanKey(span)`. */
  readonly fingerprints: ReadonlyMap<string, string>;
  /**
   * Requests per second by `routeRateKey(service, subject)`, from Prometheus, when known. Without it impact is
   * computed from the traces alone, which undercounts when traces are sampled.
   */
  readonly routeRates?: ReadonlyMap<string, number>;
}

/** The trace detectors' thresholds (the DESIGN.md table; Sentry's values where it has them). */
export interface TraceDetectorLimits {
  readonly nPlusOne: {
    /** Spans with the same statement fingerprint under one parent (Sentry: 5). */
    readonly minRepeats: number;
    /** Their durations added up, in ms (Sentry: 50). */
    readonly minTotalMs: number;
  };
  readonly parallelizable: {
    /** Time a concurrent run would save (sum of durations − the longest), in ms (Sentry: 100). */
    readonly minSavedMs: number;
    /** The same as a share of the enclosing request's duration (Sentry: 0.1). */
    readonly minSavedRatio: number;
    /** Largest idle gap between one span's end and the next one's start that still counts as back to back. */
    readonly maxGapMs: number;
  };
  readonly timeBreakdown: {
    /** Routes with fewer traces are not broken down. */
    readonly minTraces: number;
    /** Routes whose mean duration is shorter are not broken down (pass the latency objective to see only slow ones). */
    readonly minDurationMs: number;
    /** One statement holding at least this share of a route's time makes the finding a warning. */
    readonly dominantShare: number;
  };
}
