/**
 * One finding per root cause, end to end, on two app shapes: the demo (Express + raw pg) and the bookshop
 * (test/apps/bookshop: knex with its own pool beside a raw pg.Pool, eager loading, Promise.all fan-out), each with
 * several faults on at once under mixed traffic over every route. `hotpath serve` reads their metrics (real
 * Prometheus), traces (embedded receiver, real SDK) and pg_stat_statements. Each fault's cause must be reported
 * with its exact subject, and symptoms (the routes a blocked loop or a saturated pool delayed) must be evidence
 * of their cause, not findings of their own. Precision and recall against the ground truth below are printed; a
 * run fails under the floors stated here, so it can print less than 100 %. Healthy, both apps give no finding.
 */
import { fingerprint } from 'libpg-query';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { withClient } from '../scripts/lib/postgres.ts';
import { startTraffic } from '../scripts/lib/traffic.ts';
import {
  type ApiFinding,
  expectBatchedStatementsPlan,
  type Score,
  score,
  sqlPanelRows,
  startTestAnalyzer,
  type TestAnalyzer,
  type Truth,
} from './analyzer.ts';
import type { Fault } from './apps/bookshop/config.ts';
import { startBookshop } from './apps/bookshop/start.ts';
import { driveBookshop } from './apps/bookshop/traffic.ts';
import {
  drive,
  emptyDatabase,
  promQuery,
  scraped,
  shopDatabase,
  startTestDemo,
  uniqueService,
} from './harness.ts';

/** The demo's n-plus-one loop statement (demo/src/app.ts). */
const DEMO_LOOP =
  'SELECT count(*)::int AS orders, coalesce(sum(quantity), 0)::int AS units FROM orders, replica_round_trip($2) WHERE product_id = $1';
/** The bookshop's eager loader, once per book with the fault on, as knex hands it to pg. */
const BOOKSHOP_EAGER_LOAD = 'select "reviews".* from "reviews" where "reviews"."book_id" in ($1)';

const routesOf = (f: ApiFinding) => String(f.evidence.values.routes ?? '').split('\n');

/** Ground truth per app: for each fault on, the cause finding that must be reported. */
async function demoTruth(): Promise<Truth[]> {
  const loop = await fingerprint(DEMO_LOOP);
  return [
    {
      fault: 'n-plus-one',
      kinds: ['n-plus-one'],
      matches: (f) => f.subject === loop && routesOf(f).includes('GET /api/categories/:category/products'),
    },
    {
      // The advisor's index, verified with HypoPG, led by the column the fault dropped; the slow statement is
      // its evidence.
      fault: 'missing-index',
      kinds: ['missing-index'],
      matches: (f) =>
        f.subject.startsWith('public.orders (customer_id') &&
        f.evidence.values.verified === 'true' &&
        String(f.evidence.values.ddl).startsWith('CREATE INDEX CONCURRENTLY ON public.orders (customer_id'),
    },
    {
      fault: 'event-loop-block',
      kinds: ['event-loop-lag'],
      matches: (f) => f.evidence.values['blocking.route'] === 'POST /api/orders',
    },
    {
      fault: 'pool-exhaustion',
      kinds: ['pool-saturation'],
      matches: (f) => f.evidence.values.top_holder === 'GET /api/products/:id/stock',
    },
  ];
}

async function bookshopTruth(): Promise<Truth[]> {
  const eager = await fingerprint(BOOKSHOP_EAGER_LOAD);
  return [
    {
      fault: 'eager-n-plus-one',
      kinds: ['n-plus-one'],
      matches: (f) => f.subject === eager && routesOf(f).includes('GET /authors/:id/books'),
    },
    {
      // The pool finding naming the report as the holder; or what the report spends its held connection on
      // (its slow statement), with the pool's saturation as its symptom.
      fault: 'slow-report',
      kinds: ['pool-saturation', 'slow-statement'],
      matches: (f) =>
        f.kind === 'pool-saturation'
          ? f.evidence.values.top_holder === 'GET /reports/sales'
          : routesOf(f).includes('GET /reports/sales') &&
            (f.evidence.symptoms ?? []).some((x) => x.kind === 'pool-saturation'),
    },
    {
      fault: 'sync-pricing',
      kinds: ['event-loop-lag'],
      matches: (f) => f.evidence.values['blocking.route'] === 'POST /checkout',
    },
    {
      // A second route holding the same loop with work of its own: a finding of its own, not the checkout's
      // victim, nor its co-defendant in one finding.
      fault: 'sync-feed-compression',
      kinds: ['event-loop-lag'],
      matches: (f) => f.evidence.values['blocking.route'] === 'GET /feeds/catalog',
    },
  ];
}

