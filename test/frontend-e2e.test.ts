/**
 * The frontend layer end to end, with real browsers: headless Chromium (Debian's) views the demo shop's page
 * over Lighthouse's Slow 4G, the page's own @hotpath/instrumentation/browser entry beacons its measurements to
 * the shop's collection endpoint, the test Prometheus scrapes them from the shop, and `hotpath serve` judges
 * them. One demo per case, so each service's series are its own:
 * - healthy: the browser metrics arrive with the catalogued names and labels, and nothing is reported;
 * - heavy-asset: one finding, the asset by its URL, render-blocking and uncompressed, with defer and compression;
 * - slow-lcp: one finding, the LCP of `/`, naming the element and the part of the LCP that holds the time; the
 *   page-load and LCP alert rules fire on these timings (and stay quiet for the healthy page);
 * - the bookshop (test/apps/bookshop) with two faults under mixed traffic over every route: a server-rendered
 *   page whose TTFB is slow because of its route is evidence of the route's finding, not a finding of its own.
 * Exact subjects, one finding per cause: a symptom reported beside its cause (the FCP, the page load, the
 * asset route) fails the test.
 */
import { alertRules } from '@hotpath/grafana';
import { METRICS, prometheusName, prometheusSeries } from '@hotpath/instrumentation';
import { fingerprint } from 'libpg-query';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DemoProcess } from '../scripts/lib/demo.ts';
import { expectFires, firing } from './alert-rules.ts';
import { type ApiFinding, startTestAnalyzer, type TestAnalyzer } from './analyzer.ts';
import { type BookshopProcess, startBookshop } from './apps/bookshop/start.ts';
import { driveBookshop } from './apps/bookshop/traffic.ts';
import { launchChromium, SLOW_4G, viewPage } from './browser.ts';
import {
  drive,
  emptyDatabase,
  eventually,
  promQuery,
  scraped,
  startTestDemo,
  uniqueService,
} from './harness.ts';

/** Views per case: enough for a p75 and for the page to count (slo.yaml min_request_rate_per_s over 2 min). */
const VIEWS = 8;
/**
 * Views at once: two. More, on the 2-core CI machine, and the browsers' rendering starves the shop's process of
 * CPU: its event loop is measured late, which is the machine, not the shop.
 */
const CONCURRENT = 2;
const WINDOW = '2m';
/** The page-load and LCP rules of the default objective (the ones alerts-eval feeds synthetic timings). */
/** The bookshop's eager loader, once per book with `eager-n-plus-one` on, as knex hands it to pg. */
const EAGER_LOAD = 'select "reviews".* from "reviews" where "reviews"."book_id" in ($1)';
const BROWSER_RULES = alertRules().filter(
  (r) => 'synthetic' in r.firesWith && r.firesWith.synthetic === 'browser' && r.uid.endsWith('-default'),
);

let browser: Browser;
let analyzer: TestAnalyzer;
const apps: (DemoProcess | BookshopProcess)[] = [];

beforeAll(async () => {
  [browser, analyzer] = await Promise.all([launchChromium(), startTestAnalyzer()]);
});
afterAll(async () => {
  await browser?.close();
  await analyzer?.stop();
  await Promise.all(apps.map((d) => d.stop()));
});

/** A demo with `scenarios` on, warmed up, then viewed VIEWS times. */
async function viewedDemo(scenarios: string[]): Promise<DemoProcess> {
  const demo = await startTestDemo({ scenarios, otlpEndpoint: analyzer.otlpUrl });
  apps.push(demo);
  await scraped(demo.service);
  // A shop that has been serving for a while: its pool connected and its plans cached. Without it, the few API
  // calls of a handful of views are mostly a cold start (a new connection each, on a fresh database copy), and a
  // p95 over ten requests is that cold start.
  await drive(2000, 4, () => fetch(`${demo.url}/api/products?limit=12`));
  await view(demo, () => '/');
  return demo;
}

/**
 * Views of `app` (page `path(i)` for the i-th) in Chromium over Slow 4G: one that creates the series, then
 * VIEWS counted ones, CONCURRENT at a time; resolves once Prometheus holds every view's TTFB and the endpoint
 * refused no beacon.
 */
