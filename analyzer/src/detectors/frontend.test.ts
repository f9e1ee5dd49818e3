import { describe, expect, it } from 'vitest';
import { correlate } from '../correlate.ts';
import { findingId } from '../findings.ts';
import { buildSpanTree } from '../traces/model.ts';
import { query, retrace, server, snapshotOf, span, trace } from '../traces/testdata.ts';
import type { AssetStats, PageStats, TraceData, Vital } from '../types.ts';
import { detect } from './frontend.ts';
import { detectAll } from './index.ts';
import { finished, LIMITS, route, SERVICE, snapshot } from './testdata.ts';

const healthy: Record<Vital, number> = {
  lcp: 1.2,
  inp: 0.08,
  cls: 0.02,
  fcp: 0.9,
  ttfb: 0.3,
  page_load: 1.6,
};

function page(
  overrides: Omit<Partial<PageStats>, 'p75'> & { p75?: Partial<Record<Vital, number | null>> } = {},
): PageStats {
  const { p75, ...rest } = overrides;
  return {
    service: SERVICE,
    page: '/products/:id',
    viewsPerS: 2,
    p75: { ...healthy, ...p75 },
    ratePerS: { lcp: 2, inp: 1, cls: 2, fcp: 2, ttfb: 2, page_load: 2 },
    elements: {},
    lcpPhases: {},
    ...rest,
  };
}

function asset(overrides: Partial<AssetStats> = {}): AssetStats {
  return {
    service: SERVICE,
    page: '/products/:id',
    url: '/assets/app.*.js',
    initiatorType: 'script',
    renderBlocking: 'non-blocking',
    loadsPerS: 2,
    encodedBytes: 40_000,
    decodedBytes: 140_000,
    durationSeconds: 0.08,
    ...overrides,
  };
}

