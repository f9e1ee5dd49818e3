/**
 * Every dashboard panel shows data: each Prometheus query of each panel (variables expanded as Grafana would)
 * returns series on the test Prometheus after real demo traffic, and each SQL query runs against the analyzer's
 * real schema (its migration applied to a fresh database) and returns the fixture findings. The Frontend panels
 * get theirs from real page views in headless Chromium. Panels whose data only k6 or the analyzer produce are
 * listed in DATA_NEEDS and skipped for Prometheus.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DATA_NEEDS, dashboards } from '../grafana/src/dashboards/index.ts';
import {
  interpolatePromql,
  interpolateSql,
  type PanelQuery,
  queriesOf,
  variablesOf,
} from '../grafana/src/dashboards/queries.ts';
import { DATASOURCE_UIDS } from '../grafana/src/datasources.ts';
import { type DemoProcess, REPO_ROOT } from '../scripts/lib/demo.ts';
import { withClient } from '../scripts/lib/postgres.ts';
import { launchChromium, viewPage } from './browser.ts';
import { drive, eventually, promQuery, startTestDemo } from './harness.ts';

const all = dashboards();
const queries = all.flatMap((d) => queriesOf(d.json));
const keyOf = (q: PanelQuery) => `${q.dashboardUid}/${q.panelTitle}`;
const name = (q: PanelQuery) => `${keyOf(q)} [${q.refId ?? '?'}]`;

const promTargets = queries.filter((q) => q.language === 'promql' && DATA_NEEDS[keyOf(q)] === undefined);
const sqlTargets = queries.filter((q) => q.language === 'sql');
const skipped = [
  ...new Set(queries.filter((q) => q.language === 'promql' && DATA_NEEDS[keyOf(q)] !== undefined).map(keyOf)),
];

/** What Grafana sends for the built-in intervals at a 1 s scrape interval and a 5 min range. */
const INTERVALS = { rateInterval: '1m', interval: '10s', range: '5m' } as const;

const regexEscape = (s: string) => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

