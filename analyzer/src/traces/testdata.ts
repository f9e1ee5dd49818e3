/**
 * For the trace tests: the recorded Tempo responses in ../shared/fixtures/tempo (read-only), and hand-built
 * span trees with times in milliseconds from one origin, so a test reads like the timeline it describes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_FIXTURES } from '../../../test/stack/compose.ts';
import type { Snapshot } from '../types.ts';
import { traceData } from './fingerprint.ts';
import type { Attributes, Span, SpanKind, Trace } from './model.ts';

export const TEMPO_FIXTURES = join(SHARED_FIXTURES, 'tempo');

export const FIXTURES = {
  v1Java: 'v1-trace-by-id.java-app.grafana-oats.json',
  v2Docs: 'v2-trace-by-id.tempo-docs.json',
  failed: 'trace-body.nodejs-express-pg-failed.grafana-tempo.json',
  dbSystemName: 'trace-body.nodejs-db-system-name.grafana-tempo.json',
  searchTraceQl: 'search-traceql.tempo-docs.json',
  searchTags: 'search-tags.tempo-docs.json',
} as const;

export function fixtureText(name: string): string {
  return readFileSync(join(TEMPO_FIXTURES, name), 'utf8');
}

export function fixture(name: string): unknown {
  return JSON.parse(fixtureText(name)) as unknown;
}

/** 2023-11-14T22:13:20Z in nanoseconds: far enough from the epoch that a Number would lose nanoseconds. */
export const ORIGIN_NS = 1_700_000_000_000_000_000n;

export const SERVICE = 'shop';
export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function ns(ms: number): bigint {
  return ORIGIN_NS + BigInt(Math.round(ms * 1e6));
}

export interface SpanSpec {
  readonly id: number;
  readonly parent?: number;
  readonly name?: string;
  readonly kind?: SpanKind;
  readonly startMs: number;
  readonly durationMs: number;
  readonly attributes?: Attributes;
  readonly service?: string;
  readonly traceId?: string;
}

export function spanId(id: number): string {
  return id.toString(16).padStart(16, '0');
}

export function span(spec: SpanSpec): Span {
  return {
    traceId: spec.traceId ?? TRACE_ID,
    spanId: spanId(spec.id),
    ...(spec.parent === undefined ? {} : { parentSpanId: spanId(spec.parent) }),
    name: spec.name ?? `span ${spec.id}`,
    kind: spec.kind ?? 'internal',
    service: spec.service ?? SERVICE,
    startNs: ns(spec.startMs),
    endNs: ns(spec.startMs + spec.durationMs),
    durationMs: spec.durationMs,
    status: 'unset',
    attributes: spec.attributes ?? {},
    resource: { 'service.name': spec.service ?? SERVICE },
  };
}

/** An HTTP server span of `GET /api/orders/:id` (stable semconv names). */
export function server(
  spec: Omit<SpanSpec, 'kind'> & { readonly route?: string; readonly method?: string },
): Span {
  const { route = '/api/orders/:id', method = 'GET', ...rest } = spec;
  return span({
    name: `${method} ${route}`,
    kind: 'server',
    ...rest,
    attributes: { 'http.route': route, 'http.request.method': method, ...spec.attributes },
  });
}

/** A pg client span running `sql`. */
export function query(spec: Omit<SpanSpec, 'kind'> & { readonly sql: string }): Span {
  const { sql, ...rest } = spec;
  return span({
    name: `pg.query:${sql.split(' ')[0]?.toUpperCase() ?? ''}`,
    kind: 'client',
    ...rest,
    attributes: { 'db.system.name': 'postgresql', 'db.query.text': sql, ...spec.attributes },
  });
}

/** An outbound HTTP client span. */
export function httpCall(
  spec: Omit<SpanSpec, 'kind'> & { readonly method?: string; readonly host?: string },
): Span {
  const { method = 'GET', host = 'inventory', ...rest } = spec;
  return span({
    name: method,
    kind: 'client',
    ...rest,
    attributes: {
      'http.request.method': method,
      'server.address': host,
      'url.full': `http://${host}/stock`,
      ...spec.attributes,
    },
  });
}

