/**
 * First-party collection of browser measurements: a request handler the app mounts on a same-origin path
 * (`app.post('/rum', browserCollector({ routes }))`), which takes Grafana Faro's payload (the body the Faro Web
 * SDK posts, `{ meta, measurements, events, logs, exceptions, traces }`) and records its Web Vitals as the app's
 * own histograms (`browser.web_vital.*`, `browser.page.load.duration`, by `page.route`). So browser metrics
 * travel with the app's telemetry, whichever way it exports, and a page that already runs Faro feeds Hotpath by
 * pointing Faro's `url` at this path.
 *
 * What it reads of a payload (all of it in the shapes the Faro Web SDK sends, so Faro feeds it as it is):
 * - `meta.page.url`: the page, mapped to one of the app's route templates (`/products/:id`); a page matching
 *   none is `other`, so a crawler walking random URLs cannot grow the series;
 * - measurements of type `web-vitals` (Faro's web-vitals-with-attribution, one per metric: `values: { lcp: <ms>,
 *   delta, time_to_first_byte, resource_load_delay, ... }`, `context: { element, resource_url, ... }`,
 *   `packages/web-sdk/src/instrumentations/webVitals/webVitalsWithAttribution.ts`): each vital by route and, for
 *   LCP, INP and CLS, by the element it is attributed to; the LCP's four parts as `browser.web_vital.lcp.phase`;
 * - events `faro.performance.navigation` (`totalNavigationTime`: navigation start to load event end) and
 *   `faro.performance.resource` (Resource Timing of one resource: sizes, `renderBlockingStatus`, `fetchTime`,
 *   `performance/performanceUtils.ts`): the page load, and each asset's sizes and fetch time by its URL template.
 * Element and asset labels are bounded per route (20 and 50 distinct values, then `other`). Everything else in the
 * payload is accepted and not recorded.
 *
 * Guarded: a body over `maxBodyBytes`, a body that is not JSON (plain, or gzip as Faro's `requestCompression`
 * sends it), a payload that fails the schema, and a client over its rate get a 4xx, are counted
 * (`hotpath.browser.payloads.rejected` by `reason`), and record nothing. Never throws into the app.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip } from 'node:zlib';
import {
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  ROOT_CONTEXT,
  SpanKind,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { match } from 'path-to-regexp';
import { z } from 'zod';
import { ATTR, METRICS, type MetricSpec, SPAN_NAMES } from './semconv.ts';

/** Faro's fetch transport sends a body over 60 000 bytes without keepalive: batches are meant to be smaller. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/** Payloads a client may send per minute: a page sends a handful (each vital, then the batch on `pagehide`). */
export const DEFAULT_RATE_PER_MINUTE = 60;
/** Clients whose rate is tracked at once; the least recently seen is forgotten first. */
const MAX_CLIENTS = 10_000;
/** The route of a page that matches none of the app's templates. */
export const OTHER_ROUTE = 'other';

export type RejectReason = 'method' | 'content_type' | 'too_large' | 'encoding' | 'json' | 'schema' | 'rate';

export interface BrowserCollectorOptions {
  /** The app's page route templates, path-to-regexp syntax as Express uses (`/products/:id`, `/`). */
  readonly routes: readonly string[];
  /** Largest body accepted, compressed or not (default 64 KiB). */
  readonly maxBodyBytes?: number;
  /** Payloads accepted per client and minute (default 60); over it, 429 with `Retry-After`, which Faro honours. */
  readonly ratePerMinute?: number;
  /** Who a client is (default: the socket's address; behind a proxy, the app knows better). */
  readonly clientKey?: (req: IncomingMessage) => string;
  /** Default: the global meter provider's `@hotpath/instrumentation` meter. */
  readonly meter?: Meter;
  /** Where page-load spans go; default: the global tracer provider's `@hotpath/instrumentation` tracer. */
  readonly tracer?: Tracer;
  /** Clock for the rate limit (tests). */
  readonly now?: () => number;
}