async function view(app: { url: string; service: string }, path: (i: number) => string): Promise<void> {
  // Prometheus sees the views after its first scrape of them (a counter's increments before a series' first
  // sample are not in its rate), so the counted views come after it.
  const ttfbViews = async () =>
    (
      await promQuery(`sum(${prometheusSeries(METRICS.browserWebVitalTtfb, 'count')}{job="${app.service}"})`)
    )[0]?.value ?? 0;
  await viewPage(browser, `${app.url}${path(0)}`, { network: SLOW_4G });
  await eventually(async () => {
    if ((await ttfbViews()) < 1) throw new Error('the first view is not scraped yet');
  }, 30_000);
  for (let done = 0; done < VIEWS; done += CONCURRENT) {
    await Promise.all(
      Array.from({ length: CONCURRENT }, (_, k) =>
        viewPage(browser, `${app.url}${path(done + k + 1)}`, { network: SLOW_4G, click: 'h2' }),
      ),
    );
  }
  await eventually(async () => {
    const views = await ttfbViews();
    if (views < VIEWS + 1) throw new Error(`${views} views scraped so far`);
  }, 30_000);
  const rejected = await promQuery(
    `sum(${prometheusName(METRICS.hotpathBrowserPayloadsRejected)}{job="${app.service}"})`,
  );
  expect(rejected[0]?.value ?? 0).toBe(0);
}

async function findingsOf(app: { service: string }, window = WINDOW): Promise<ApiFinding[]> {
  await analyzer.analyze(window);
  const found = await analyzer.findings(app.service);
  console.log(
    `[frontend] ${app.service}: ${found.length} finding(s)\n${found
      .map(
        (f) =>
          `  ${f.kind} ${f.subject}: ${f.title}\n    absorbs ${JSON.stringify(f.evidence.symptoms?.map((s) => `${s.kind} ${s.subject}`) ?? [])}\n    first action: ${f.recommendations[0]?.action}
    ${JSON.stringify(f.evidence.values)}`,
      )
      .join('\n')}`,
  );
  return found;
}

