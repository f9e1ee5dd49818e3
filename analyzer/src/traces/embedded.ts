/**
 * The embedded `TraceSource`: the traces the analyzer receives itself over OTLP/HTTP (`otlp-receiver.ts`), kept
 * in a bounded in-memory window for the local no-Docker run and the end-to-end tests. Spans of one trace arrive
 * in several exports, seconds apart (each service's batch processor flushes on its own schedule), so they are
 * merged by trace id and deduplicated by span id (an exporter retries a batch whose response it did not see).
 *
 * Three bounds keep memory flat whatever the senders do: a number of traces, a number of spans across all
 * traces, and an age. Overload drops whole traces, oldest first by the time their first span arrived (a
 * half-kept trace would mislead the detectors more than a missing one), and counts them in `stats()`.
 */
import { ATTR } from '@hotpath/instrumentation/semconv';
import { UsageError } from '../errors.ts';
import {
  type Attributes,
  type AttributeValue,
  httpMethod,
  httpRoute,
  isPageLoad,
  type Span,
  serviceJob,
  type Trace,
} from './model.ts';
import { normalizeSpanId, normalizeTraceId, padTraceId } from './otlp-json.ts';
import {
  DEFAULT_SINCE_SECONDS,
  DEFAULT_TRACE_LIMIT,
  type TraceQuery,
  type TraceSource,
  type TraceSummary,
} from './source.ts';

export interface EmbeddedTraceSourceOptions {
  /** Traces kept at most (default 5000). */
  readonly maxTraces?: number;
  /** Spans kept at most, all traces together (default 200 000). */
  readonly maxSpans?: number;
  /** A trace is forgotten this long after its first span arrived (default 15 minutes). */
  readonly maxAgeMs?: number;
  /** The clock, Unix milliseconds; tests move it. */
  readonly now?: () => number;
}

export const EMBEDDED_TRACE_DEFAULTS = Object.freeze({
  maxTraces: 5000,
  maxSpans: 200_000,
  maxAgeMs: 15 * 60_000,
});

/** What the window holds and what it let go, since it was created. */
export interface EmbeddedTraceStats {
  readonly traces: number;
  readonly spans: number;
  /** Traces dropped to make room (over `maxTraces` or `maxSpans`), not counting those that aged out. */
  readonly droppedTraces: number;
  /** Spans of the dropped traces, plus spans refused because their trace alone filled the window. */
  readonly droppedSpans: number;
  /** Traces forgotten because they were older than `maxAgeMs`: retention, not loss. */
  readonly expiredTraces: number;
  /** OTLP requests the receiver refused (malformed, too large, wrong content type). */
  readonly rejectedBatches: number;
}

/** The outcome of one `ingest`. */
export interface IngestResult {
  /** Spans stored, or already held (a retried export). */
  readonly accepted: number;
  /** Spans refused: an invalid id, or a trace that alone fills `maxSpans`. */
  readonly rejected: number;
  /** Why spans were refused; absent when none were. */
  readonly reason?: string;
}

