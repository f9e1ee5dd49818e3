/**
 * Tempo's HTTP API as a `TraceSource`: trace by id (v2, falling back to v1 for Tempo before 2.5), TraceQL
 * search, and exemplar trace ids from Prometheus (`/api/v1/query_exemplars`), which link a latency bucket to a
 * trace without any search at all.
 * API: https://grafana.com/docs/tempo/latest/api_docs/
 */
import { z } from 'zod';
import { UpstreamError, UsageError } from '../errors.ts';
import { type GetJsonRequest, getJson, type HttpOptions } from './http.ts';
import type { Trace } from './model.ts';
import { formatIssues, padTraceId, TraceFormatError, tracesFromOtlpJson } from './otlp-json.ts';
import {
  DEFAULT_SINCE_SECONDS,
  DEFAULT_TRACE_LIMIT,
  type TraceQuery,
  type TraceSource,
  type TraceSummary,
} from './source.ts';
import { slowTracesTraceQl } from './traceql.ts';

export { slowTracesTraceQl } from './traceql.ts';

export interface TempoClientOptions extends HttpOptions {
  /** Tempo's HTTP base URL, e.g. `http://tempo:3200`. */
  readonly url: string;
  /** Traces fetched at once by `recentTraces` (default 4). */
  readonly concurrency?: number;
}

