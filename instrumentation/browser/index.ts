/**
 * `@hotpath/instrumentation/browser`: what a page adds to measure itself for Hotpath. It measures
 * - Web Vitals (LCP, INP, CLS, FCP, TTFB) with the `web-vitals` library and its attribution: the LCP element and
 *   its resource, the INP's interaction target, the largest CLS shift's element;
 * - the page load, from Navigation Timing;
 * - every resource of the page, from Resource Timing: transfer, encoded and decoded size, fetch time and
 *   render-blocking status;
 * and sends them, batched, with `sendBeacon` when the page is hidden or left, to a same-origin endpoint that the
 * app serves with `browserCollector` (default `/rum`).
 *
 * The payload is Grafana Faro's (the same measurement and event shapes as the Faro Web SDK's web-vitals and
 * performance instrumentations), so the endpoint takes Faro's payloads too, and this entry's payloads are Faro's.
 * It is smaller than the Faro SDK because it does one job: no sessions, logs, errors or console capture.
 *
 * What leaves the page: its path (never the query or the fragment), resource URLs without their query, element
 * selectors (`img#hero`, `main>div.card`), numbers. The endpoint maps the path to a route template, so no raw URL
 * becomes a label.
 *
 * Traces: a page whose HTML carries `<meta name="traceparent" content="00-…">` (the server span that rendered it,
 * `traceparentMeta()` on the server) continues that trace: the page load is reported with it, and the page's own
 * `fetch` calls to its origin carry it in `traceparent`, so the document, the page load and the API calls it makes
 * are one trace.
 */
import {
  type CLSMetricWithAttribution,
  type FCPMetricWithAttribution,
  type INPMetricWithAttribution,
  type LCPMetricWithAttribution,
  onCLS,
  onFCP,
  onINP,
  onLCP,
  onTTFB,
  type TTFBMetricWithAttribution,
} from 'web-vitals/attribution';

export interface HotpathBrowserOptions {
  /** Where payloads go, on the page's own origin (default `/rum`). */
  readonly endpoint?: string;
  /** The app's name and version, as Faro's `meta.app`. */
  readonly app?: { readonly name: string; readonly version?: string };
  /** Largest payload sent at once; more is sent as several (default 60 000 bytes, under sendBeacon's 64 KiB). */
  readonly maxPayloadBytes?: number;
}

export interface HotpathBrowser {
  /** Sends what is queued now (it is sent anyway when the page is hidden or left). */
  flush(): void;
}

type Values = Record<string, number>;
type Context = Record<string, string>;
interface TraceContext {
  readonly trace_id: string;
  readonly span_id: string;
}
interface Measurement {
  type: 'web-vitals';
  values: Values;
  context: Context;
  timestamp: string;
  trace?: TraceContext;
}
interface FaroEvent {
  name: string;
  domain: 'browser';
  attributes: Record<string, string>;
  timestamp: string;
  trace?: TraceContext;
}

const SDK = { name: '@hotpath/instrumentation/browser', version: '0.1.0', integrations: [] };
const DEFAULT_MAX_PAYLOAD_BYTES = 60_000;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

let started: HotpathBrowser | undefined;