interface StoredTrace {
  readonly traceId: string;
  readonly firstSeenMs: number;
  readonly spans: Map<string, Span>;
  /** The trace's server spans, so searches do not visit every span. */
  readonly servers: Span[];
  /** Its browser page-load spans (`pageLoad` queries). */
  readonly pageLoads: Span[];
  startNs: bigint;
  endNs: bigint;
  /** `spans` ordered by start time, built when asked for and dropped when a span arrives. */
  sorted: readonly Span[] | null;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`embedded trace source: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function byStart(a: Span, b: Span): number {
  return a.startNs === b.startNs ? 0 : a.startNs < b.startNs ? -1 : 1;
}

function durationMs(startNs: bigint, endNs: bigint): number {
  return endNs > startNs ? Number(endNs - startNs) / 1e6 : 0;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Lowercase ids, as every other part of the analyzer expects them; null when an id is not one. */
/**
 * The SDK's default span limits (128 attributes) and a 4 KiB cap on each string: the window is bounded in
 * spans, and this bounds each span, so a flood of bulk statements cannot take gigabytes.
 */
export const MAX_ATTRIBUTES = 128;
export const MAX_STRING_LENGTH = 4096;

function capString(value: string): string {
  return value.length <= MAX_STRING_LENGTH ? value : `${value.slice(0, MAX_STRING_LENGTH - 1)}…`;
}

function capAttributes(attributes: Attributes): Attributes {
  const entries = Object.entries(attributes);
  let changed = entries.length > MAX_ATTRIBUTES;
  const out: [string, AttributeValue][] = [];
  for (const [key, value] of entries.slice(0, MAX_ATTRIBUTES)) {
    let capped = value;
    if (typeof value === 'string' && value.length > MAX_STRING_LENGTH) capped = capString(value);
    else if (Array.isArray(value) && value.length > MAX_ATTRIBUTES)
      capped = value.slice(0, MAX_ATTRIBUTES) as AttributeValue;
    if (capped !== value) changed = true;
    out.push([key, capped]);
  }
  return changed ? Object.fromEntries(out) : attributes;
}

function normalized(raw: Span): Span | null {
  const span: Span = {
    ...raw,
    name: capString(raw.name),
    attributes: capAttributes(raw.attributes),
    resource: capAttributes(raw.resource),
    ...(raw.statusMessage === undefined ? {} : { statusMessage: capString(raw.statusMessage) }),
  };
  if (TRACE_ID.test(span.traceId) && SPAN_ID.test(span.spanId)) return span;
  const traceId = normalizeTraceId(span.traceId);
  const spanId = normalizeSpanId(span.spanId);
  return traceId === null || spanId === null ? null : { ...span, traceId, spanId };
}

export class EmbeddedTraceSource implements TraceSource {
  readonly name = 'embedded';
  readonly maxTraces: number;
  readonly maxSpans: number;
  readonly maxAgeMs: number;
  readonly #now: () => number;
  /** Insertion order is first-seen order: the first entry is always the oldest trace. */
  readonly #traces = new Map<string, StoredTrace>();
  #spanCount = 0;
  #droppedTraces = 0;
  #droppedSpans = 0;
  #expiredTraces = 0;
  #rejectedBatches = 0;

  constructor(options: EmbeddedTraceSourceOptions = {}) {
    this.maxTraces = positiveInteger('maxTraces', options.maxTraces, EMBEDDED_TRACE_DEFAULTS.maxTraces);
    this.maxSpans = positiveInteger('maxSpans', options.maxSpans, EMBEDDED_TRACE_DEFAULTS.maxSpans);
    this.maxAgeMs = positiveInteger('maxAgeMs', options.maxAgeMs, EMBEDDED_TRACE_DEFAULTS.maxAgeMs);
    this.#now = options.now ?? Date.now;
  }

  /** Adds spans (any mix of traces, in any order), merging them into the traces already held. */
  ingest(spans: readonly Span[]): IngestResult {
    this.#expire();
    const now = this.#now();
    let accepted = 0;
    let invalid = 0;
    let tooBig = 0;
    for (const raw of spans) {
      const span = normalized(raw);
      if (span === null) {
        invalid++;
        continue;
      }
      let trace = this.#traces.get(span.traceId);
      if (trace?.spans.has(span.spanId)) {
        accepted++;
        continue;
      }
      if (trace === undefined) {
        while (this.#traces.size >= this.maxTraces) this.#dropOldest(undefined);
        trace = {
          traceId: span.traceId,
          firstSeenMs: now,
          spans: new Map(),
          servers: [],
          pageLoads: [],
          startNs: span.startNs,
          endNs: span.endNs,
          sorted: null,
        };
        this.#traces.set(span.traceId, trace);
      }
      let full = false;
      while (this.#spanCount >= this.maxSpans && !full) full = !this.#dropOldest(trace);
      if (full) {
        tooBig++;
        continue;
      }
      trace.spans.set(span.spanId, span);
      if (span.kind === 'server') trace.servers.push(span);
      else if (isPageLoad(span)) trace.pageLoads.push(span);
      if (span.startNs < trace.startNs) trace.startNs = span.startNs;
      if (span.endNs > trace.endNs) trace.endNs = span.endNs;
      trace.sorted = null;
      this.#spanCount++;
      accepted++;
    }
    this.#droppedSpans += tooBig;
    const reasons = [
      ...(invalid === 0 ? [] : [`${invalid} span(s) without a valid trace or span id`]),
      ...(tooBig === 0
        ? []
        : [
            `${tooBig} span(s) of a trace that alone fills the embedded window of ${this.maxSpans} spans ` +
              '(raise the span limit, or send such traces to Tempo)',
          ]),
    ];
    return {
      accepted,
      rejected: invalid + tooBig,
      ...(reasons.length === 0 ? {} : { reason: reasons.join('; ') }),
    };
  }

  /** Counts an OTLP request the receiver refused as a whole. */
  recordRejectedBatch(): void {
    this.#rejectedBatches++;
  }

  stats(): EmbeddedTraceStats {
    this.#expire();
    return {
      traces: this.#traces.size,
      spans: this.#spanCount,
      droppedTraces: this.#droppedTraces,
      droppedSpans: this.#droppedSpans,
      expiredTraces: this.#expiredTraces,
      rejectedBatches: this.#rejectedBatches,
    };
  }

  async traceById(traceId: string): Promise<Trace | null> {
    const id = padTraceId(traceId);
    if (id === null) {
      throw new UsageError(`trace id ${JSON.stringify(traceId)} is not hex (up to 32 characters)`);
    }
    this.#expire();
    const trace = this.#traces.get(id);
    return trace === undefined ? null : this.#toTrace(trace);
  }

  async searchSlowTraces(query: TraceQuery): Promise<TraceSummary[]> {
    const found = this.#matching(query).map(({ trace, matched }): TraceSummary => {
      const root = this.#sortedSpans(trace).find((s) => s.parentSpanId === undefined);
      return {
        traceId: trace.traceId,
        ...(root === undefined ? {} : { rootService: root.service, rootName: root.name }),
        startNs: trace.startNs,
        durationMs: durationMs(trace.startNs, trace.endNs),
        matchedSpans: matched.map((s) => ({ spanId: s.spanId, durationMs: s.durationMs })),
      };
    });
    // The same order as the Tempo source: the whole trace's duration, which is what a summary shows.
    found.sort((a, b) => b.durationMs - a.durationMs || compareIds(a.traceId, b.traceId));
    return found.slice(0, limitOf(query));
  }

  async recentTraces(query: TraceQuery): Promise<Trace[]> {
    const found = this.#matching(query).map(({ trace }) => trace);
    found.sort((a, b) =>
      a.startNs === b.startNs ? compareIds(a.traceId, b.traceId) : a.startNs > b.startNs ? -1 : 1,
    );
    return found.slice(0, limitOf(query)).map((t) => this.#toTrace(t));
  }

  /**
   * Traces with a server span of `query` (the conditions of `slowTracesTraceQl`: service job or bare service
   * name, route, method, duration, page load) that ended within the `sinceSeconds` before `until` (default: now)
   * by their own clock.
   */
  #matching(query: TraceQuery): { trace: StoredTrace; matched: Span[] }[] {
    this.#expire();
    const sinceSeconds = query.sinceSeconds ?? DEFAULT_SINCE_SECONDS;
    const untilMs = query.until?.getTime() ?? this.#now();
    const cutoffNs = BigInt(Math.floor(untilMs - sinceSeconds * 1000)) * 1_000_000n;
    const untilNs = BigInt(Math.ceil(untilMs)) * 1_000_000n;
    const minDurationMs = query.minDurationMs ?? 0;
    const matches = (s: Span): boolean =>
      (serviceJob(s) === query.service || s.service === query.service) &&
      (query.route === undefined || httpRoute(s) === query.route) &&
      (query.method === undefined || httpMethod(s) === query.method) &&
      s.durationMs >= minDurationMs;
    const out: { trace: StoredTrace; matched: Span[] }[] = [];
    for (const trace of this.#traces.values()) {
      if (trace.endNs < cutoffNs || trace.endNs > untilNs) continue;
      if (
        query.pageLoad !== undefined &&
        !trace.pageLoads.some((s) => s.attributes[ATTR.pageRoute] === query.pageLoad)
      )
        continue;
      const matched = trace.servers.filter(matches);
      if (matched.length > 0) out.push({ trace, matched });
    }
    return out;
  }

  #sortedSpans(trace: StoredTrace): readonly Span[] {
    // A new array each time a span arrives, never sorted in place: a Trace handed out earlier stays as it was.
    trace.sorted ??= [...trace.spans.values()].sort(byStart);
    return trace.sorted;
  }

  #toTrace(trace: StoredTrace): Trace {
    return { traceId: trace.traceId, spans: this.#sortedSpans(trace) };
  }

  /** Drops the oldest trace other than `keep`; false when there is none. */
  #dropOldest(keep: StoredTrace | undefined): boolean {
    for (const trace of this.#traces.values()) {
      if (trace === keep) continue;
      this.#traces.delete(trace.traceId);
      this.#spanCount -= trace.spans.size;
      this.#droppedTraces++;
      this.#droppedSpans += trace.spans.size;
      return true;
    }
    return false;
  }

  #expire(): void {
    const cutoff = this.#now() - this.maxAgeMs;
    for (const trace of this.#traces.values()) {
      // First-seen order: the first trace young enough ends the scan (a clock stepping back only delays it).
      if (trace.firstSeenMs > cutoff) break;
      this.#traces.delete(trace.traceId);
      this.#spanCount -= trace.spans.size;
      this.#expiredTraces++;
    }
  }
}

function limitOf(query: TraceQuery): number {
  return Math.max(0, Math.floor(query.limit ?? DEFAULT_TRACE_LIMIT));
}