/** Faro's web-vitals `values` key → the histogram it feeds; times in ms become seconds, CLS stays a score. */
const VITALS: Readonly<Record<string, { spec: MetricSpec; seconds: boolean; element?: string }>> = {
  // The context key of each vital's attributed element, as Faro's web-vitals-with-attribution names it.
  lcp: { spec: METRICS.browserWebVitalLcp, seconds: true, element: 'element' },
  inp: { spec: METRICS.browserWebVitalInp, seconds: true, element: 'interaction_target' },
  cls: { spec: METRICS.browserWebVitalCls, seconds: false, element: 'largest_shift_target' },
  fcp: { spec: METRICS.browserWebVitalFcp, seconds: true },
  ttfb: { spec: METRICS.browserWebVitalTtfb, seconds: true },
};
/** The LCP's four parts, as Faro names them in an LCP measurement's `values` (web.dev "Optimize LCP"). */
const LCP_PHASES = [
  'time_to_first_byte',
  'resource_load_delay',
  'resource_load_duration',
  'element_render_delay',
] as const;
/** Faro's performance instrumentation: one event per page load, one per resource (attributes are strings). */
export const NAVIGATION_EVENT = 'faro.performance.navigation';
export const RESOURCE_EVENT = 'faro.performance.resource';
/**
 * Resources that are requests of the page's code, not parts of the page: the backend measures them itself, and
 * one series per API URL would be unbounded.
 */
const NOT_ASSETS = new Set(['fetch', 'xmlhttprequest', 'beacon', 'navigation', 'other']);
/** Distinct elements per route and vital, and distinct asset templates per route, before the rest become `other`. */
const MAX_ELEMENTS = 20;
const MAX_ASSETS = 50;
const MAX_LABEL = 120;
/** The element or resource label of a vital that has none (an INP without a target, an LCP of text). */
const NONE = 'none';

/** Milliseconds a browser can sensibly report for a page or a vital: up to 10 minutes (CLS: a score up to 100). */
const MAX_MS = 600_000;
const MAX_CLS = 100;
/** Bytes a browser can sensibly report for one resource: 1 GB (Sentry's render-blocking detector's own bound). */
const MAX_BYTES = 1_000_000_000;
const measurement = z
  .object({
    type: z.string().max(100),
    values: z.record(z.string().max(100), z.number().finite()),
    timestamp: z.string().max(64).optional(),
    context: z.record(z.string().max(100), z.unknown()).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.type !== 'web-vitals') return;
    for (const key of [...Object.keys(VITALS), ...LCP_PHASES]) {
      const value = m.values[key];
      if (value === undefined) continue;
      const max = key === 'cls' ? MAX_CLS : MAX_MS;
      if (value < 0 || value > max) {
        ctx.addIssue({ code: 'custom', path: ['values', key], message: `must be between 0 and ${max}` });
      }
    }
  });
/** A number Faro wrote as a string (`"1234"`), or `unknown` where the browser had none. */
const faroNumber = (max: number) =>
  z.union([
    z.literal('unknown'),
    z
      .string()
      .max(32)
      .regex(/^-?\d+(\.\d+)?$/, 'must be a number written as a string')
      .transform(Number)
      .refine((n) => n >= 0 && n <= max, `must be between 0 and ${max}`),
  ]);