/** Starts measuring the page; a second call returns the first one's handle. */
export function startHotpathBrowser(options: HotpathBrowserOptions = {}): HotpathBrowser {
  if (started !== undefined) return started;
  const endpoint = new URL(options.endpoint ?? '/rum', location.href);
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const trace = documentTrace();
  const measurements: Measurement[] = [];
  const events: FaroEvent[] = [];
  const now = () => new Date().toISOString();

  const push = (values: Values, context: Context) =>
    measurements.push({ type: 'web-vitals', values, context, timestamp: now(), ...(trace ? { trace } : {}) });
  const base = (m: {
    name: string;
    value: number;
    delta: number;
    id: string;
    rating: string;
    navigationType: string;
  }) => ({
    values: { [m.name.toLowerCase()]: m.value, delta: m.delta } as Values,
    context: { id: m.id, rating: m.rating, navigation_type: m.navigationType } as Context,
  });
  const put = (target: Values | Context, key: string, value: number | string | undefined) => {
    if (value !== undefined && value !== '') (target as Record<string, number | string>)[key] = value;
  };

  onLCP((m: LCPMetricWithAttribution) => {
    const { values, context } = base(m);
    const a = m.attribution;
    put(values, 'time_to_first_byte', a.timeToFirstByte);
    put(values, 'resource_load_delay', a.resourceLoadDelay);
    put(values, 'resource_load_duration', a.resourceLoadDuration);
    put(values, 'element_render_delay', a.elementRenderDelay);
    put(context, 'element', a.target);
    put(context, 'resource_url', a.url === undefined ? undefined : withoutQuery(a.url));
    push(values, context);
  });
  onINP((m: INPMetricWithAttribution) => {
    const { values, context } = base(m);
    const a = m.attribution;
    put(values, 'input_delay', a.inputDelay);
    put(values, 'processing_duration', a.processingDuration);
    put(values, 'presentation_delay', a.presentationDelay);
    put(context, 'interaction_target', a.interactionTarget);
    put(context, 'interaction_type', a.interactionType);
    push(values, context);
  });
  onCLS((m: CLSMetricWithAttribution) => {
    const { values, context } = base(m);
    put(values, 'largest_shift_value', m.attribution.largestShiftValue);
    put(context, 'largest_shift_target', m.attribution.largestShiftTarget);
    push(values, context);
  });
  onFCP((m: FCPMetricWithAttribution) => {
    const { values, context } = base(m);
    put(values, 'time_to_first_byte', m.attribution.timeToFirstByte);
    put(values, 'first_byte_to_fcp', m.attribution.firstByteToFCP);
    push(values, context);
  });
  onTTFB((m: TTFBMetricWithAttribution) => {
    const { values, context } = base(m);
    put(values, 'waiting_duration', m.attribution.waitingDuration);
    put(values, 'request_duration', m.attribution.requestDuration);
    push(values, context);
  });

  // Resource Timing, from the start of the page (buffered), except the payloads this entry sends.
  if (typeof PerformanceObserver !== 'undefined') {
    try {
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries() as PerformanceResourceTiming[]) {
          if (withoutQuery(entry.name) === endpoint.href) continue;
          events.push(resourceEvent(entry, trace));
        }
      }).observe({ type: 'resource', buffered: true });
    } catch {
      // An old browser without buffered resource entries: no resources.
    }
  }
  // Navigation Timing once the load event has ended (its loadEventEnd is set after the handlers have run).
  const navigation = () =>
    setTimeout(() => {
      const entry = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      if (entry !== undefined) events.push(navigationEvent(entry, trace));
    }, 0);
  if (document.readyState === 'complete') navigation();
  else addEventListener('load', navigation, { once: true });

  if (trace !== undefined) propagate(trace, location.origin);

  const flush = () => {
    if (measurements.length === 0 && events.length === 0) return;
    const meta = {
      sdk: SDK,
      ...(options.app ? { app: options.app } : {}),
      page: { url: location.origin + location.pathname },
    };
    for (const body of payloads(meta, measurements.splice(0), events.splice(0), maxBytes))
      send(endpoint.href, body);
  };
  // Registered after web-vitals' own listeners, so the vitals it reports on hiding are queued first.
  addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flush();
  });
  addEventListener('pagehide', flush);

  started = { flush };
  return started;
}

/** The trace the server began for this document, from `<meta name="traceparent">`. */
function documentTrace(): TraceContext | undefined {
  const content = document.querySelector('meta[name="traceparent"]')?.getAttribute('content') ?? '';
  const m = TRACEPARENT.exec(content.trim());
  return m === null ? undefined : { trace_id: m[1] as string, span_id: m[2] as string };
}

/** Same-origin `fetch` calls carry the document's trace, unless they set their own `traceparent`. */
function propagate(trace: TraceContext, origin: string): void {
  const original = window.fetch;
  if (typeof original !== 'function') return;
  const header = `00-${trace.trace_id}-${trace.span_id}-01`;
  window.fetch = function fetchWithTrace(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    try {
      const url = new URL(input instanceof Request ? input.url : String(input), location.href);
      if (url.origin === origin) {
        const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
        if (!headers.has('traceparent')) {
          headers.set('traceparent', header);
          return original.call(this, input, { ...init, headers });
        }
      }
    } catch {
      // Anything odd about the request: send it as the page wrote it.
    }
    return original.call(this, input, init);
  };
}

const num = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? 'unknown' : String(Math.round(v));