/**
 * Floors, not targets: a run below them fails. Before 2026-12-07 they were 30 % and 60 %, and they let the demo
 * pass at precision 38 % and recall 75 % in most runs: the blocked loop missed its sustained rule and its five
 * victims stood as slow endpoints (README "One finding per root cause" has the table). Since the loop is also
 * judged on each stretch's longest delay, every run measured (local and CI) was 100 % and 100 %. With four
 * causes per app, 75 % tolerates one cause missed or one finding too many, and fails the failure mode that went
 * unnoticed.
 */
const MIN_PRECISION = 0.75;
const MIN_RECALL = 0.75;

const analyzers: TestAnalyzer[] = [];
afterEach(async () => {
  await Promise.all(analyzers.splice(0).map((a) => a.stop()));
});

/** An empty database for the bookshop (it seeds itself), with pg_stat_statements as the analyzer needs it. */
async function bookshopDatabase(): Promise<string> {
  const url = await emptyDatabase('bookshop');
  await withClient(url, (c) =>
    c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE EXTENSION IF NOT EXISTS hypopg'),
  );
  return url;
}

async function analyzerFor(appDatabaseUrl: string, service: string): Promise<TestAnalyzer> {
  const analyzer = await startTestAnalyzer({
    APP_DATABASE_URL: appDatabaseUrl,
    HOTPATH_DATABASE_SERVICE: service,
  });
  analyzers.push(analyzer);
  return analyzer;
}

function report(app: string, faults: readonly string[], s: Score, findings: readonly ApiFinding[]): void {
  console.log(
    `[root causes] ${app}, ${faults.join(' + ') || 'healthy'}: precision ${(s.precision * 100).toFixed(0)} %, ` +
      `recall ${(s.recall * 100).toFixed(0)} % (${findings.length} findings)\n${s.table.join('\n')}`,
  );
  // With no fault on, any finding is a false one: its values, so a rare one can be diagnosed from the CI log.
  if (faults.length === 0)
    for (const f of findings)
      console.log(
        `[root causes] ${app} false finding ${f.kind} ${f.subject}: ${JSON.stringify(f.evidence.values)}`,
      );
}

/** Each symptom absorbed into a cause, and never also reported as a finding of its own. */
function expectSymptomsOnlyAsEvidence(findings: readonly ApiFinding[]): void {
  const symptoms = findings.flatMap((f) => f.evidence.symptoms ?? []);
  expect(symptoms.length).toBeGreaterThan(0);
  const reported = new Set(findings.map((f) => `${f.kind} ${f.subject}`));
  expect(symptoms.map((s) => `${s.kind} ${s.subject}`).filter((s) => reported.has(s))).toEqual([]);
}

/**
 * Some finding on the blocking work (the blocked loop, the CPU, or the slow route whose time is its own code)
 * names the function from the app's wall profiles, with the synchronous API it called, and the advice swaps
 * that API for its asynchronous form.
 */
function expectHotCode(
  findings: readonly ApiFinding[],
  callee: string,
  location: RegExp,
  advice: string,
): void {
  const named = findings.filter((f) => f.evidence.values['hot_code.callee'] === callee);
  console.log(
    `[root causes] hot code: ${JSON.stringify(
      findings
        .filter((f) => f.evidence.values['hot_code.function'] !== undefined)
        .map(
          (f) =>
            `${f.kind} ${f.subject}: ${f.evidence.values['hot_code.function']} (${f.evidence.values['hot_code.location']}) → ${f.evidence.values['hot_code.callee']}`,
        ),
    )}`,
  );
  expect(named.length).toBeGreaterThan(0);
  for (const f of named) {
    expect(String(f.evidence.values['hot_code.location'])).toMatch(location);
    expect(f.recommendations[0]?.action).toContain(advice);
  }
}

