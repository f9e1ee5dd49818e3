/**
 * Trace analysis end to end: the demo (real SDK, real pg) exports its traces over OTLP/HTTP to the analyzer's
 * own receiver (the embedded trace source); `hotpath serve` analyzes them with the demo's metrics from the real
 * Prometheus. With `n-plus-one` on it must report the N+1 on the category route, with the repeated statement's
 * fingerprint and the demo's loop count; `parallelizable-queries` likewise on /api/stats; a healthy demo neither.
 */

import { fingerprint } from 'libpg-query';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiFinding,
  expectBatchedStatementsPlan,
  startTestAnalyzer,
  type TestAnalyzer,
} from './analyzer.ts';
import { drive, eventually, promQuery, scraped, shopDatabase, startTestDemo } from './harness.ts';

const CATEGORY = 'category-3';
/** The statement the demo's n-plus-one loop runs once per product of the category. */
const LOOP_STATEMENT =
  'SELECT count(*)::int AS orders, coalesce(sum(quantity), 0)::int AS units FROM orders, replica_round_trip($2) WHERE product_id = $1';

describe('trace analysis end to end (embedded trace source)', () => {
  let analyzer: TestAnalyzer;
  let databaseUrl: string;
  let productsInCategory: number;
  const outcomes: string[] = [];

  beforeAll(async () => {
    databaseUrl = await shopDatabase('traces');
    // Cycles only when asked for: each scenario triggers its own. The app database lets it plan the batched
    // statement it proposes.
    analyzer = await startTestAnalyzer({ HOTPATH_WINDOW: '2m', APP_DATABASE_URL: databaseUrl });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM products WHERE category = $1',
        [CATEGORY],
      );
      productsInCategory = rows[0]?.n ?? 0;
    } finally {
      await client.end();
    }
    expect(productsInCategory).toBeGreaterThanOrEqual(5);
  });
  afterAll(async () => {
    await analyzer?.stop();
    if (outcomes.length > 0) console.log(`[trace e2e] ${outcomes.join('; ')}`);
  });

  /** A demo with `scenarios` on, traffic on the two routes, one analysis; the trace findings for its service. */
  async function analyzeDemo(scenarios: string[]): Promise<ApiFinding[]> {
    const demo = await startTestDemo({ scenarios, databaseUrl, otlpEndpoint: analyzer.otlpUrl });
    try {
      await scraped(demo.service);
      // Two rounds a few seconds apart, so Prometheus sees the routes' counters move within the window.
      for (let round = 0; round < 2; round++) {
        await drive(12, 2, (i) =>
          fetch(i % 2 === 0 ? `${demo.url}/api/categories/${CATEGORY}/products` : `${demo.url}/api/stats`),
        );
        await new Promise((r) => setTimeout(r, 3000));
      }
      await eventually(async () => {
        const [rate] = await promQuery(
          `sum(rate(http_server_request_duration_seconds_count{job="${demo.service}"}[2m]))`,
        );
        expect(rate?.value ?? 0).toBeGreaterThan(0);
      }, 60_000);
      await analyzer.analyze('2m');
      const items = await analyzer.findings(
        demo.service,
        'kind=n-plus-one,parallelizable-queries&status=open',
      );
      return items;
    } finally {
      await demo.stop();
    }
  }

  it('reports the N+1 of the category route with the repeated statement and the loop’s count', async () => {
    const findings = await analyzeDemo(['n-plus-one']);
    const nPlusOne = findings.filter((f) => f.kind === 'n-plus-one');
    expect(nPlusOne).toHaveLength(1);
    const [f] = nPlusOne as [ApiFinding];
    expect(f.layer).toBe('database');
    // One finding per statement: the subject is its fingerprint, the routes it repeats in are listed.
    expect(f.subject).toBe(await fingerprint(LOOP_STATEMENT));
    expect(String(f.evidence.values.routes).split('\n')).toContain('GET /api/categories/:category/products');
    expect(f.evidence.values.fingerprint).toBe(await fingerprint(LOOP_STATEMENT));
    expect(f.evidence.values.count_per_request_median).toBe(productsInCategory);
    expect(f.evidence.traceIds?.length ?? 0).toBeGreaterThan(0);
    expect(f.evidence.queries.some((q) => q.language === 'traceql')).toBe(true);
    expect(f.recommendations[0]?.artifact).toMatch(/= ANY\(\$1/);
    expect(await expectBatchedStatementsPlan(findings, databaseUrl)).toBe(1);
    expect(findings.filter((x) => x.kind === 'parallelizable-queries')).toEqual([]);
    outcomes.push(
      `n-plus-one: ${f.evidence.values.count_per_request_median} × ${f.evidence.values.statement}`,
    );
  }, 180_000);

  it('reports the sequential statements of /api/stats as parallelizable', async () => {
    const findings = await analyzeDemo(['parallelizable-queries']);
    const parallel = findings.filter((f) => f.kind === 'parallelizable-queries');
    expect(parallel).toHaveLength(1);
    const [f] = parallel as [ApiFinding];
    expect(f.subject).toBe('GET /api/stats');
    // The five report statements; a busy machine sometimes delays one past the 20 ms gap, cutting a run short.
    expect(String(f.evidence.values.statements).split('\n')).toHaveLength(5);
    expect(Number(f.evidence.values.calls_per_run_median)).toBeGreaterThanOrEqual(4);
    expect(Number(f.evidence.values.saved_ms_mean)).toBeGreaterThanOrEqual(100);
    expect(f.recommendations[0]?.artifact).toMatch(/Promise\.all/);
    expect(findings.filter((x) => x.kind === 'n-plus-one')).toEqual([]);
    outcomes.push(`parallelizable: ${f.evidence.values.saved_ms_mean} ms saved per request`);
  }, 180_000);

  it('reports neither for a healthy demo', async () => {
    const findings = await analyzeDemo([]);
    expect(findings.map((f) => `${f.kind} ${f.subject}`)).toEqual([]);
    outcomes.push('healthy: no trace finding');
  }, 180_000);
});
