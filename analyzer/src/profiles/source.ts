/**
 * Where profiles come from. Two implementations, like traces: Grafana Pyroscope's query API (`pyroscope.ts`),
 * and the embedded window of what the analyzer's own ingest endpoint received (`embedded.ts`). Both answer one
 * question: the stacks of one service's wall or heap profiles over a recent stretch, optionally only the samples
 * of one route (the `span_name` label the instrumentation puts on each wall sample).
 */
import type { ProfileKind, StackSample } from './model.ts';

export interface ProfileQuery {
  /** `service.name` (Pyroscope's `service_name`); a Prometheus job `namespace/name` is matched by its name. */
  readonly service: string;
  readonly kind: ProfileKind;
  /** How far back to look. */
  readonly sinceSeconds: number;
  /** Only samples taken while a request of this server span name ran (`GET /orders/:id`). */
  readonly spanName?: string;
  /** Heap: only the latest profile (a heap profile is a snapshot of live memory, not a sum). */
  readonly at?: 'latest' | 'earliest';
}

export interface StackSet {
  readonly samples: readonly StackSample[];
  /** Wall: the seconds of profiling the samples cover (their sum is the main thread's time in them). */
  readonly seconds: number;
  /** Unix milliseconds at which the latest profile in the set ends. */
  readonly endMs?: number;
}

export interface ProfileSource {
  /** `pyroscope` or `embedded`: named in logs and errors. */
  readonly name: string;
  /** The stacks, or null when the source holds no profile of that service in the stretch. */
  stacks(query: ProfileQuery): Promise<StackSet | null>;
}