/** One resource as Faro's `faro.performance.resource` event (its attribute names; numbers as strings). */
function resourceEvent(e: PerformanceResourceTiming, trace: TraceContext | undefined): FaroEvent {
  const status = (e as PerformanceResourceTiming & { responseStatus?: number }).responseStatus;
  const blocking = (e as PerformanceResourceTiming & { renderBlockingStatus?: string }).renderBlockingStatus;
  // Faro's rule: nothing transferred but a body = from the cache; a 304, or less transferred than the body =
  // revalidated; anything else a full load.
  const cacheHitStatus =
    e.transferSize === 0
      ? e.decodedBodySize > 0
        ? 'cache'
        : 'fullLoad'
      : status === 304 ||
          (status === undefined && e.encodedBodySize > 0 && e.transferSize < e.encodedBodySize)
        ? 'conditionalFetch'
        : 'fullLoad';
  return {
    name: 'faro.performance.resource',
    domain: 'browser',
    attributes: {
      name: withoutQuery(e.name),
      initiatorType: e.initiatorType,
      renderBlockingStatus: blocking ?? 'unknown',
      cacheHitStatus,
      transferSize: num(e.transferSize),
      encodedBodySize: num(e.encodedBodySize),
      decodedBodySize: num(e.decodedBodySize),
      fetchTime: num(e.responseEnd - e.fetchStart),
      requestTime: num(e.responseStart - e.requestStart),
      responseTime: num(e.responseEnd - e.responseStart),
      protocol: e.nextHopProtocol,
    },
    timestamp: new Date(performance.timeOrigin + e.startTime).toISOString(),
    ...(trace ? { trace } : {}),
  };
}

/** The page load as Faro's `faro.performance.navigation` event; its timestamp is the navigation's start. */
function navigationEvent(e: PerformanceNavigationTiming, trace: TraceContext | undefined): FaroEvent {
  return {
    name: 'faro.performance.navigation',
    domain: 'browser',
    attributes: {
      totalNavigationTime: num(e.loadEventEnd > 0 ? e.duration : 0),
      pageLoadTime: num(e.domComplete - e.fetchStart),
      domProcessingTime: num(e.domComplete - e.domInteractive),
      ttfb: num(
        Math.max(
          e.responseStart -
            ((e as PerformanceNavigationTiming & { activationStart?: number }).activationStart ?? 0),
          0,
        ),
      ),
      type: e.type,
      visibilityState: document.visibilityState,
    },
    timestamp: new Date(performance.timeOrigin).toISOString(),
    ...(trace ? { trace } : {}),
  };
}

function withoutQuery(url: string): string {
  try {
    const u = new URL(url, location.href);
    return u.origin + u.pathname;
  } catch {
    return url.split(/[?#]/)[0] ?? url;
  }
}

/** The queue as Faro payloads, each under `maxBytes` (an item that alone is larger is dropped). */
function* payloads(
  meta: object,
  measurements: Measurement[],
  events: FaroEvent[],
  maxBytes: number,
): Generator<string> {
  const items: [kind: 'measurements' | 'events', item: Measurement | FaroEvent][] = [
    ...measurements.map((m) => ['measurements', m] as ['measurements', Measurement]),
    ...events.map((e) => ['events', e] as ['events', FaroEvent]),
  ];
  let batch: { measurements: Measurement[]; events: FaroEvent[] } = { measurements: [], events: [] };
  const overhead = JSON.stringify({ meta, measurements: [], events: [] }).length;
  let size = overhead;
  for (const [kind, item] of items) {
    const length = JSON.stringify(item).length + 1;
    if (overhead + length > maxBytes) continue;
    if (size + length > maxBytes) {
      yield JSON.stringify({ meta, ...batch });
      batch = { measurements: [], events: [] };
      size = overhead;
    }
    (batch[kind] as (Measurement | FaroEvent)[]).push(item);
    size += length;
  }
  if (batch.measurements.length + batch.events.length > 0) yield JSON.stringify({ meta, ...batch });
}

/** `sendBeacon` (it outlives the page); `fetch` with `keepalive` where the browser refuses the beacon. */
function send(url: string, body: string): void {
  try {
    if (navigator.sendBeacon?.(url, body)) return;
  } catch {
    // fall through
  }
  try {
    void fetch(url, {
      method: 'POST',
      body,
      keepalive: true,
      headers: { 'content-type': 'text/plain' },
    }).catch(() => {});
  } catch {
    // Nothing more to try: measurements are lost, the page is not disturbed.
  }
}
