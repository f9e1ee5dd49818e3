/**
 * The analyzer's span model: one normalised shape for spans from Tempo (gogo-jsonpb, base64 ids), OTLP/HTTP JSON
 * (hex ids) and the embedded receiver, so the trace detectors never see an encoding. Attribute accessors accept
 * both the stable semantic conventions and the older names that real traces still carry.
 */
import { ATTR, LEGACY_ATTR, SPAN_NAMES } from '@hotpath/instrumentation/semconv';

export type SpanKind = 'server' | 'client' | 'internal' | 'producer' | 'consumer' | 'unspecified';
export type SpanStatus = 'unset' | 'ok' | 'error';

/** An OTLP `AnyValue`: arrays and key/value lists nest. 64-bit integers beyond 2^53 stay decimal strings. */
export type AttributeValue =
  | string
  | number
  | boolean
  | readonly AttributeValue[]
  | { readonly [key: string]: AttributeValue };

export type Attributes = Readonly<Record<string, AttributeValue>>;

export interface Span {
  /** 32 lowercase hex characters. */
  readonly traceId: string;
  /** 16 lowercase hex characters. */
  readonly spanId: string;
  /** Absent for a root span (OTLP sends it empty or leaves it out). */
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: SpanKind;
  /** The resource's `service.name`. */
  readonly service: string;
  /**
   * Unix time in nanoseconds. A bigint, because OTLP's fixed64 nanoseconds (~1.7e18) are far beyond
   * Number.MAX_SAFE_INTEGER: as a number they round to 256 ns steps, enough to make a span that starts the
   * instant its sibling ends look overlapping. Detectors subtract first and convert the small difference.
   */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** `endNs - startNs` in milliseconds (0 when a clock-skewed span ends before it starts). */
  readonly durationMs: number;
  readonly status: SpanStatus;
  readonly statusMessage?: string;
  readonly attributes: Attributes;
  /** The resource's attributes, shared by every span of the same resource. */
  readonly resource: Attributes;
  /** The instrumentation scope (`@opentelemetry/instrumentation-pg`), when the exporter named one. */
  readonly scope?: string;
}

export interface Trace {
  readonly traceId: string;
  /** Ordered by start time. */
  readonly spans: readonly Span[];
}

// ---------------------------------------------------------------------------------------------------------------
// Span tree

export interface SpanTree {
  /**
   * Spans without a parent, whose parent is not in the trace (not yet received, or dropped), or that cannot
   * belong to their parent (see `foreign`).
   */
  readonly roots: readonly Span[];
  readonly byId: ReadonlyMap<string, Span>;
  /** Direct children, ordered by start time then end time. */
  children(span: Span): readonly Span[];
  parent(span: Span): Span | undefined;
}

function byStart(a: Span, b: Span): number {
  if (a.startNs !== b.startNs) return a.startNs < b.startNs ? -1 : 1;
  if (a.endNs !== b.endNs) return a.endNs < b.endNs ? -1 : 1;
  return 0;
}

/** sdk-trace takes start times from Date.now() (whole milliseconds) and durations from hrtime: 2 ms of slack. */
const SAME_PROCESS_SLACK_NS = 2_000_000n;

/**
 * A span that cannot be its parent's child: in the same process (the same resource, so the same clock), it
 * starts before its parent starts or ends after it ends. Context leaking between requests (a pooled connection's
 * callback run in the context of the request that released it) attaches spans to the wrong trace this way; the
 * analyzer must not count another request's queries as this one's. Only DB spans are judged, and only against a
 * parent of the same service and instance: other clocks differ.
 */
export function foreign(span: Span, parent: Span): boolean {
  // Only database calls: a message published or an HTTP call sent after the response is legitimately outlived
  // work of the request (fire and forget), while a query is awaited by the code that issued it.
  if (!isDbSpan(span) || span.service !== parent.service) return false;
  if (span.resource[ATTR.serviceInstanceId] !== parent.resource[ATTR.serviceInstanceId]) return false;
  return (
    span.startNs + SAME_PROCESS_SLACK_NS < parent.startNs || span.endNs > parent.endNs + SAME_PROCESS_SLACK_NS
  );
}

