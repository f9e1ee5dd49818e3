// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/**
 * The browser collection endpoint over real HTTP, recording with the real metrics SDK into a Prometheus exporter
 * that the real test Prometheus scrapes: Faro's own payloads are accepted, Web Vitals land as the catalogued
 * histograms by route template, and every bad payload is refused, counted and never recorded.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/lib/process.ts';
import { addScrapeTarget } from '../../scripts/lib/prometheus.ts';
import { eventually, promQuery, uniqueService } from '../../test/harness.ts';
import { SHARED_FIXTURES } from '../../test/stack/compose.ts';
import { assetTemplate, browserCollector, pageRouter } from './browser-collector.ts';
import { prometheusName, prometheusSeries } from './prometheus-names.ts';
import { METRICS } from './semconv.ts';
import { catalogueViews } from './telemetry.ts';

const ROUTES = ['/', '/products/:id', '/cart'];
const service = uniqueService('browser-collector');
let provider: MeterProvider;
let server: Server;
let url: string;
let unregister: () => void;
let clock = 0;

beforeAll(async () => {
  const port = await freePort();
  provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    readers: [new PrometheusExporter({ host: '127.0.0.1', port })],
    views: catalogueViews(),
  });
  const collect = browserCollector({
    routes: ROUTES,
    meter: provider.getMeter('test'),
    ratePerMinute: 30,
    now: () => clock,
    // One client per test case, so the rate limit is tested on its own.
    clientKey: (req) => String(req.headers['x-client'] ?? 'default'),
  });
  server = createServer((req, res) => {
    if (req.url === '/rum') collect(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rum`;
  unregister = addScrapeTarget(inject('prometheusTargetsDir'), service, {
    address: `127.0.0.1:${port}`,
    service,
  });
});
afterAll(async () => {
  unregister?.();
  server?.close();
  await provider?.shutdown();
});

const post = (body: string | Buffer, headers: Record<string, string> = {}, client = 'default') =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-client': client, ...headers },
    body,
  });

/** What the Faro Web SDK's web-vitals instrumentation pushes: one measurement per metric, times in ms. */
const vitals = (page: string, values: Record<string, number>[]) =>
  JSON.stringify({
    meta: { page: { url: page }, app: { name: 'shop' }, sdk: { name: '@grafana/faro-web-sdk' } },
    measurements: values.map((v) => ({
      type: 'web-vitals',
      values: { ...v, delta: Object.values(v)[0] },
      timestamp: new Date().toISOString(),
      context: { id: 'v5-1', rating: 'poor', navigation_type: 'navigate' },
    })),
  });

async function series(expr: string): Promise<Record<string, number>> {
  const samples = await promQuery(expr);
  return Object.fromEntries(samples.map((s) => [JSON.stringify(s.metric), s.value]));
}

describe('browser collection endpoint', () => {
  it('maps page URLs to the app’s route templates, anything else to other', () => {
    const route = pageRouter(ROUTES);
    expect(route('https://shop.example/products/42?ref=ad#top')).toBe('/products/:id');
    expect(route('/')).toBe('/');
    expect(route('/cart')).toBe('/cart');
    expect(route('https://shop.example/admin/users/7')).toBe('other');
    expect(route('/products/42/reviews')).toBe('other');
    expect(route(undefined)).toBe('other');
  });

  it('templates asset URLs: the path, build hashes and numbers as *, the origin only for another origin', () => {
    const page = 'https://shop.example/products/42';
    expect(assetTemplate('https://shop.example/assets/app.3f9a2c1b.js?v=2', page)).toBe('/assets/app.*.js');
    expect(assetTemplate('/assets/index-BQ3f_aZ1.css', page)).toBe('/assets/index-*.css');
    expect(assetTemplate('https://cdn.example/img/products/42/hero.webp', page)).toBe(
      'https://cdn.example/img/products/*/hero.webp',
    );
    expect(assetTemplate('/assets/vendor.js', page)).toBe('/assets/vendor.js');
    expect(assetTemplate('/assets/background-image.png', page)).toBe('/assets/background-image.png');
    expect(assetTemplate('data:image/png;base64,AAAA', page)).toBeUndefined();
  });

  it('accepts Faro’s own payloads as they are (202), recording only what it reads', async () => {
    for (const file of [
      'payload.all-signals.grafana-alloy.json',
      'payload.all-signals.otelcol-faroreceiver.json',
      'payload.otel-demo-browser-capture.otelcol-faroreceiver.json',
    ]) {
      const response = await post(readFileSync(join(SHARED_FIXTURES, 'faro', file)), {}, file);
      expect(response.status, file).toBe(202);
      // No web-vitals measurement in any of them (a "navigation" and a "foobar" type): nothing recorded.
      expect(await response.json(), file).toEqual({ recorded: 0 });
    }
  });

  it('records Web Vitals and page loads by route, from plain, beacon and gzipped bodies, into Prometheus', async () => {
    const product = vitals('https://shop.example/products/42', [{ lcp: 3200 }, { cls: 0.31 }, { inp: 280 }]);
    expect(await (await post(product)).json()).toEqual({ recorded: 3 });
    // sendBeacon with a string body: text/plain.
    const beacon = await post(vitals('https://shop.example/products/7', [{ fcp: 900 }, { ttfb: 450 }]), {
      'content-type': 'text/plain;charset=UTF-8',
    });
    expect(await beacon.json()).toEqual({ recorded: 2 });
    // Faro's navigation event: numbers as strings; a page left before its load event has a 0.
    const navigation = (total: string) => ({
      name: 'faro.performance.navigation',
      domain: 'browser',
      attributes: { totalNavigationTime: total, ttfb: '120', type: 'navigate', visibilityState: 'visible' },
      timestamp: new Date().toISOString(),
    });
    const load = JSON.stringify({
      meta: { page: { url: 'https://shop.example/somewhere/else' } },
      events: [navigation('4100'), navigation('0'), { name: 'click', attributes: { target: 'button' } }],
    });
    const gzipped = await post(gzipSync(load), { 'content-encoding': 'gzip' });
    expect(await gzipped.json()).toEqual({ recorded: 1 });

    const count = (spec: (typeof METRICS)[keyof typeof METRICS]) =>
      `sum by (page_route) (${prometheusSeries(spec, 'count')}{job="${service}"})`;
    const recorded = await eventually(async () => {
      const [lcp, cls, inp, fcp, ttfb, page] = await Promise.all(
        [
          METRICS.browserWebVitalLcp,
          METRICS.browserWebVitalCls,
          METRICS.browserWebVitalInp,
          METRICS.browserWebVitalFcp,
          METRICS.browserWebVitalTtfb,
          METRICS.browserPageLoadDuration,
        ].map((spec) => series(count(spec))),
      );
      if (page === undefined || Object.keys(page).length === 0) throw new Error('not scraped yet');
      return { lcp, cls, inp, fcp, ttfb, page };
    }, 20_000);
    const at = (route: string) => JSON.stringify({ page_route: route });
    expect(recorded.lcp?.[at('/products/:id')]).toBe(1);
    expect(recorded.cls?.[at('/products/:id')]).toBe(1);
    expect(recorded.inp?.[at('/products/:id')]).toBe(1);
    expect(recorded.fcp?.[at('/products/:id')]).toBe(1);
    expect(recorded.ttfb?.[at('/products/:id')]).toBe(1);
    expect(recorded.page).toEqual({ [at('other')]: 1 });
    const [loadSum] = await promQuery(
      `sum(${prometheusSeries(METRICS.browserPageLoadDuration, 'sum')}{job="${service}"})`,
    );
    expect(loadSum?.value).toBeCloseTo(4.1);
    // Milliseconds became seconds; CLS stayed a score.
    const [lcpSum] = await promQuery(
      `sum(${prometheusSeries(METRICS.browserWebVitalLcp, 'sum')}{job="${service}"})`,
    );
    expect(lcpSum?.value).toBeCloseTo(3.2);
    const [clsSum] = await promQuery(
      `sum(${prometheusSeries(METRICS.browserWebVitalCls, 'sum')}{job="${service}"})`,
    );
    expect(clsSum?.value).toBeCloseTo(0.31);
  });

  it('refuses bad payloads with a 4xx, counts them by reason, and records none of them', async () => {
    const before = await promQuery(
      `sum(${prometheusSeries(METRICS.browserWebVitalLcp, 'count')}{job="${service}"})`,
    );
    const big = JSON.stringify({ meta: {}, logs: [{ message: 'x'.repeat(70_000) }] });
    const bomb = gzipSync(JSON.stringify({ meta: {}, logs: [{ message: ' '.repeat(5_000_000) }] }));
    const cases: [string, () => Promise<Response>, number][] = [
      ['method', () => fetch(url), 405],
      ['content_type', () => post('<html>', { 'content-type': 'text/html' }, 'ct'), 415],
      ['too_large', () => post(big, {}, 'big'), 413],
      ['too_large', () => post(bomb, { 'content-encoding': 'gzip' }, 'bomb'), 413],
      ['encoding', () => post(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' }, 'gz'), 400],
      ['encoding', () => post('{}', { 'content-encoding': 'br' }, 'br'), 415],
      ['json', () => post('{"meta":', {}, 'json'), 400],
      ['schema', () => post(vitals('/products/1', [{ lcp: -5 }]), {}, 'neg'), 400],
      ['schema', () => post(vitals('/products/1', [{ lcp: 1e12 }]), {}, 'huge'), 400],
      ['schema', () => post(JSON.stringify({ measurements: 'all of them' }), {}, 'shape'), 400],
      [
        'schema',
        () =>
          post(
            JSON.stringify({
              meta: { page: { url: '/' } },
              events: [{ name: 'faro.performance.resource', attributes: { encodedBodySize: 'lots' } }],
            }),
            {},
            'resource',
          ),
        400,
      ],
    ];
    for (const [reason, send, status] of cases) {
      const response = await send();
      expect(response.status, reason).toBe(status);
      expect(((await response.json()) as { error: string }).error, reason).toMatch(/\w/);
    }
    // Over the rate: 30 a minute for one client, then 429 with Retry-After until the bucket refills.
    const ok = vitals('/cart', [{ lcp: 1000 }]);
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) statuses.push((await post(ok, {}, 'busy')).status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(30);
    const limited = await post(ok, {}, 'busy');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    clock += 60_000;
    expect((await post(ok, {}, 'busy')).status).toBe(202);

    const rejected = prometheusName(METRICS.hotpathBrowserPayloadsRejected);
    const byReason = await eventually(async () => {
      const counts = await series(`sum by (hotpath_reject_reason) (${rejected}{job="${service}"})`);
      if ((counts[JSON.stringify({ hotpath_reject_reason: 'rate' })] ?? 0) < 3)
        throw new Error('not scraped yet');
      return counts;
    }, 20_000);
    const reason = (r: string) => byReason[JSON.stringify({ hotpath_reject_reason: r })];
    expect(reason('method')).toBe(1);
    expect(reason('content_type')).toBe(1);
    expect(reason('too_large')).toBe(2);
    expect(reason('encoding')).toBe(2);
    expect(reason('json')).toBe(1);
    expect(reason('schema')).toBe(4);
    expect(reason('rate')).toBe(3);
    // Only the 31 accepted /cart payloads reached the LCP histogram.
    const [after] = await promQuery(
      `sum(${prometheusSeries(METRICS.browserWebVitalLcp, 'count')}{job="${service}"})`,
    );
    expect((after?.value ?? 0) - (before[0]?.value ?? 0)).toBe(31);
  });

  it('records the attributed element, the LCP parts and each asset of a page, bounded and without cached loads', async () => {
    const page = 'https://shop.example/products/9';
    const resource = (name: string, extra: Record<string, string>) => ({
      name: 'faro.performance.resource',
      domain: 'browser',
      attributes: {
        name,
        initiatorType: 'script',
        renderBlockingStatus: 'blocking',
        cacheHitStatus: 'fullLoad',
        encodedBodySize: '600000',
        decodedBodySize: '600000',
        fetchTime: '900',
        ...extra,
      },
    });
    const body = JSON.stringify({
      meta: { page: { url: page } },
      measurements: [
        {
          type: 'web-vitals',
          values: {
            lcp: 3600,
            delta: 3600,
            time_to_first_byte: 200,
            resource_load_duration: 3100,
            element_render_delay: 300,
          },
          context: {
            id: 'v5-2',
            rating: 'poor',
            element: 'img#hero',
            resource_url: `${page.replace('/products/9', '')}/img/9.a1b2c3d4e5.jpg`,
          },
        },
        ...Array.from({ length: 25 }, (_, i) => ({
          type: 'web-vitals',
          values: { cls: 0.2, delta: 0.2 },
          context: { largest_shift_target: `div#ad-${i}` },
        })),
      ],
      events: [
        resource('https://shop.example/assets/vendor.9f8e7d6c5b.js', {}),
        resource('https://shop.example/assets/app.js', {
          encodedBodySize: '1200',
          decodedBodySize: '4000',
          renderBlockingStatus: 'non-blocking',
          fetchTime: '40',
        }),
        resource('https://shop.example/assets/cached.js', { cacheHitStatus: 'cache' }),
        resource('https://shop.example/api/products?limit=12', { initiatorType: 'fetch' }),
        resource('https://other.example/pixel.gif', { encodedBodySize: '0', decodedBodySize: '0' }),
      ],
    });
    const response = await post(body, {}, 'attribution');
    // 1 LCP + 4 parts, 25 CLS, 2 assets × 3 histograms.
    expect(await response.json()).toEqual({ recorded: 1 + 4 + 25 + 6 });

    const lcp = await eventually(async () => {
      const got = await series(
        `sum by (browser_web_vital_element, url_template) (${prometheusSeries(METRICS.browserWebVitalLcp, 'count')}{job="${service}", page_route="/products/:id", browser_web_vital_element!="none"})`,
      );
      if (Object.keys(got).length === 0) throw new Error('not scraped yet');
      return got;
    }, 20_000);
    expect(lcp).toEqual({
      [JSON.stringify({ browser_web_vital_element: 'img#hero', url_template: '/img/*.*.jpg' })]: 1,
    });
    const phases = await series(
      `sum by (browser_web_vital_phase) (${prometheusSeries(METRICS.browserWebVitalLcpPhase, 'sum')}{job="${service}"})`,
    );
    const phase = (p: string) => phases[JSON.stringify({ browser_web_vital_phase: p })];
    expect(phase('time_to_first_byte')).toBeCloseTo(0.2);
    expect(phase('resource_load_delay')).toBe(0);
    expect(phase('resource_load_duration')).toBeCloseTo(3.1);
    expect(phase('element_render_delay')).toBeCloseTo(0.3);
    // 20 distinct shift targets are kept, the other 5 are one `other`.
    const cls = await series(
      `sum by (browser_web_vital_element) (${prometheusSeries(METRICS.browserWebVitalCls, 'count')}{job="${service}", page_route="/products/:id", browser_web_vital_element!="none"})`,
    );
    expect(Object.keys(cls)).toHaveLength(21);
    expect(cls[JSON.stringify({ browser_web_vital_element: 'other' })]).toBe(5);

    const assets = await series(
      `sum by (url_template, browser_resource_render_blocking, browser_resource_initiator_type) (${prometheusSeries(METRICS.browserResourceEncodedSize, 'sum')}{job="${service}", page_route="/products/:id"})`,
    );
    expect(assets).toEqual({
      [JSON.stringify({
        browser_resource_initiator_type: 'script',
        browser_resource_render_blocking: 'blocking',
        url_template: '/assets/vendor.*.js',
      })]: 600000,
      [JSON.stringify({
        browser_resource_initiator_type: 'script',
        browser_resource_render_blocking: 'non-blocking',
        url_template: '/assets/app.js',
      })]: 1200,
    });
    const [decoded] = await promQuery(
      `sum(${prometheusSeries(METRICS.browserResourceDecodedSize, 'sum')}{job="${service}", url_template="/assets/app.js"})`,
    );
    expect(decoded?.value).toBe(4000);
    const [fetched] = await promQuery(
      `sum(${prometheusSeries(METRICS.browserResourceDuration, 'sum')}{job="${service}", url_template="/assets/vendor.*.js"})`,
    );
    expect(fetched?.value).toBeCloseTo(0.9);
  });

  it('records each page load that names its trace as a span under the server span that rendered the document', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const handler = browserCollector({
      routes: ROUTES,
      meter: provider.getMeter('spans'),
      tracer: tracing.getTracer('test'),
    });
    const own = createServer(handler);
    await new Promise<void>((r) => own.listen(0, '127.0.0.1', r));
    try {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const serverSpan = 'b7ad6b7169203331';
      const start = new Date(Date.now() - 10_000);
      const navigation = (extra: object) => ({
        name: 'faro.performance.navigation',
        attributes: { totalNavigationTime: '4100', ttfb: '120' },
        timestamp: start.toISOString(),
        ...extra,
      });
      const body = JSON.stringify({
        meta: { page: { url: 'https://shop.example/products/3' } },
        events: [
          navigation({ trace: { trace_id: traceId, span_id: serverSpan } }),
          navigation({}), // no trace: no span
          navigation({
            trace: { trace_id: traceId, span_id: serverSpan },
            timestamp: '1999-01-01T00:00:00Z',
          }),
        ],
      });
      const response = await fetch(`http://127.0.0.1:${(own.address() as AddressInfo).port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(202);
      await tracing.forceFlush();
      const spans = exporter.getFinishedSpans();
      expect(spans).toHaveLength(2);
      for (const span of spans) {
        expect(span.name).toBe('browser.page_load');
        expect(span.spanContext().traceId).toBe(traceId);
        expect(span.parentSpanContext?.spanId).toBe(serverSpan);
        expect(span.attributes).toEqual({ 'page.route': '/products/:id', 'browser.page.ttfb': 0.12 });
        const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
        expect(ms(span.endTime) - ms(span.startTime)).toBeCloseTo(4100, 0);
      }
      // The browser's clock places the first; the second's is 27 years off, so it ends when it arrived.
      const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
      expect(ms(spans[0]?.startTime ?? [0, 0])).toBeCloseTo(start.getTime(), -1);
      expect(Math.abs(ms(spans[1]?.endTime ?? [0, 0]) - Date.now())).toBeLessThan(5_000);
    } finally {
      own.close();
      await tracing.shutdown();
    }
  });
});