describe('root causes under mixed traffic with several faults on', () => {
  it('demo: reports each cause with its exact subject, and no symptom on its own', async () => {
    const truth = await demoTruth();
    const faults = truth.map((t) => t.fault);
    const name = uniqueService('mixed');
    const databaseUrl = await shopDatabase('mixed');
    const analyzer = await analyzerFor(databaseUrl, name);
    const demo = await startTestDemo({
      scenarios: faults,
      databaseUrl,
      service: name,
      otlpEndpoint: analyzer.otlpUrl,
      profilesEndpoint: analyzer.otlpUrl,
    });
    let findings: ApiFinding[];
    try {
      await scraped(demo.service);
      const traffic = startTraffic({ url: demo.url, rate: 20, connections: 8, duration: 75 });
      // A hot product page on top (its stock is checked by many users at once): the route that holds pooled
      // connections needs concurrent callers to exhaust the pool, as in production.
      await new Promise((r) => setTimeout(r, 20_000));
      await drive(400, 25, (i) => fetch(`${demo.url}/api/products/${1 + (i % 50)}/stock`));
      await traffic.done;
      await analyzer.analyze('1m');
      findings = await analyzer.findings(demo.service, 'status=open');
    } finally {
      await demo.stop();
    }
    const s = score(findings, truth);
    report('demo', faults, s, findings);
    expectSymptomsOnlyAsEvidence(findings);
    // The demo's wall profiles, pushed to the analyzer's receiver, name the checkout's synchronous PBKDF2.
    expectHotCode(findings, 'crypto.pbkdf2Sync', /demo\/src\/app\.ts:\d+$/, 'crypto.pbkdf2 with a callback');
    expect(await expectBatchedStatementsPlan(findings, databaseUrl)).toBeGreaterThan(0);
    // The dashboards' SQL panels, on the rows this analysis wrote.
    const panels = await sqlPanelRows(analyzer.storeUrl, demo.service);
    console.log(`[root causes] SQL panels on the analyzer's rows: ${JSON.stringify(panels)}`);
    expect(Object.keys(panels).length).toBeGreaterThan(0);
    // Every panel shows these rows, but the Frontend dashboard's: this run has no frontend finding to show.
    const frontend = findings.some((f) => f.layer === 'frontend');
    const empty = Object.entries(panels).filter(
      ([key, rows]) => (rows === 0) !== (key.startsWith('hotpath-frontend/') && !frontend),
    );
    expect(empty).toEqual([]);
    expect(s.precision).toBeGreaterThanOrEqual(MIN_PRECISION);
    expect(s.recall).toBeGreaterThanOrEqual(MIN_RECALL);
  }, 240_000);

  it('bookshop (knex + pg.Pool): reports each cause with its exact subject, and no symptom on its own', async () => {
    const truth = await bookshopTruth();
    const faults = truth.map((t) => t.fault as Fault);
    const name = uniqueService('bookshop-mixed');
    const databaseUrl = await bookshopDatabase();
    const analyzer = await analyzerFor(databaseUrl, name);
    const shop = await startBookshop({
      databaseUrl,
      service: name,
      faults,
      otlpEndpoint: analyzer.otlpUrl,
      profilesEndpoint: analyzer.otlpUrl,
      scrapeTargetsDir: inject('prometheusTargetsDir'),
    });
    let findings: ApiFinding[];
    try {
      await scraped(shop.service);
      const traffic = driveBookshop(shop.url, { durationMs: 75_000, connections: 8, rate: 30 });
      // The sales dashboard open on several screens at once, refreshing: concurrent reports on top.
      await new Promise((r) => setTimeout(r, 20_000));
      await drive(60, 6, () => fetch(`${shop.url}/reports/sales`));
      const result = await traffic;
      expect(result.errors).toBe(0);
      const loop = `nodejs_eventloop_delay_p99_seconds{job="${name}"}[1m:5s]`;
      const [median] = await promQuery(`max(quantile_over_time(0.5, ${loop}))`);
      const [peak] = await promQuery(`max(max_over_time(${loop}))`);
      console.log(
        `[root causes] bookshop event-loop p99 over the window: median ${median?.value?.toFixed(3)} s, max ${peak?.value?.toFixed(3)} s; traffic ${JSON.stringify(result.byRoute)}`,
      );
      await analyzer.analyze('1m');
      findings = await analyzer.findings(shop.service, 'status=open');
    } finally {
      await shop.stop();
    }
    const s = score(findings, truth);
    report('bookshop', faults, s, findings);
    expectSymptomsOnlyAsEvidence(findings);
    // Another app, other APIs: the price signer derives its key with scrypt on every checkout, and the feed
    // compresses each page with Brotli on the loop. Each loop finding names its own route's function.
    expectHotCode(
      findings,
      'crypto.scryptSync',
      /test\/apps\/bookshop\/pricing\.ts:\d+$/,
      'crypto.scrypt with a callback',
    );
    expectHotCode(findings, 'zlib.*Sync', /test\/apps\/bookshop\/feed\.ts:\d+$/, 'zlib.brotliCompress');
    const holders = findings
      .filter((f) => f.kind === 'event-loop-lag')
      .map((f) => [f.evidence.values['blocking.route'], f.evidence.values['hot_code.location']]);
    for (const [route, file] of [
      ['POST /checkout', 'pricing.ts'],
      ['GET /feeds/catalog', 'feed.ts'],
    ]) {
      expect(holders.find(([r]) => r === route)?.[1], route).toContain(file);
    }
    expect(await expectBatchedStatementsPlan(findings, databaseUrl)).toBeGreaterThan(0);
    expect(s.precision).toBeGreaterThanOrEqual(MIN_PRECISION);
    expect(s.recall).toBeGreaterThanOrEqual(MIN_RECALL);
  }, 240_000);

  // Both healthy apps at once, each with its own analyzer and the traffic of one: 3 minutes for the two.
  it('healthy demo and healthy bookshop, side by side, 3 minutes of mixed traffic over every route: no finding', async () => {
    const healthyDemo = async () => {
      const name = uniqueService('healthy-demo');
      const databaseUrl = await shopDatabase('healthy');
      const analyzer = await analyzerFor(databaseUrl, name);
      // Profiled as the faulty runs are: the profiler's own cost must not make a finding either.
      const demo = await startTestDemo({
        databaseUrl,
        service: name,
        otlpEndpoint: analyzer.otlpUrl,
        profilesEndpoint: analyzer.otlpUrl,
      });
      try {
        await scraped(demo.service);
        await startTraffic({ url: demo.url, rate: 15, connections: 6, duration: 180 }).done;
        await analyzer.analyze('3m');
        const findings = await analyzer.findings(demo.service);
        report('demo', [], score(findings, []), findings);
        return findings;
      } finally {
        await demo.stop();
      }
    };
    const healthyBookshop = async () => {
      const name = uniqueService('healthy-bookshop');
      const databaseUrl = await bookshopDatabase();
      const analyzer = await analyzerFor(databaseUrl, name);
      const shop = await startBookshop({
        databaseUrl,
        service: name,
        otlpEndpoint: analyzer.otlpUrl,
        profilesEndpoint: analyzer.otlpUrl,
        scrapeTargetsDir: inject('prometheusTargetsDir'),
      });
      try {
        await scraped(shop.service);
        const traffic = await driveBookshop(shop.url, { durationMs: 180_000, connections: 6, rate: 15 });
        expect(traffic.errors).toBe(0);
        await analyzer.analyze('3m');
        const findings = await analyzer.findings(shop.service);
        report('bookshop', [], score(findings, []), findings);
        return findings;
      } finally {
        await shop.stop();
      }
    };
    const [demo, bookshop] = await Promise.all([healthyDemo(), healthyBookshop()]);
    const listed = (findings: readonly ApiFinding[]) =>
      findings.map((f) => `${f.kind} ${f.subject}: ${f.title}`);
    expect({ demo: listed(demo), bookshop: listed(bookshop) }).toEqual({ demo: [], bookshop: [] });
  }, 360_000);
});