/**
 * A page load a browser reported (`browser.page_load`, recorded under the server span that rendered the page): it
 * links the page to its route, but it is no work of the request (it starts before the request and ends seconds
 * after it), so the tree keeps it apart, as a root. `pageLoads` finds it by its parent id.
 */
export function isPageLoad(span: Span): boolean {
  return span.name === SPAN_NAMES.pageLoad;
}

export function buildSpanTree(spans: readonly Span[]): SpanTree {
  const byId = new Map<string, Span>();
  for (const s of spans) if (!byId.has(s.spanId)) byId.set(s.spanId, s);
  const children = new Map<string, Span[]>();
  const roots: Span[] = [];
  for (const s of byId.values()) {
    const parentId = s.parentSpanId;
    const parent = parentId === undefined ? undefined : byId.get(parentId);
    if (
      parentId === undefined ||
      parent === undefined ||
      parentId === s.spanId ||
      foreign(s, parent) ||
      isPageLoad(s)
    ) {
      roots.push(s);
      continue;
    }
    const list = children.get(parentId);
    if (list === undefined) children.set(parentId, [s]);
    else list.push(s);
  }
  for (const list of children.values()) list.sort(byStart);
  roots.sort(byStart);
  return {
    roots,
    byId,
    children: (span) => children.get(span.spanId) ?? [],
    parent: (span) => {
      const parent = span.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId);
      return parent === undefined || parent === span || foreign(span, parent) || isPageLoad(span)
        ? undefined
        : parent;
    },
  };
}

/**
 * `span` and its ancestors, nearest first. Bounded by the number of spans, because a malformed trace can make
 * parent links that loop.
 */
export function ancestry(tree: SpanTree, span: Span): Span[] {
  const out: Span[] = [];
  const seen = new Set<string>();
  let current: Span | undefined = span;
  while (current !== undefined && !seen.has(current.spanId)) {
    out.push(current);
    seen.add(current.spanId);
    current = tree.parent(current);
  }
  return out;
}

/** The nearest server span at or above `span`: the request the work was done for. */
export function enclosingServerSpan(tree: SpanTree, span: Span): Span | undefined {
  return ancestry(tree, span).find((s) => s.kind === 'server');
}

/** Every descendant of `span`, depth first, not entering spans for which `stop` is true (they are included). */
export function descendants(tree: SpanTree, span: Span, stop: (s: Span) => boolean = () => false): Span[] {
  const out: Span[] = [];
  const seen = new Set<string>([span.spanId]);
  const stack = [...tree.children(span)].reverse();
  while (stack.length > 0) {
    const s = stack.pop() as Span;
    if (seen.has(s.spanId)) continue;
    seen.add(s.spanId);
    out.push(s);
    if (!stop(s)) stack.push(...[...tree.children(s)].reverse());
  }
  return out;
}