/** Something the response did not have the shape the API documents. */
function unexpected(target: string, what: string, problems: readonly string[]): UpstreamError {
  return new UpstreamError(
    'tempo',
    target,
    `unexpected ${what} response:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Trace by id

/**
 * A trace-by-id body as a trace: v2 `{trace: {resourceSpans}, status?, message?}` or v1 `{batches}`. Null when
 * it holds no spans. Throws `TraceFormatError` when it is neither.
 */
export function parseTraceResponse(body: unknown): Trace | null {
  let data: unknown = body;
  if (typeof body === 'object' && body !== null && !('batches' in body) && !('resourceSpans' in body)) {
    // v2: an empty trace (a PARTIAL answer that found nothing yet) may be left out or be `{}`.
    const trace = (body as { trace?: unknown }).trace;
    if (trace === undefined) return null;
    data =
      typeof trace === 'object' && trace !== null && !('resourceSpans' in trace)
        ? { resourceSpans: [] }
        : trace;
  }
  const [first, ...rest] = tracesFromOtlpJson(data);
  if (first === undefined) return null;
  if (rest.length > 0) {
    throw new TraceFormatError([
      `expected one trace, found ${rest.length + 1} (${[first, ...rest].map((t) => t.traceId).join(', ')})`,
    ]);
  }
  return first;
}

// ---------------------------------------------------------------------------------------------------------------
// Search

const TraceIdHex = z.string().transform((s, ctx) => {
  const id = padTraceId(s);
  if (id === null) {
    ctx.issues.push({ code: 'custom', input: s, message: `traceID ${JSON.stringify(s)} is not hex` });
    return z.NEVER;
  }
  return id;
});

const Nanos = z
  .union([z.string().regex(/^\d+$/), z.number().int().nonnegative()])
  .transform((v) => BigInt(v));

const SpanSetJson = z.object({
  spans: z
    .array(z.object({ spanID: z.string(), durationNanos: Nanos.optional() }))
    .optional()
    .default([]),
  matched: z.number().optional(),
});

const SearchResponseJson = z.object({
  // jsonpb leaves out empty repeated fields and zero numbers.
  traces: z
    .array(
      z.object({
        traceID: TraceIdHex,
        rootServiceName: z.string().optional(),
        rootTraceName: z.string().optional(),
        startTimeUnixNano: Nanos.optional(),
        durationMs: z.number().nonnegative().optional(),
        spanSet: SpanSetJson.optional(),
        spanSets: z.array(SpanSetJson).optional(),
      }),
    )
    .optional()
    .default([]),
});

/** A search response (TraceQL or tag search) as summaries, in Tempo's order. */
export function parseSearchResponse(body: unknown): TraceSummary[] {
  const parsed = SearchResponseJson.safeParse(body);
  if (!parsed.success) throw new TraceFormatError(formatIssues(parsed.error), 'a Tempo search response');
  return parsed.data.traces.map((t) => {
    // `spanSet` is the deprecated single-set field; `spanSets` repeats it, so take the union.
    const matched = new Map<string, number>();
    for (const set of [...(t.spanSets ?? []), ...(t.spanSet === undefined ? [] : [t.spanSet])]) {
      for (const s of set.spans) {
        if (!matched.has(s.spanID)) matched.set(s.spanID, Number(s.durationNanos ?? 0n) / 1e6);
      }
    }
    return {
      traceId: t.traceID,
      ...(t.rootServiceName === undefined ? {} : { rootService: t.rootServiceName }),
      ...(t.rootTraceName === undefined ? {} : { rootName: t.rootTraceName }),
      startNs: t.startTimeUnixNano ?? 0n,
      durationMs: t.durationMs ?? 0,
      matchedSpans: [...matched].map(([spanId, durationMs]) => ({ spanId, durationMs })),
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The client

export class TempoClient implements TraceSource {
  readonly name = 'tempo';
  readonly url: string;
  readonly #http: HttpOptions;
  readonly #concurrency: number;

  constructor(options: TempoClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#http = {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.retries === undefined ? {} : { retries: options.retries }),
      ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
    };
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
  }

  #get(path: string, params?: Readonly<Record<string, string>>): Promise<unknown | null> {
    const request: GetJsonRequest = {
      ...this.#http,
      upstream: 'tempo',
      target: this.url,
      path,
      ...(params === undefined ? {} : { params }),
      hint: 'check --tempo / TEMPO_URL and that Tempo is up',
    };
    return getJson(request);
  }

  async traceById(traceId: string): Promise<Trace | null> {
    const id = padTraceId(traceId);
    if (id === null)
      throw new UsageError(`trace id ${JSON.stringify(traceId)} is not hex (up to 32 characters)`);
    // v2 first; a 404 there is either "no such trace" or a Tempo older than 2.5 without v2, which v1 settles.
    let body = await this.#get(`/api/v2/traces/${id}`);
    let version = 'v2';
    if (body === null) {
      body = await this.#get(`/api/traces/${id}`);
      version = 'v1';
    }
    if (body === null) return null;
    let trace: Trace | null;
    try {
      trace = parseTraceResponse(body);
    } catch (error) {
      if (error instanceof TraceFormatError)
        throw unexpected(this.url, `${version} trace-by-id`, error.problems);
      throw error;
    }
    if (trace !== null && trace.traceId !== id) {
      throw unexpected(this.url, `${version} trace-by-id`, [`asked for trace ${id}, got ${trace.traceId}`]);
    }
    return trace;
  }

  /** A TraceQL search over the last `sinceSeconds`, in Tempo's order. */
  async search(
    traceql: string,
    options: { readonly limit?: number; readonly sinceSeconds?: number; readonly now?: Date } = {},
  ): Promise<TraceSummary[]> {
    const end = Math.ceil((options.now ?? new Date()).getTime() / 1000);
    const start = end - Math.max(1, Math.round(options.sinceSeconds ?? DEFAULT_SINCE_SECONDS));
    const body = await this.#get('/api/search', {
      q: traceql,
      limit: String(options.limit ?? DEFAULT_TRACE_LIMIT),
      start: String(start),
      end: String(end),
    });
    if (body === null) {
      throw new UpstreamError(
        'tempo',
        this.url,
        'GET /api/search answered 404: is this the HTTP port of Tempo?',
      );
    }
    try {
      return parseSearchResponse(body);
    } catch (error) {
      if (error instanceof TraceFormatError) throw unexpected(this.url, 'search', error.problems);
      throw error;
    }
  }

  async searchSlowTraces(query: TraceQuery): Promise<TraceSummary[]> {
    const found = await this.search(slowTracesTraceQl(query), searchOptions(query));
    return found.sort((a, b) => b.durationMs - a.durationMs || compareIds(a.traceId, b.traceId));
  }

  async recentTraces(query: TraceQuery): Promise<Trace[]> {
    const found = await this.search(slowTracesTraceQl(query), searchOptions(query));
    found.sort((a, b) => (a.startNs === b.startNs ? 0 : a.startNs > b.startNs ? -1 : 1));
    const traces: (Trace | null)[] = new Array(found.length).fill(null);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < found.length) {
        const i = next++;
        const summary = found[i];
        // A trace found by search can be gone by the time it is fetched (retention): skip it.
        if (summary !== undefined) traces[i] = await this.traceById(summary.traceId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, found.length) }, worker));
    return traces.filter((t): t is Trace => t !== null);
  }
}

function searchOptions(query: TraceQuery): { limit?: number; sinceSeconds?: number; now?: Date } {
  return {
    ...(query.limit === undefined ? {} : { limit: query.limit }),
    ...(query.sinceSeconds === undefined ? {} : { sinceSeconds: query.sinceSeconds }),
    ...(query.until === undefined ? {} : { now: query.until }),
  };
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Exemplars (Prometheus)

export interface Exemplar {
  /** 32 lowercase hex characters. */
  readonly traceId: string;
  readonly spanId?: string;
  /** The observed value (seconds, for a latency histogram). */
  readonly value: number;
  readonly at: Date;
  readonly seriesLabels: Readonly<Record<string, string>>;
}

const ExemplarsResponseJson = z.object({
  status: z.enum(['success', 'error']),
  error: z.string().optional(),
  data: z
    .array(
      z.object({
        seriesLabels: z.record(z.string(), z.string()).optional().default({}),
        exemplars: z
          .array(
            z.object({
              labels: z.record(z.string(), z.string()).optional().default({}),
              // Prometheus sends sample values as strings so that NaN and ±Inf survive JSON.
              value: z.union([z.string(), z.number()]),
              timestamp: z.number(),
            }),
          )
          .optional()
          .default([]),
      }),
    )
    .optional()
    .default([]),
});

/** The label names exporters put trace ids under: OpenTelemetry's, then the Prometheus client libraries'. */
const TRACE_ID_LABELS = ['trace_id', 'traceID', 'traceId'] as const;
const SPAN_ID_LABELS = ['span_id', 'spanID', 'spanId'] as const;

/**
 * Exemplars of a `query_exemplars` response with a hex trace id, highest value first, one per trace. Exemplars
 * whose trace id is not hex (the Prometheus docs' examples use other ids) cannot be looked up and are left out.
 */
export function parseExemplars(body: unknown): Exemplar[] {
  const parsed = ExemplarsResponseJson.safeParse(body);
  if (!parsed.success) throw new TraceFormatError(formatIssues(parsed.error), 'a query_exemplars response');
  if (parsed.data.status === 'error') {
    throw new TraceFormatError([`status "error": ${parsed.data.error ?? '(no message)'}`], 'exemplars');
  }
  const byTrace = new Map<string, Exemplar>();
  for (const series of parsed.data.data) {
    for (const e of series.exemplars) {
      const raw = TRACE_ID_LABELS.map((k) => e.labels[k]).find((v) => v !== undefined);
      const traceId = raw === undefined ? null : padTraceId(raw);
      if (traceId === null) continue;
      const spanId = SPAN_ID_LABELS.map((k) => e.labels[k]).find((v) => v !== undefined);
      const exemplar: Exemplar = {
        traceId,
        ...(spanId === undefined ? {} : { spanId: spanId.toLowerCase() }),
        value: Number(e.value),
        at: new Date(e.timestamp * 1000),
        seriesLabels: series.seriesLabels,
      };
      const seen = byTrace.get(traceId);
      if (seen === undefined || exemplar.value > seen.value) byTrace.set(traceId, exemplar);
    }
  }
  return [...byTrace.values()].sort((a, b) => b.value - a.value || compareIds(a.traceId, b.traceId));
}

export interface ExemplarQuery extends HttpOptions {
  /** Prometheus base URL. */
  readonly prometheusUrl: string;
  /** Any PromQL; Prometheus returns the exemplars of the series it selects (`http_server_request_duration_seconds_bucket{…}`). */
  readonly query: string;
  readonly start: Date;
  readonly end: Date;
}

/** Trace ids Prometheus keeps as exemplars of `query`'s series (needs `--enable-feature=exemplar-storage`). */
export async function exemplarTraceIds(query: ExemplarQuery): Promise<Exemplar[]> {
  const target = query.prometheusUrl.replace(/\/+$/, '');
  const body = await getJson({
    ...(query.timeoutMs === undefined ? {} : { timeoutMs: query.timeoutMs }),
    ...(query.retries === undefined ? {} : { retries: query.retries }),
    ...(query.backoffMs === undefined ? {} : { backoffMs: query.backoffMs }),
    upstream: 'prometheus',
    target,
    path: '/api/v1/query_exemplars',
    params: {
      query: query.query,
      start: String(query.start.getTime() / 1000),
      end: String(query.end.getTime() / 1000),
    },
    hint: 'check --prometheus / PROMETHEUS_URL',
  });
  if (body === null) {
    throw new UpstreamError(
      'prometheus',
      target,
      'GET /api/v1/query_exemplars answered 404: is this Prometheus?',
    );
  }
  try {
    return parseExemplars(body);
  } catch (error) {
    if (error instanceof TraceFormatError) {
      throw new UpstreamError(
        'prometheus',
        target,
        `unexpected query_exemplars response:\n${error.problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
    throw error;
  }
}
