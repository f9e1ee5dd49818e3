/**
 * First-party collection of browser measurements: a request handler the app mounts on a same-origin path
 * (`app.post('/rum', browserCollector({ routes }))`), which takes Grafana Faro's payload (the body the Faro Web
 * SDK posts, `{ meta, measurements, events, logs, exceptions, traces }`) and records its Web Vitals as the app's
 * own histograms (`browser.web_vital.*`, `browser.page.load.duration`, by `page.route`). So browser metrics
 * travel with the app's telemetry, whichever way it exports, and a page that already runs Faro feeds Hotpath by
 * pointing Faro's `url` at this path.
 *
 * What it reads of a payload:
 * - `meta.page.url`: the page, mapped to one of the app's route templates (`/products/:id`); a page matching
 *   none is `other`, so a crawler walking random URLs cannot grow the series;
 * - measurements of type `web-vitals` (the Faro Web SDK's, one per metric: `values: { lcp: <ms>, delta }`,
 *   `packages/web-sdk/src/instrumentations/webVitals`) and `hotpath.page-load` (`values: { duration: <ms> }`,
 *   navigation start to load event end).
 * Everything else in the payload is accepted and not recorded.
 *
 * Guarded: a body over `maxBodyBytes`, a body that is not JSON (plain, or gzip as Faro's `requestCompression`
 * sends it), a payload that fails the schema, and a client over its rate get a 4xx, are counted
 * (`hotpath.browser.payloads.rejected` by `reason`), and record nothing. Never throws into the app.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip } from 'node:zlib';
import { type Attributes, type Counter, type Histogram, type Meter, metrics } from '@opentelemetry/api';
import { match } from 'path-to-regexp';
import { z } from 'zod';
import { ATTR, METRICS, type MetricSpec } from './semconv.ts';

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
  /** Clock for the rate limit (tests). */
  readonly now?: () => number;
}

/** Faro's web-vitals `values` key → the histogram it feeds; times in ms become seconds, CLS stays a score. */
const VITALS: Readonly<Record<string, { spec: MetricSpec; seconds: boolean }>> = {
  lcp: { spec: METRICS.browserWebVitalLcp, seconds: true },
  inp: { spec: METRICS.browserWebVitalInp, seconds: true },
  fcp: { spec: METRICS.browserWebVitalFcp, seconds: true },
  ttfb: { spec: METRICS.browserWebVitalTtfb, seconds: true },
  cls: { spec: METRICS.browserWebVitalCls, seconds: false },
};
export const PAGE_LOAD_TYPE = 'hotpath.page-load';

/** Milliseconds a browser can sensibly report for a page or a vital: up to 10 minutes (CLS: a score up to 100). */
const MAX_MS = 600_000;
const MAX_CLS = 100;
const measurement = z
  .object({
    type: z.string().max(100),
    values: z.record(z.string().max(100), z.number().finite()),
    timestamp: z.string().max(64).optional(),
    context: z.record(z.string().max(100), z.unknown()).optional(),
  })
  .superRefine((m, ctx) => {
    const recorded =
      m.type === 'web-vitals'
        ? Object.keys(m.values).filter((k) => k in VITALS)
        : m.type === PAGE_LOAD_TYPE
          ? ['duration']
          : [];
    for (const key of recorded) {
      const value = m.values[key];
      const max = key === 'cls' ? MAX_CLS : MAX_MS;
      if (value === undefined || value < 0 || value > max) {
        ctx.addIssue({ code: 'custom', path: ['values', key], message: `must be between 0 and ${max}` });
      }
    }
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
  events: z.array(z.unknown()).max(1000).optional(),
  logs: z.array(z.unknown()).max(1000).optional(),
  exceptions: z.array(z.unknown()).max(1000).optional(),
  traces: z.unknown().optional(),
});
export type BrowserPayload = z.infer<typeof payload>;

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
      h = meter.createHistogram(spec.name, { unit: spec.unit, description: spec.description });
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

  const record = (body: BrowserPayload): number => {
    const attributes: Attributes = { [ATTR.pageRoute]: routeOf(body.meta?.page?.url) };
    let recorded = 0;
    for (const m of body.measurements ?? []) {
      if (m.type === 'web-vitals') {
        for (const [key, value] of Object.entries(m.values)) {
          const vital = VITALS[key];
          if (vital === undefined) continue; // delta, attribution timings
          histogram(vital.spec).record(vital.seconds ? value / 1000 : value, attributes);
          recorded++;
        }
      } else if (m.type === PAGE_LOAD_TYPE && m.values.duration !== undefined) {
        histogram(METRICS.browserPageLoadDuration).record(m.values.duration / 1000, attributes);
        recorded++;
      }
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