const performanceEvent = z.object({
  name: z.enum([NAVIGATION_EVENT, RESOURCE_EVENT]),
  timestamp: z.string().max(64).optional(),
  // W3C ids: the document's trace and the server span that rendered it (`<meta name="traceparent">`).
  trace: z
    .object({ trace_id: z.string().regex(/^[0-9a-f]{32}$/), span_id: z.string().regex(/^[0-9a-f]{16}$/) })
    .optional(),
  attributes: z
    .object({
      name: z.string().max(4096).optional(),
      totalNavigationTime: faroNumber(MAX_MS).optional(),
      ttfb: faroNumber(MAX_MS).optional(),
      fetchTime: faroNumber(MAX_MS).optional(),
      encodedBodySize: faroNumber(MAX_BYTES).optional(),
      decodedBodySize: faroNumber(MAX_BYTES).optional(),
      renderBlockingStatus: z.string().max(32).optional(),
      initiatorType: z.string().max(64).optional(),
      cacheHitStatus: z.string().max(32).optional(),
    })
    .loose(),
});
const event = z.unknown().superRefine((e, ctx) => {
  // Only the events it records are checked; any other event of Faro's passes as it is.
  const name = (e as { name?: unknown } | null)?.name;
  if (name !== NAVIGATION_EVENT && name !== RESOURCE_EVENT) return;
  const parsed = performanceEvent.safeParse(e);
  for (const issue of parsed.error?.issues ?? []) ctx.addIssue({ ...issue, code: 'custom' });
});
const payload = z.object({
  meta: z
    .object({
      page: z
        .object({ url: z.string().max(4096).optional() })
        .loose()
        .optional(),
    })
    .loose()
    .optional(),
  measurements: z.array(measurement).max(100).optional(),
  events: z.array(event).max(1000).optional(),
  logs: z.array(z.unknown()).max(1000).optional(),
  exceptions: z.array(z.unknown()).max(1000).optional(),
  traces: z.unknown().optional(),
});
export type BrowserPayload = z.infer<typeof payload>;
type PerformanceEvent = z.infer<typeof performanceEvent>;

