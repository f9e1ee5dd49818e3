/**
 * Where traces come from. Two implementations: Tempo over HTTP (`tempo.ts`), and the embedded one that keeps the
 * OTLP traces the analyzer receives itself in a bounded in-memory window. The interface asks only what both can
 * answer cheaply: one trace by id, summaries of a route's slow traces, and recent full traces of a route for the
 * trace detectors.
 */
import type { Trace } from './model.ts';

/** Which traces: one service's server spans, optionally of one route, within a recent window. */
export interface TraceQuery {
  /** The Prometheus job (`service.namespace/service.name`) or a bare `service.name`. */
  readonly service: string;
  /** Route template of the server span (`/api/orders/:id`); all routes when absent. */
  readonly route?: string;
  /** HTTP method of the server span; any when absent. */
  readonly method?: string;
  /**
   * Only traces that hold the browser's load of this page (a `browser.page_load` span with this `page.route`,
   * recorded under the server span of the document): the traces of the page's documents.
   */
  readonly pageLoad?: string;
  /** Only traces whose matching server span took at least this long. */
  readonly minDurationMs?: number;
  /** At most this many traces (default 20). */
  readonly limit?: number;
  /** How far back to look (default 3600 s), from `until`. */
  readonly sinceSeconds?: number;
  /** The end of the window looked at (default now): a past window, as `hotpath compare` judges. */
  readonly until?: Date;
}

/** One matching trace, without its spans. */
export interface TraceSummary {
  /** 32 lowercase hex characters (padded: Tempo's search strips leading zeros). */
  readonly traceId: string;
  readonly rootService?: string;
  readonly rootName?: string;
  /** Unix nanoseconds of the trace's first span. */
  readonly startNs: bigint;
  /** The whole trace's duration. */
  readonly durationMs: number;
  /** The spans that matched the query (the route's server spans), when the source reports them. */
  readonly matchedSpans: readonly { readonly spanId: string; readonly durationMs: number }[];
}

export interface TraceSource {
  /** `tempo` or `embedded`: named in logs and errors. */
  readonly name: string;
  /** The trace with this id (hex, any case, leading zeros optional), or null when the source does not have it. */
  traceById(traceId: string): Promise<Trace | null>;
  /** The slowest matching traces first. */
  searchSlowTraces(query: TraceQuery): Promise<TraceSummary[]>;
  /** Full matching traces, most recent first, for the trace detectors. */
  recentTraces(query: TraceQuery): Promise<Trace[]>;
}

export const DEFAULT_TRACE_LIMIT = 20;
export const DEFAULT_SINCE_SECONDS = 3600;