/** A key that is unique across traces (span ids are only unique within one). */
export function spanKey(span: Pick<Span, 'traceId' | 'spanId'>): string {
  return `${span.traceId}:${span.spanId}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Semantic-convention accessors (stable name first, then the pre-stable one)

function first(attributes: Attributes, keys: readonly string[]): AttributeValue | undefined {
  for (const key of keys) {
    const value = attributes[key];
    if (value !== undefined) return value;
  }
  return undefined;
}

export function stringOf(value: AttributeValue | undefined): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The statement a DB span ran (`db.query.text`, formerly `db.statement`). */
export function dbQueryText(span: Span): string | undefined {
  return stringOf(first(span.attributes, [ATTR.dbQueryText, LEGACY_ATTR.dbStatement]));
}

/**
 * The connection pool a DB or connection-wait span names (`db.client.connection.pool.name`, set by
 * @hotpath/instrumentation on both), or '' when the span does not say.
 */
export function poolNameOf(span: Span): string {
  return stringOf(span.attributes[ATTR.dbClientConnectionPoolName]) ?? '';
}

/** `postgresql`, `mysql`, `redis`… (`db.system.name`, formerly `db.system`). */
export function dbSystem(span: Span): string | undefined {
  return stringOf(first(span.attributes, [ATTR.dbSystemName, LEGACY_ATTR.dbSystem]));
}

/** `GET`, `POST`… (`http.request.method`, formerly `http.method`). */
export function httpMethod(span: Span): string | undefined {
  return stringOf(first(span.attributes, [ATTR.httpRequestMethod, LEGACY_ATTR.httpMethod]));
}

/** The route template of a server span (`/api/orders/:id`). */
export function httpRoute(span: Span): string | undefined {
  return stringOf(span.attributes[ATTR.httpRoute]);
}

/** The response status (`http.response.status_code`, formerly `http.status_code`); old SDKs sent strings. */
export function httpStatusCode(span: Span): number | undefined {
  const value = first(span.attributes, [ATTR.httpResponseStatusCode, LEGACY_ATTR.httpStatusCode]);
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isInteger(n) ? n : undefined;
}

/**
 * Waiting for a pooled connection: `@hotpath/instrumentation`'s wait span (pg-pool and knex pools, only when no
 * idle connection was there), or instrumentation-pg's own connect spans where an app turned them on.
 */
export function isPoolWaitSpan(span: Span): boolean {
  return (
    span.name === SPAN_NAMES.connectionWait || span.name === 'pg-pool.connect' || span.name === 'pg.connect'
  );
}

/** A span for one database call: it names a database system or carries a statement. */
export function isDbSpan(span: Span): boolean {
  if (span.kind === 'server' || span.kind === 'consumer' || isPoolWaitSpan(span)) return false;
  return dbSystem(span) !== undefined || dbQueryText(span) !== undefined;
}

/** An outbound HTTP call: a client span with an HTTP method or URL that is not a database call. */
export function isHttpClientSpan(span: Span): boolean {
  if (span.kind !== 'client' || isDbSpan(span)) return false;
  return (
    httpMethod(span) !== undefined ||
    span.attributes[ATTR.urlFull] !== undefined ||
    span.attributes[LEGACY_ATTR.httpUrl] !== undefined
  );
}

/**
 * The service as the rest of the analyzer names it: the Prometheus `job`, which OpenTelemetry derives as
 * `service.namespace/service.name` (or `service.name` alone), so trace and metric findings share a service.
 */
export function serviceJob(span: Span): string {
  const namespace = stringOf(span.resource[ATTR.serviceNamespace]);
  return namespace === undefined ? span.service : `${namespace}/${span.service}`;
}

/** `GET /api/orders/:id` for a server span; its name when it has no route (404s, non-HTTP servers). */
export function routeSubject(span: Span): string {
  const route = httpRoute(span);
  if (route === undefined) return span.name;
  const method = httpMethod(span);
  return method === undefined ? route : `${method} ${route}`;
}

/** Milliseconds from `origin` to `t`, exact however far from the epoch both are. */
export function offsetMs(origin: bigint, t: bigint): number {
  return Number(t - origin) / 1e6;
}

/** The length of the union of `[start, end)` intervals: time covered at least once, overlaps counted once. */
export function unionLength(intervals: readonly (readonly [number, number])[]): number {
  const sorted = intervals.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let currentStart = Number.NEGATIVE_INFINITY;
  let currentEnd = Number.NEGATIVE_INFINITY;
  for (const [s, e] of sorted) {
    if (s > currentEnd) {
      if (currentEnd > currentStart) total += currentEnd - currentStart;
      currentStart = s;
      currentEnd = e;
    } else if (e > currentEnd) {
      currentEnd = e;
    }
  }
  if (currentEnd > currentStart) total += currentEnd - currentStart;
  return total;
}