class Rejected extends Error {
  readonly status: number;
  readonly reason: RejectReason;
  constructor(status: number, reason: RejectReason, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

/** The request handler (Express-compatible: `(req, res)`; it always answers and never calls `next`). */
export function browserCollector(
  options: BrowserCollectorOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const meter = options.meter ?? metrics.getMeter('@hotpath/instrumentation');
  const histograms = new Map<MetricSpec, Histogram>();
  const histogram = (spec: MetricSpec) => {
    let h = histograms.get(spec);
    if (h === undefined) {
      h = meter.createHistogram(spec.name, {
        unit: spec.unit,
        description: spec.description,
        // The catalogue's buckets also where the app's meter provider has no view for them.
        ...(spec.buckets === undefined ? {} : { advice: { explicitBucketBoundaries: [...spec.buckets] } }),
      });
      histograms.set(spec, h);
    }
    return h;
  };
  const rejected: Counter = meter.createCounter(METRICS.hotpathBrowserPayloadsRejected.name, {
    unit: METRICS.hotpathBrowserPayloadsRejected.unit,
    description: METRICS.hotpathBrowserPayloadsRejected.description,
  });
  const routeOf = pageRouter(options.routes);
  const limiter = rateLimiter(options.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE, options.now ?? Date.now);
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const clientKey = options.clientKey ?? ((req) => req.socket.remoteAddress ?? '');

  const bounded = boundedLabels();
  const tracer = options.tracer ?? trace.getTracer('@hotpath/instrumentation');
  const clock = Date.now;

  const record = (body: BrowserPayload): number => {
    const pageUrl = body.meta?.page?.url;
    const route = routeOf(pageUrl);
    const page: Attributes = { [ATTR.pageRoute]: route };
    let recorded = 0;
    const observe = (spec: MetricSpec, value: number, attributes: Attributes) => {
      histogram(spec).record(value, attributes);
      recorded++;
    };
    for (const m of body.measurements ?? []) {
      if (m.type !== 'web-vitals') continue;
      for (const [key, value] of Object.entries(m.values)) {
        const vital = VITALS[key];
        if (vital === undefined) continue; // delta, attribution timings
        const attributes = { ...page };
        if (vital.element !== undefined) {
          const element = m.context?.[vital.element];
          attributes[ATTR.webVitalElement] = bounded(
            `${key}\0${route}`,
            typeof element === 'string' && element !== '' ? element : NONE,
            MAX_ELEMENTS,
          );
        }
        if (key === 'lcp') {
          const resource = m.context?.resource_url;
          const template = typeof resource === 'string' ? assetTemplate(resource, pageUrl) : undefined;
          attributes[ATTR.urlTemplate] =
            template === undefined ? NONE : bounded(`asset\0${route}`, template, MAX_ASSETS);
          // web-vitals gives all four parts; Faro leaves out the ones that are zero.
          if (LCP_PHASES.some((phase) => m.values[phase] !== undefined)) {
            for (const phase of LCP_PHASES) {
              observe(METRICS.browserWebVitalLcpPhase, (m.values[phase] ?? 0) / 1000, {
                ...page,
                [ATTR.webVitalPhase]: phase,
              });
            }
          }
        }
        observe(vital.spec, vital.seconds ? value / 1000 : value, attributes);
      }
    }
    for (const e of body.events ?? []) {
      const parsed = performanceEvent.safeParse(e);
      if (!parsed.success) continue; // another kind of event
      const a = parsed.data.attributes;
      if (parsed.data.name === NAVIGATION_EVENT) {
        const duration = a.totalNavigationTime;
        // 0 until the load event has ended: a page left before it has no load time.
        if (typeof duration === 'number' && duration > 0) {
          observe(METRICS.browserPageLoadDuration, duration / 1000, page);
          pageLoadSpan(tracer, parsed.data, duration, route, clock());
        }
        continue;
      }
      const resource = resourceAttributes(parsed.data, pageUrl);
      if (resource === undefined) continue;
      const attributes = {
        ...page,
        ...resource.attributes,
        [ATTR.urlTemplate]: bounded(`asset\0${route}`, resource.template, MAX_ASSETS),
      };
      observe(METRICS.browserResourceEncodedSize, resource.encoded, attributes);
      observe(METRICS.browserResourceDecodedSize, resource.decoded, attributes);
      if (resource.seconds !== undefined)
        observe(METRICS.browserResourceDuration, resource.seconds, attributes);
    }
    return recorded;
  };

  return (req, res) => {
    const reject = (error: Rejected) => {
      rejected.add(1, { [ATTR.rejectReason]: error.reason });
      if (res.headersSent) return;
      if (error.reason === 'rate') res.setHeader('Retry-After', String(limiter.retryAfterSeconds));
      res
        .writeHead(error.status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: error.message }));
      // What is left of an oversized or refused body is not read: the connection is closed after the answer.
      req.resume();
    };
    try {
      if (req.method !== 'POST') throw new Rejected(405, 'method', 'POST a Faro payload here');
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      // sendBeacon with a string body sends text/plain; Faro's fetch transport application/json.
      if (type !== 'application/json' && type !== 'text/plain') {
        throw new Rejected(415, 'content_type', 'the body must be JSON (application/json or text/plain)');
      }
      if (!limiter.take(clientKey(req)))
        throw new Rejected(429, 'rate', 'too many payloads from this client');
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBytes) throw new Rejected(413, 'too_large', `the body is over ${maxBytes} bytes`);
    } catch (error) {
      reject(error as Rejected);
      return;
    }
    readBody(req, maxBytes).then(
      (text) => {
        try {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            throw new Rejected(400, 'json', 'the body is not JSON');
          }
          const parsed = payload.safeParse(json);
          if (!parsed.success) {
            const issue = parsed.error.issues[0];
            throw new Rejected(
              400,
              'schema',
              `${issue?.path.join('.') || 'payload'}: ${issue?.message ?? 'invalid'}`,
            );
          }
          const recorded = record(parsed.data);
          res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ recorded }));
        } catch (error) {
          if (error instanceof Rejected) reject(error);
          else reject(new Rejected(400, 'schema', 'the payload could not be read'));
        }
      },
      (error: unknown) =>
        reject(error instanceof Rejected ? error : new Rejected(400, 'encoding', String(error))),
    );
  };
}