describe('frontend detector', () => {
  it('stays quiet on a page within every objective, and on a page too quiet to judge', () => {
    expect(detect(snapshot({ pages: [page()], assets: [asset()] }), LIMITS)).toEqual([]);
    const quiet = page({ viewsPerS: 0.01, p75: { lcp: 9 } });
    expect(detect(snapshot({ pages: [quiet] }), LIMITS)).toEqual([]);
  });

  it('reports a slow LCP with the element its slow reports name and the part of it that holds the time', () => {
    const p = page({
      p75: { lcp: 4.4 },
      elements: {
        lcp: [
          { element: 'h1.title', url: 'none', ratePerS: 0.5, p75: 0.9 },
          { element: 'img#hero', url: '/img/*.webp', ratePerS: 1.5, p75: 4.6 },
        ],
      },
      lcpPhases: {
        time_to_first_byte: 0.3,
        resource_load_delay: 0.1,
        resource_load_duration: 3.6,
        element_render_delay: 0.2,
      },
    });
    const s = snapshot({ pages: [p] });
    const [f, ...rest] = finished(detect(s, LIMITS), s);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({
      id: findingId('web-vital', SERVICE, '/products/:id LCP'),
      kind: 'web-vital',
      layer: 'frontend',
      subject: '/products/:id LCP',
      severity: 'critical', // past web-vitals' 4 s "poor" line
    });
    expect(f?.impact).toBeCloseTo(2 * (4.4 - 2.5));
    expect(f?.evidence.values).toMatchObject({
      element: 'img#hero',
      resource_url: '/img/*.webp',
      largest_phase: 'resource_load_duration',
      element_share: 0.75,
    });
    expect(f?.recommendations[0]?.action).toContain('img#hero');
    expect(f?.recommendations[0]?.action).toContain('3.6 s to load');
    expect(f?.recommendations[0]?.artifact).toContain('href="/img/*.webp"');
  });

  it('reports a large render-blocking script and an uncompressed one by Sentry’s rules, one finding per asset', () => {
    const p = page({ p75: { fcp: 6.5, lcp: 6.8, page_load: 8.2 } });
    const vendor = asset({
      url: '/assets/vendor.js',
      renderBlocking: 'blocking',
      encodedBytes: 1_500_000,
      decodedBytes: 1_500_000,
      durationSeconds: 5.9,
    });
    // The same asset on a second page, and a compressed one that shows the browser asks for compression.
    const s = snapshot({
      pages: [p, page({ page: '/', p75: { fcp: 6.1 } })],
      assets: [vendor, { ...vendor, page: '/', loadsPerS: 1 }, asset()],
    });
    const drafts = detect(s, LIMITS);
    const heavy = drafts.filter((d) => d.kind === 'heavy-asset');
    expect(heavy.map((d) => d.subject)).toEqual(['/assets/vendor.js']);
    expect(heavy[0]?.evidence.values).toMatchObject({
      problems: 'render-blocking\nuncompressed',
      pages: '/products/:id\n/',
    });
    expect(heavy[0]?.impact).toBeCloseTo(3 * 5.9);

    // The vitals it delays are its symptoms: one finding per root cause.
    const [f, ...rest] = finished(correlate(drafts, s), s);
    expect(rest).toEqual([]);
    expect(f?.subject).toBe('/assets/vendor.js');
    expect(f?.evidence.symptoms?.map((x) => x.subject).sort()).toEqual([
      '/ FCP',
      '/products/:id FCP',
      '/products/:id LCP',
      '/products/:id page load',
    ]);
    expect(f?.recommendations.map((r) => r.artifact ?? '')).toContain(
      '<script src="/assets/vendor.js" defer></script>',
    );
    expect(f?.recommendations[1]?.action).toContain('compressed');
  });

  it('leaves alone what Sentry’s asset rules leave alone', () => {
    const fast = page({ p75: { fcp: 1.1 } });
    const cases: AssetStats[] = [
      // Blocking and large, but the page paints within 2 s.
      asset({
        renderBlocking: 'blocking',
        encodedBytes: 900_000,
        decodedBytes: 3_000_000,
        durationSeconds: 0.5,
      }),
      // Uncompressed and large, but an image (already a compressed format).
      asset({
        url: '/img/hero.jpg',
        initiatorType: 'img',
        encodedBytes: 900_000,
        decodedBytes: 900_000,
        durationSeconds: 1,
      }),
      // Uncompressed .js, but fetched within 300 ms.
      asset({ url: '/assets/big.js', encodedBytes: 900_000, decodedBytes: 900_000, durationSeconds: 0.2 }),
    ];
    expect(detect(snapshot({ pages: [fast], assets: [...cases, asset()] }), LIMITS)).toEqual([]);
    // Uncompressed, but no asset of the page arrived compressed: the browser may not have asked.
    const alone = asset({
      url: '/assets/big.js',
      encodedBytes: 900_000,
      decodedBytes: 900_000,
      durationSeconds: 2,
    });
    expect(detect(snapshot({ pages: [fast], assets: [alone] }), LIMITS)).toEqual([]);
  });

  it('lets a slow LCP explain the page load it holds back', () => {
    const p = page({ p75: { lcp: 3.4, page_load: 3.9 }, lcpPhases: { resource_load_duration: 2.9 } });
    const s = snapshot({ pages: [p] });
    const [f, ...rest] = finished(correlate(detect(s, LIMITS), s), s);
    expect(rest).toEqual([]);
    expect(f?.subject).toBe('/products/:id LCP');
    expect(f?.evidence.symptoms?.map((x) => x.subject)).toEqual(['/products/:id page load']);
  });

  it('lets the backend route that renders a page explain its slow TTFB and the vitals the TTFB alone delays', async () => {
    // The document's server span, the page load the browser reported under it, and an API call of the page.
    const document = server({ id: 1, route: '/products/:id', startMs: 0, durationMs: 1100 });
    const pageLoad = span({
      id: 2,
      parent: 1,
      name: 'browser.page_load',
      startMs: -50,
      durationMs: 3400,
      attributes: { 'page.route': '/products/:id' },
    });
    const api = server({ id: 3, parent: 1, route: '/api/reviews', startMs: 1900, durationMs: 20 });
    const t = trace(document, pageLoad, api);
    // The page load is no work of the request: the tree keeps it apart.
    expect(buildSpanTree(t.spans).parent(pageLoad)).toBeUndefined();
    const s = {
      ...snapshot({
        routes: [route({ route: '/products/:id', p95Seconds: 1.1, requestRate: 2 })],
        pages: [page({ p75: { ttfb: 1.1, fcp: 2.2, lcp: 3, page_load: 3.4, inp: 0.4 } })],
      }),
      traces: (await snapshotOf([t])).traces as TraceData,
    };
    const out = finished(correlate(detectAll(s, LIMITS), s), s);
    // The INP is no TTFB's doing: it stays a finding of its own.
    expect(out.map((f) => `${f.kind} ${f.subject}`).sort()).toEqual([
      'slow-endpoint GET /products/:id',
      'web-vital /products/:id INP',
    ]);
    const cause = out.find((f) => f.kind === 'slow-endpoint');
    expect(cause?.evidence.symptoms?.map((x) => x.subject).sort()).toEqual([
      '/products/:id FCP',
      '/products/:id LCP',
      '/products/:id TTFB',
      '/products/:id page load',
    ]);
  });

  it('keeps a vital the TTFB does not explain apart from the route', async () => {
    const document = server({ id: 1, route: '/products/:id', startMs: 0, durationMs: 1100 });
    const pageLoad = span({
      id: 2,
      parent: 1,
      name: 'browser.page_load',
      startMs: -50,
      durationMs: 9000,
      attributes: { 'page.route': '/products/:id' },
    });
    const s = {
      ...snapshot({
        routes: [route({ route: '/products/:id', p95Seconds: 1.1, requestRate: 2 })],
        pages: [page({ p75: { ttfb: 1.1, lcp: 6 } })],
      }),
      traces: (await snapshotOf([trace(document, pageLoad)])).traces as TraceData,
    };
    const out = finished(correlate(detectAll(s, LIMITS), s), s);
    // 6 s − 1.1 s is still over 2.5 s: the LCP has a cause of its own.
    expect(out.map((f) => `${f.kind} ${f.subject}`).sort()).toEqual([
      'slow-endpoint GET /products/:id',
      'web-vital /products/:id LCP',
    ]);
  });

  it('lets an N+1 in the route that renders a page explain its TTFB, though the route is within its objective', async () => {
    // 150 ms of the document's 180 ms are 30 queries one after another: under the route objective, yet over
    // a slow network the page's TTFB is over its own.
    const document = server({ id: 1, route: '/authors/:id', startMs: 0, durationMs: 180 });
    const pageLoad = span({
      id: 2,
      parent: 1,
      name: 'browser.page_load',
      startMs: -600,
      durationMs: 2000,
      attributes: { 'page.route': '/authors/:id' },
    });
    const queries = Array.from({ length: 30 }, (_, i) =>
      query({
        id: 10 + i,
        parent: 1,
        startMs: 10 + i * 5,
        durationMs: 5,
        sql: 'SELECT * FROM reviews WHERE book_id = $1',
      }),
    );
    const t = trace(document, pageLoad, ...queries);
    const s = {
      ...snapshot({
        routes: [
          route({ route: '/authors/:id', p95Seconds: 0.19, baselineP95Seconds: 0.18, requestRate: 2 }),
        ],
        pages: [page({ page: '/authors/:id', p75: { ttfb: 0.95 } })],
      }),
      traces: (await snapshotOf([t, retrace(t, 2)])).traces as TraceData,
    };
    const out = finished(correlate(detectAll(s, LIMITS), s), s);
    expect(
      out.map((f) => `${f.kind} ${f.evidence.symptoms?.map((x) => `${x.kind} ${x.subject}`).join(', ')}`),
    ).toEqual(['n-plus-one web-vital /authors/:id TTFB']);
  });
});