describe('the frontend in real browsers', () => {
  it('healthy: browser metrics arrive in Prometheus by page, element and asset, and nothing is reported', async () => {
    const demo = await viewedDemo([]);
    const job = `job="${demo.service}"`;
    const labels = async (expr: string) => (await promQuery(expr)).map((s) => s.metric);
    for (const spec of [
      METRICS.browserWebVitalLcp,
      METRICS.browserWebVitalFcp,
      METRICS.browserWebVitalTtfb,
      METRICS.browserWebVitalCls,
      METRICS.browserWebVitalInp,
      METRICS.browserPageLoadDuration,
    ]) {
      const [count] = await promQuery(`sum by (page_route) (${prometheusSeries(spec, 'count')}{${job}})`);
      expect(count?.metric, spec.name).toEqual({ page_route: '/' });
      expect(count?.value, spec.name).toBeGreaterThanOrEqual(VIEWS);
    }
    // The LCP element is the hero image, by its selector and its resource's template.
    expect(
      await labels(
        `sum by (browser_web_vital_element, url_template) (${prometheusSeries(METRICS.browserWebVitalLcp, 'count')}{${job}})`,
      ),
    ).toEqual([{ browser_web_vital_element: '#hero', url_template: '/assets/hero.svg' }]);
    // Every asset of the page, none of its API calls and none of the beacons.
    const assets = await labels(
      `sum by (url_template, browser_resource_initiator_type, browser_resource_render_blocking) (${prometheusSeries(METRICS.browserResourceEncodedSize, 'count')}{${job}})`,
    );
    expect(assets.map((a) => a.url_template).sort()).toEqual([
      '/assets/app.js',
      '/assets/hero.svg',
      '/assets/hotpath.js',
    ]);
    expect(assets.find((a) => a.url_template === '/assets/app.js')).toMatchObject({
      browser_resource_initiator_type: 'script',
      browser_resource_render_blocking: 'non-blocking',
    });
    expect(await findingsOf(demo)).toEqual([]);
    for (const rule of BROWSER_RULES) expect(await firing(rule, demo.service), rule.uid).toEqual([]);
  });

  it('heavy-asset: one finding, the render-blocking uncompressed bundle by its URL, with defer and compression', async () => {
    const demo = await viewedDemo(['heavy-asset']);
    const found = await findingsOf(demo);
    expect(found.map((f) => `${f.kind} ${f.subject}`)).toEqual(['heavy-asset /assets/vendor.js']);
    const [asset] = found;
    expect(asset?.evidence.values).toMatchObject({ problems: 'render-blocking\nuncompressed', pages: '/' });
    expect(asset?.recommendations.map((r) => r.artifact)).toContain(
      '<script src="/assets/vendor.js" defer></script>',
    );
    expect(asset?.recommendations.some((r) => /compressed \(Content-Encoding/.test(r.action))).toBe(true);
    // The page's FCP and LCP wait for it: its symptoms, not findings of their own.
    expect(asset?.evidence.symptoms?.map((s) => s.subject)).toEqual(
      expect.arrayContaining(['/ FCP', '/ LCP']),
    );
  });

  it('slow-lcp: one finding, the LCP of / naming the hero image and the resource load that holds it', async () => {
    const demo = await viewedDemo(['slow-lcp']);
    const found = await findingsOf(demo);
    expect(found.map((f) => `${f.kind} ${f.subject}`)).toEqual(['web-vital / LCP']);
    const [lcp] = found;
    expect(lcp?.evidence.values).toMatchObject({
      element: '#hero',
      resource_url: '/assets/hero.svg',
      largest_phase: 'resource_load_duration',
    });
    expect(Number(lcp?.evidence.values.p75)).toBeGreaterThan(2.5);
    // The route that serves the image is slow because of the fault: named in the LCP's advice, not beside it.
    expect(lcp?.evidence.symptoms?.map((x) => `${x.kind} ${x.subject}`)).toContain(
      'slow-endpoint GET /assets/:name',
    );
    expect(lcp?.evidence.values.served_by).toBe('GET /assets/:name');
    expect(lcp?.recommendations[0]?.action).toMatch(
      /^Make GET \/assets\/:name answer sooner: it serves the LCP element #hero/,
    );
    // The page-load and LCP alert rules fire on these real browsers' timings, for this page.
    expect(BROWSER_RULES.map((r) => r.uid).sort()).toEqual([
      'hp-lcp-p75-default',
      'hp-page-load-p75-default',
    ]);
    for (const rule of BROWSER_RULES) {
      const series = await expectFires(rule, demo.service);
      expect(series.map((x) => x.metric.page_route)).toEqual(['/']);
    }
  });

  it('slow TTFB, with other faults on: one finding, the route that renders the page, with the page in its evidence', async () => {
    // The bookshop (knex, eager loading, fan-out to a carrier's API) under mixed traffic over every route with
    // two faults on, while readers open books' delivery pages: the server renders each from sixteen carrier
    // quotes, asked one after another.
    const shop = await startBookshop({
      databaseUrl: await emptyDatabase('bookshop'),
      service: uniqueService('frontend-bookshop'),
      faults: ['sequential-carrier-calls', 'eager-n-plus-one'],
      otlpEndpoint: analyzer.otlpUrl,
      scrapeTargetsDir: inject('prometheusTargetsDir'),
    });
    apps.push(shop);
    await scraped(shop.service);
    // A shop that has been serving for a while, as for the demo's cases: every route once warm (pools
    // connected, plans and the page cache filled), and the window judged from after that. Its first requests
    // on a fresh database are a cold start, and a quiet route's p95 over two dozen requests can be one.
    await driveBookshop(shop.url, { durationMs: 4_000, connections: 2, rate: 10 });
    const since = Date.now();
    // About as long as the views take (~45 s), so the case does not wait for traffic after them.
    const traffic = driveBookshop(shop.url, { durationMs: 50_000, connections: 4, rate: 12 });
    await view(shop, (i) => `/books/${1 + i}/delivery`);
    expect((await traffic).errors).toBe(0);
    // The window from `since` on: the API takes whole minutes, so wait for the minute to be full.
    await new Promise((r) => setTimeout(r, Math.max(0, since + 60_000 - Date.now())));
    const found = await findingsOf(shop, '1m');
    expect(found.map((f) => `${f.kind} ${f.subject}`).sort()).toEqual([
      `n-plus-one ${await fingerprint(EAGER_LOAD)}`,
      'slow-endpoint GET /books/:id/delivery',
    ]);
    const route = found.find((f) => f.kind === 'slow-endpoint');
    // The page's slow first byte is the route's doing: its evidence, not a finding of its own.
    expect(route?.evidence.symptoms?.map((x) => `${x.kind} ${x.subject}`)).toContain(
      'web-vital /books/:id/delivery TTFB',
    );
    // And the route's traces say where its time goes: the carrier's API.
    expect(Number(route?.evidence.values['breakdown.http_share'])).toBeGreaterThan(0.5);
  });
});