/** The body as text, gunzipped when sent with `Content-Encoding: gzip`, refused past `maxBytes` either way. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  return new Promise((resolve, reject) => {
    if (encoding !== 'identity' && encoding !== 'gzip') {
      reject(new Rejected(415, 'encoding', `Content-Encoding ${encoding} is not accepted (gzip is)`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const gunzip = encoding === 'gzip' ? createGunzip() : undefined;
    const source = gunzip === undefined ? req : req.pipe(gunzip);
    const fail = (error: Rejected) => {
      if (done) return;
      done = true;
      // Inflate no further; what is left of the body is read and dropped.
      if (gunzip !== undefined) {
        req.unpipe(gunzip);
        gunzip.destroy();
      }
      req.resume();
      reject(error);
    };
    let raw = 0;
    req.on('data', (chunk: Buffer) => {
      raw += chunk.length;
      if (raw > maxBytes) fail(new Rejected(413, 'too_large', `the body is over ${maxBytes} bytes`));
    });
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Also past the limit once inflated: a small gzip bomb is refused as a large body.
      if (size > maxBytes)
        fail(new Rejected(413, 'too_large', `the body is over ${maxBytes} bytes inflated`));
      else chunks.push(chunk);
    });
    source.on('error', () => fail(new Rejected(400, 'encoding', 'the gzipped body does not inflate')));
    req.on('error', () => fail(new Rejected(400, 'encoding', 'the body was cut off')));
    source.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** Navigation starts further back than this are a wrong clock: the span is placed to end now instead. */
const MAX_CLOCK_SKEW_MS = 10 * 60_000;

/**
 * The page load as a span in the document's trace, under the server span that rendered it: so a page and the
 * backend route that served it are one trace (and its API calls too, which carry the same parent). Only for a
 * navigation that names its trace; the browser's clock places the span unless it is off by more than 10 minutes.
 */
function pageLoadSpan(
  tracer: Tracer,
  e: PerformanceEvent,
  durationMs: number,
  route: string,
  now: number,
): void {
  if (e.trace === undefined) return;
  const reported = e.timestamp === undefined ? Number.NaN : Date.parse(e.timestamp);
  const start =
    Number.isFinite(reported) && Math.abs(now - (reported + durationMs)) <= MAX_CLOCK_SKEW_MS
      ? reported
      : now - durationMs;
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: e.trace.trace_id,
    spanId: e.trace.span_id,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const ttfb = e.attributes.ttfb;
  const span = tracer.startSpan(
    SPAN_NAMES.pageLoad,
    {
      kind: SpanKind.INTERNAL,
      startTime: start,
      attributes: {
        [ATTR.pageRoute]: route,
        ...(typeof ttfb === 'number' ? { [ATTR.pageTtfb]: ttfb / 1000 } : {}),
      },
    },
    parent,
  );
  span.end(start + durationMs);
}

/**
 * A resource event → what is recorded of it, or nothing: only full loads of assets (a load from the cache or a
 * 304 says nothing of the asset's size on the wire; Sentry's uncompressed-asset detector skips them too), with
 * both sizes known.
 */
function resourceAttributes(e: PerformanceEvent, pageUrl: string | undefined) {
  const a = e.attributes;
  const initiator = a.initiatorType ?? 'other';
  if (NOT_ASSETS.has(initiator) || a.name === undefined) return undefined;
  if (a.cacheHitStatus !== undefined && a.cacheHitStatus !== 'fullLoad') return undefined;
  if (typeof a.encodedBodySize !== 'number' || typeof a.decodedBodySize !== 'number') return undefined;
  // A cross-origin resource without Timing-Allow-Origin reports zero sizes: nothing is known of it.
  if (a.decodedBodySize === 0) return undefined;
  const template = assetTemplate(a.name, pageUrl);
  if (template === undefined) return undefined;
  const blocking = a.renderBlockingStatus;
  return {
    template,
    encoded: a.encodedBodySize,
    decoded: a.decodedBodySize,
    seconds: typeof a.fetchTime === 'number' ? a.fetchTime / 1000 : undefined,
    attributes: {
      [ATTR.resourceInitiatorType]: initiator.slice(0, 32),
      [ATTR.resourceRenderBlocking]:
        blocking === 'blocking' || blocking === 'non-blocking' ? blocking : 'unknown',
    } satisfies Attributes,
  };
}