export function trace(...spans: readonly Span[]): Trace {
  return { traceId: spans[0]?.traceId ?? TRACE_ID, spans };
}

/** The same span tree under another trace id (`n` picks it), to build several requests of one route. */
export function retrace(t: Trace, n: number): Trace {
  const traceId = n.toString(16).padStart(32, 'a');
  return { traceId, spans: t.spans.map((s) => ({ ...s, traceId })) };
}

/**
 * A snapshot holding only `traces` (and `routes`, when a test gives Prometheus' view of them): what the trace
 * detectors see.
 */
export async function snapshotOf(
  traces: readonly Trace[],
  routes: Snapshot['routes'] = [],
): Promise<Snapshot> {
  return {
    at: new Date('2025-01-01T12:00:00Z'),
    window: '15m',
    windowSeconds: 900,
    routes,
    runtime: [],
    pools: [],
    statements: [],
    traces: await traceData(traces, []),
    queries: {},
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Real-shaped N+1 traces, from a recorded Tempo body

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}
interface ResourceSpans {
  scopeSpans: { spans: OtlpSpan[] }[];
}

const id = (bytes: number, n: number) => {
  const b = Buffer.alloc(bytes);
  b.writeUInt32BE(n >>> 0, bytes - 4);
  b[0] = 0xab; // never all zeros, which OTLP defines as invalid
  return b.toString('base64');
};

/**
 * A real-shaped Tempo trace-by-id body (v1 `resourceSpans`, gogo-jsonpb): the recorded Node Express + pg request
 * (`FIXTURES.failed`: services mythical-requester → mythical-server, route `POST /:endpoint`) under trace id `n`
 * (hex `ab000…` + n), its `pg.query` span repeated `queries` times one after another, as an N+1 repeats it;
 * `nPlusOneTraceId(n)` is its id as Tempo's search gives it. What began after the query moves later by the time
 * the repeats add, and what was open around it (the request, the client's span) ends that much later, so every
 * span stays inside its parent as in a real trace.
 */
export function nPlusOneTempoBody(n: number, queries: number): string {
  const recorded = fixture(FIXTURES.failed) as { resourceSpans: ResourceSpans[] };
  const traceId = id(16, n);
  const spansOf = (rs: ResourceSpans) => rs.scopeSpans[0]?.spans[0];
  const query = recorded.resourceSpans.map(spansOf).find((s) => s?.name.startsWith('pg.query'));
  if (query === undefined) throw new Error(`${FIXTURES.failed} has no pg.query span`);
  const queryStart = BigInt(query.startTimeUnixNano);
  const length = BigInt(query.endTimeUnixNano) - queryStart;
  const added = BigInt(queries - 1) * length;
  const resourceSpans: ResourceSpans[] = [];
  let spanNo = 1;
  for (const rs of recorded.resourceSpans) {
    const span = spansOf(rs);
    if (span === undefined) continue;
    const start = BigInt(span.startTimeUnixNano);
    const end = BigInt(span.endTimeUnixNano);
    const copies =
      span === query
        ? Array.from({ length: queries }, (_, i) => ({
            spanId: id(8, 0x1000_0000 + spanNo++),
            start: start + BigInt(i) * length,
            end: end + BigInt(i) * length,
          }))
        : [
            {
              spanId: span.spanId,
              start: start > queryStart ? start + added : start,
              end: end > queryStart ? end + added : end,
            },
          ];
    for (const c of copies) {
      const copy = {
        ...span,
        traceId,
        spanId: c.spanId,
        startTimeUnixNano: String(c.start),
        endTimeUnixNano: String(c.end),
      };
      resourceSpans.push({ ...rs, scopeSpans: [{ ...rs.scopeSpans[0], spans: [copy] }] });
    }
  }
  return JSON.stringify({ resourceSpans });
}

/** The hex trace id of `nPlusOneTempoBody(n, …)`. */
export function nPlusOneTraceId(n: number): string {
  return Buffer.from(id(16, n), 'base64').toString('hex');
}