describe('dashboard panels on real data', () => {
  beforeAll(() => {
    const lines = Object.entries(DATA_NEEDS).map(([key, need]) => `  ${need.padEnd(8)} ${key}`);
    console.log(
      `[dashboards] panels the demo does not feed (DATA_NEEDS), not queried on Prometheus (the analyzer ones run on fixture findings):\n${lines.join('\n')}`,
    );
  });

  it('leave most Prometheus panels to the demo and skip only the DATA_NEEDS ones', () => {
    expect(promTargets.length).toBeGreaterThan(30);
    for (const key of skipped) expect(['k6', 'browser', 'analyzer']).toContain(DATA_NEEDS[key]);
  });

  describe('Prometheus panels, after demo traffic', () => {
    let demo: DemoProcess;
    let browser: Browser;
    let running = true;
    let traffic: Promise<void> = Promise.resolve();
    const paths = [
      '/',
      '/api/products/1',
      '/api/products?limit=5',
      '/api/products/2/stock',
      '/api/customers/5/orders',
      '/api/categories/category-1/products',
      '/api/stats',
    ];
    const request = (i: number) =>
      i % 4 === 0
        ? fetch(`${demo.url}/api/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ customerId: 1 + (i % 50), productId: 2, quantity: 1 }),
          })
        : fetch(`${demo.url}${paths[i % paths.length]}`);

    beforeAll(async () => {
      // error-burst: 2 of 5 checkouts answer 502, so the 5xx panels have series too.
      [demo, browser] = await Promise.all([startTestDemo({ scenarios: ['error-burst'] }), launchChromium()]);
      await drive(40, 4, request);
      // A click, so the page has an interaction to report (INP).
      const view = () => viewPage(browser, `${demo.url}/`, { click: 'h2' });
      await Promise.all([view(), view()]);
      // Recorded rates look back one minute: keep traffic flowing while the queries are checked.
      traffic = (async () => {
        while (running) {
          await Promise.all([drive(12, 3, request), view()]);
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
    });
    afterAll(async () => {
      running = false;
      await traffic;
      await browser?.close();
      await demo?.stop();
    });

    it.each(promTargets.map((q) => [name(q), q] as const))('%s returns series for the demo', async (_, q) => {
      const expr = interpolatePromql(
        q.text,
        { service: regexEscape(demo.service), route: '.+', instance: '.+', page: '.+', testid: '.*' },
        INTERVALS,
      );
      await eventually(async () => {
        const result = await promQuery(expr);
        expect(result.length, expr).toBeGreaterThan(0);
      }, 30_000);
    });

    it('the Prometheus variables list the demo, its routes and its instance', async () => {
      const expected: Record<string, (values: string[]) => void> = {
        service: (values) => expect(values).toContain(demo.service),
        route: (values) =>
          expect(values).toEqual(expect.arrayContaining(['/api/products/:id', '/api/orders'])),
        instance: (values) => expect(values).toContain(demo.metricsAddress),
      };
      for (const d of all) {
        for (const v of variablesOf(d.json).values()) {
          const check = expected[String(v.name)];
          if (
            check === undefined ||
            (v.datasource as { uid?: string } | undefined)?.uid !== DATASOURCE_UIDS.prometheus
          ) {
            continue;
          }
          const match = /^label_values\((.+), (\w+)\)$/.exec(String(v.definition));
          if (match === null) throw new Error(`${d.uid}: ${String(v.definition)} is not label_values(…)`);
          const [, series = '', label = ''] = match;
          const selector = interpolatePromql(series, { service: regexEscape(demo.service) }, INTERVALS);
          await eventually(async () => {
            const result = await promQuery(`count by (${label}) (${selector})`);
            check(result.map((r) => r.metric[label] ?? ''));
          }, 30_000);
        }
      }
    });
  });

  describe('SQL panels, on the analyzer schema with two findings', () => {
    const database = `findings_${randomUUID().slice(0, 8)}`;
    const serverUrl = inject('postgresUrl');
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    const service = 'shop/demo-shop';
    const now = Date.now();
    const range = { from: new Date(now - 30 * 60_000), to: new Date(now + 60_000) };

    beforeAll(async () => {
      await withClient(serverUrl, (c) => c.query(`CREATE DATABASE "${database}"`));
      await withClient(url.toString(), async (c) => {
        await c.query(readFileSync(join(REPO_ROOT, 'analyzer', 'migrations', '001_findings.sql'), 'utf8'));
        await c.query(
          `INSERT INTO findings (id, kind, layer, service, subject, severity, impact, status, title, summary,
                                 recommendations, first_seen, last_seen)
           VALUES
             ('missing-index:shop/demo-shop:5f2c', 'missing-index', 'database', $1,
              'SELECT … FROM orders o JOIN products p … WHERE o.customer_id = $1', 'critical', 0.84, 'open',
              'Sequential scan of orders for every customer lookup', 'No index on orders(customer_id).',
              '[{"action": "CREATE INDEX CONCURRENTLY ON orders (customer_id)", "confidence": "high"}]',
              now() - interval '10 minutes', now()),
             ('heavy-asset:shop/demo-shop:/', 'heavy-asset', 'frontend', $1, '/', 'warning', 0.12, 'acknowledged',
              'Render-blocking 1.5 MB script on /', '/assets/vendor.js blocks rendering, uncompressed.',
              '["Add defer to /assets/vendor.js and serve it compressed"]',
              now() - interval '5 minutes', now())`,
          [service],
        );
        await c.query(
          `INSERT INTO finding_events (finding_id, at, from_status, to_status, actor, note)
           VALUES ('missing-index:shop/demo-shop:5f2c', now() - interval '10 minutes', NULL, 'open', 'analyzer', NULL),
                  ('heavy-asset:shop/demo-shop:/', now() - interval '5 minutes', NULL, 'open', 'analyzer', NULL),
                  ('heavy-asset:shop/demo-shop:/', now() - interval '2 minutes', 'open', 'acknowledged', 'sre', 'ticket WEB-12')`,
        );
      });
    });
    afterAll(() =>
      withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)),
    );

    const run = (sql: string) => withClient(url.toString(), (c) => c.query(sql));

    it.each(sqlTargets.map((q) => [name(q), q] as const))('%s runs and returns rows', async (_, q) => {
      // What Grafana sends with the service selected (its `regex` format escapes the value) and every layer.
      const sql = interpolateSql(q.text, { service: regexEscape(service), layer: '.+' }, range);
      const result = await run(sql);
      expect(result.rows.length, sql).toBeGreaterThan(0);
    });

    it('filter by the selected service', async () => {
      for (const q of sqlTargets) {
        const sql = interpolateSql(q.text, { service: 'another-service', layer: '.+' }, range);
        const rows = (await run(sql)).rows as Record<string, unknown>[];
        // A bare count still answers one row, with 0.
        const counted = rows.length === 1 && Object.values(rows[0] ?? {}).every((v) => v === '0' || v === 0);
        expect(rows.length === 0 || counted, name(q)).toBe(true);
      }
    });

    it('show the first recommended action, whether it is an object or plain text', async () => {
      const table = sqlTargets.find((q) => keyOf(q) === 'hotpath-bottlenecks/Open findings');
      if (table === undefined) throw new Error('no Open findings table on the Bottlenecks dashboard');
      const { rows } = await run(interpolateSql(table.text, { service: '.+', layer: '.+' }, range));
      expect(rows.map((r: Record<string, unknown>) => r['first action'])).toEqual([
        'CREATE INDEX CONCURRENTLY ON orders (customer_id)',
        'Add defer to /assets/vendor.js and serve it compressed',
      ]);
      const recommendations = sqlTargets.find((q) => keyOf(q) === 'hotpath-bottlenecks/Recommendations');
      if (recommendations === undefined) throw new Error('no Recommendations table');
      const result = await run(interpolateSql(recommendations.text, { service: '.+', layer: '.+' }, range));
      expect(result.rows.map((r: Record<string, unknown>) => r.action)).toEqual([
        'CREATE INDEX CONCURRENTLY ON orders (customer_id)',
        'Add defer to /assets/vendor.js and serve it compressed',
      ]);
    });

    it('the Bottlenecks service variable lists the services with findings', async () => {
      const variable = variablesOf(all.find((d) => d.uid === 'hotpath-bottlenecks')?.json ?? {}).get(
        'service',
      );
      const { rows } = await run(String(variable?.definition));
      expect(rows).toEqual([{ service }]);
    });
  });
});