/**
 * An asset URL → its template: the path of a same-origin asset (the origin too for another origin's), without
 * query or fragment, with the parts that change from build to build as `*`: a number, or a token of eight or more
 * letters and digits with both in it (`app.3f9a2c1b.js`, `index-BQ3f_aZ1.js` → `app.*.js`, `index-*.js`).
 * `data:` and `blob:` URLs have no template.
 */
export function assetTemplate(url: string, pageUrl: string | undefined): string | undefined {
  let page: URL | undefined;
  try {
    page = pageUrl === undefined ? undefined : new URL(pageUrl);
  } catch {
    page = undefined;
  }
  let u: URL;
  try {
    u = new URL(url, page ?? 'http://page.invalid');
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  const path = u.pathname
    .split('/')
    .map((segment) =>
      segment
        .split(/([.~-])/)
        .map((part) =>
          /^\d+$/.test(part) ||
          (part.length >= 8 && /^[A-Za-z0-9_]+$/.test(part) && /\d/.test(part) && /[A-Za-z]/.test(part))
            ? '*'
            : part,
        )
        .join(''),
    )
    .join('/');
  const sameOrigin = page === undefined ? u.host === 'page.invalid' : u.origin === page.origin;
  return (sameOrigin ? path : `${u.origin}${path}`).slice(0, MAX_LABEL);
}

/**
 * A label value kept to a bounded set: within one scope (a route and a vital, say), the first `max` distinct
 * values are kept and any later one is `other`, so a page whose elements have generated ids cannot grow the
 * series without end. Values are cut at 120 characters.
 */
function boundedLabels() {
  const seen = new Map<string, Set<string>>();
  return (scope: string, value: string, max: number): string => {
    const v = value.slice(0, MAX_LABEL);
    if (v === NONE) return v;
    let values = seen.get(scope);
    if (values === undefined) {
      values = new Set();
      seen.set(scope, values);
    }
    if (values.has(v)) return v;
    if (values.size >= max) return OTHER_ROUTE;
    values.add(v);
    return v;
  };
}

/** Page URL (absolute, or a path) → the first route template it matches, else `other`. */
export function pageRouter(routes: readonly string[]): (url: string | undefined) => string {
  const matchers = routes.map((route) => ({ route, test: match(route, { decode: false }) }));
  return (url) => {
    if (url === undefined) return OTHER_ROUTE;
    let path: string;
    try {
      path = new URL(url, 'http://page.invalid').pathname;
    } catch {
      return OTHER_ROUTE;
    }
    return matchers.find((m) => m.test(path) !== false)?.route ?? OTHER_ROUTE;
  };
}

/** A token bucket per client: `perMinute` payloads, refilled evenly; clients kept in least-recently-seen order. */
function rateLimiter(perMinute: number, now: () => number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = perMinute / 60_000;
  return {
    retryAfterSeconds: Math.max(1, Math.ceil(60 / perMinute)),
    take(client: string): boolean {
      const t = now();
      const bucket = buckets.get(client) ?? { tokens: perMinute, at: t };
      buckets.delete(client);
      bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.at) * perMs);
      bucket.at = t;
      buckets.set(client, bucket);
      if (buckets.size > MAX_CLIENTS) buckets.delete(buckets.keys().next().value as string);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };
}
