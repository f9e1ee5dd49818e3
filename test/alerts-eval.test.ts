/**
 * Every generated alert rule, evaluated on the real test Prometheus (its query, then its threshold on the last
 * value — exactly the A → B → C chain Grafana runs; `for:` durations are not waited out): it fires while the
 * matching demo scenario is on, and stays quiet for a demo that runs healthy traffic only.
 *
 * Sources the harness cannot produce from the demo are fed as close to reality as it can: browser metrics and
 * the collector's self-metrics through the real OpenTelemetry SDK and the pull-mode naming path (synthetic
 * values), Prometheus ingestion errors by sending it a malformed remote write, findings by rows in a database
 * migrated with the analyzer's schema.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AlertRuleSpec, alertRules } from '@hotpath/grafana';
import { catalogueViews, METRICS, PROMETHEUS_SERIES } from '@hotpath/instrumentation';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAnalyzer } from '../scripts/lib/analyzer.ts';
import type { DemoProcess } from '../scripts/lib/demo.ts';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import { freePort } from '../scripts/lib/process.ts';
import { addScrapeTarget } from '../scripts/lib/prometheus.ts';
import { startTraffic, type Traffic } from '../scripts/lib/traffic.ts';
import { expectFires, firing } from './alert-rules.ts';
import {
  drive,
  emptyDatabase,
  eventually,
  promQuery,
  shopDatabase,
  startTestDemo,
  uniqueService,
} from './harness.ts';

const rules = alertRules();
const byScenario = (scenario: string) =>
  rules.filter((r) => 'scenario' in r.firesWith && r.firesWith.scenario === scenario);
const bySynthetic = (kind: string) =>
  rules.filter((r) => 'synthetic' in r.firesWith && r.firesWith.synthetic === kind);

const checkout = (demo: DemoProcess) => () =>
  fetch(`${demo.url}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId: 7, productId: 8 }),
  });

/** A loop of requests in the background until stopped. */
function background(concurrency: number, request: (i: number) => Promise<Response>): () => Promise<void> {
  let running = true;
  let n = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        await (await request(n++)).arrayBuffer();
      } catch {
        // the demo may be restarting a scenario hook; keep going
      }
    }
  });
  return async () => {
    running = false;
    await Promise.all(workers);
  };
}

describe('alert rules on the real Prometheus', () => {
  let scenarios: DemoProcess;
  let healthy: DemoProcess;
  let healthyTraffic: Traffic;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    [scenarios, healthy] = await Promise.all([startTestDemo(), startTestDemo()]);
    healthyTraffic = startTraffic({ url: healthy.url, rate: 8, connections: 2 });
  });
  afterAll(async () => {
    await Promise.all(stops.map((stop) => stop()));
    healthyTraffic?.stop();
    await Promise.all([scenarios?.stop(), healthy?.stop()]);
  });

  it('covers every rule: each fires with a demo scenario or a named synthetic source', () => {
    expect(rules.length).toBeGreaterThan(10);
    for (const rule of rules) expect(rule.firesWith, rule.uid).toBeDefined();
  });

  it('healthy traffic: no demo-scenario rule fires', async () => {
    // Judged before any scenario load starts (on two cores the scenario demo's CPU-bound load would slow the
    // healthy one too, and the SLOs would rightly say so), and after warm-up: ~70 s of traffic at 8 requests/s
    // puts the cold start (first queries on a fresh database copy, JIT) outside the rules' 1 minute windows.
    await eventually(
      async () => {
        const [completed] = await promQuery(
          `sum(http_server_request_duration_seconds_count{job="${healthy.service}"})`,
        );
        expect(completed?.value ?? 0).toBeGreaterThan(560);
      },
      120_000,
      1000,
    );
    for (const rule of rules.filter((r) => 'scenario' in r.firesWith)) {
      const fired = await firing(rule, healthy.service);
      expect(fired, `${rule.uid}: ${JSON.stringify(fired)}`).toEqual([]);
    }
    healthyTraffic.stop();
  });

  it('starts the slow scenarios: leaks and CPU saturation need a minute of data behind their windows', async () => {
    await scenarios.setScenarios(['memory-leak', 'slow-endpoint']);
    stops.push(background(1, (i) => fetch(`${scenarios.url}/api/products/${1 + (i % 1000)}`)));
    // Three at a time, so the single JavaScript thread never idles while one of them waits for PostgreSQL.
    stops.push(
      background(3, (i) => fetch(`${scenarios.url}/api/products/${1 + (i % 1000)}/recommendations`)),
    );
    await eventually(async () => {
      const [up] = await promQuery(
        `sum(rate(http_server_request_duration_seconds_count{job="${scenarios.service}"}[10s]))`,
      );
      expect(up?.value ?? 0).toBeGreaterThan(1);
    });
  });

  // error-burst: the burn-rate rules are evaluated by Prometheus itself, for: waited out and delivered through
  // the real Alertmanager, in test/alerting-e2e.test.ts.

  it('missing-index: the DB p95 rule fires', async () => {
    await scenarios.setScenario('missing-index', true);
    await drive(40, 4, (i) => fetch(`${scenarios.url}/api/customers/${1 + i}/orders`));
    for (const rule of byScenario('missing-index').filter((r) => r.uid.endsWith('-default'))) {
      await expectFires(rule, scenarios.service);
    }
    await scenarios.setScenario('missing-index', false);
  });

  it('event-loop-block: the event-loop p99 rule fires', async () => {
    await scenarios.setScenario('event-loop-block', true);
    await drive(16, 2, checkout(scenarios));
    for (const rule of byScenario('event-loop-block').filter((r) => r.uid.endsWith('-default'))) {
      await expectFires(rule, scenarios.service);
    }
    await scenarios.setScenario('event-loop-block', false);
  });

  it('slow-endpoint: the API p95 rule fires for the recommendations route, and CPU saturation', async () => {
    const [latency, cpu] = ['hp-api-p95-default', 'hp-cpu-default'].map((uid) =>
      rules.find((r) => r.uid === uid),
    ) as [AlertRuleSpec, AlertRuleSpec];
    const series = await expectFires(latency, scenarios.service);
    expect(series.map((s) => s.metric.http_route)).toContain('/api/products/:id/recommendations');
    await expectFires(cpu, scenarios.service, 90_000);
  });

  it('memory-leak: the heap-growth rule fires', async () => {
    for (const rule of byScenario('memory-leak').filter((r) => r.uid.endsWith('-default'))) {
      await expectFires(rule, scenarios.service, 120_000);
    }
  });

  describe('rules whose data the demo cannot produce here', () => {
    it('page load and LCP rules fire for slow synthetic browser timings and not for fast ones', async () => {
      const feeds = await Promise.all(
        [
          ['slow', 4.2],
          ['fast', 0.8],
        ].map(async ([kind, seconds]) => {
          const service = uniqueService(`browser-${kind}`);
          const port = await freePort();
          const exporter = new PrometheusExporter({ host: '127.0.0.1', port });
          const provider = new MeterProvider({
            resource: resourceFromAttributes({ 'service.name': service }),
            readers: [exporter],
            views: catalogueViews(),
          });
          const meter = provider.getMeter('synthetic-rum');
          const pageLoad = meter.createHistogram(METRICS.browserPageLoadDuration.name, { unit: 's' });
          const lcp = meter.createHistogram(METRICS.browserWebVitalLcp.name, { unit: 's' });
          const unregister = addScrapeTarget(inject('prometheusTargetsDir'), service, {
            address: `127.0.0.1:${port}`,
            service,
          });
          const timer = setInterval(() => {
            for (let i = 0; i < 5; i++) {
              pageLoad.record(Number(seconds) + i * 0.01, { 'page.route': '/' });
              lcp.record(Number(seconds) - 0.1 + i * 0.01, { 'page.route': '/' });
            }
          }, 500);
          return {
            service,
            kind,
            stop: async () => {
              clearInterval(timer);
              unregister();
              await provider.shutdown();
            },
          };
        }),
      );
      try {
        const [slow, fast] = feeds as [(typeof feeds)[number], (typeof feeds)[number]];
        for (const rule of bySynthetic('browser').filter((r) => r.uid.endsWith('-default'))) {
          const series = await expectFires(rule, slow.service, 40_000);
          expect(series[0]?.metric.page_route).toBe('/');
          expect(await firing(rule, fast.service), rule.uid).toEqual([]);
        }
      } finally {
        await Promise.all(feeds.map((f) => f.stop()));
      }
    });

    it('the collector rule fires on refused and failed sends, and not while they stay at zero', async () => {
      const [rule] = bySynthetic('collector') as [AlertRuleSpec];
      const service = uniqueService('otelcol-synthetic');
      const port = await freePort();
      const exporter = new PrometheusExporter({ host: '127.0.0.1', port });
      const provider = new MeterProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        readers: [exporter],
      });
      // The collector's own counters, as it exposes them on :8888 (otelcol_…_total).
      const meter = provider.getMeter('synthetic-otelcol');
      const counters = [
        'otelcol_exporter_send_failed_metric_points',
        'otelcol_exporter_send_failed_spans',
        'otelcol_receiver_refused_metric_points',
        'otelcol_receiver_refused_spans',
      ].map((name) => meter.createCounter(name));
      for (const c of counters) c.add(0, { exporter: 'otlp_http/prometheus' });
      const unregister = addScrapeTarget(inject('prometheusTargetsDir'), service, {
        address: `127.0.0.1:${port}`,
        service,
      });
      try {
        await eventually(async () => {
          const [up] = await promQuery(`up{job="${service}"}`);
          expect(up?.value).toBe(1);
        });
        await new Promise((r) => setTimeout(r, 3000));
        expect(await firing(rule, service)).toEqual([]);
        const timer = setInterval(() => counters[0]?.add(50, { exporter: 'otlp_http/prometheus' }), 200);
        try {
          await expectFires(rule, service);
        } finally {
          clearInterval(timer);
        }
      } finally {
        unregister();
        await provider.shutdown();
      }
    });

    it('the analyzer rule fires when its cycles keep failing, not while they succeed', async () => {
      const [rule] = bySynthetic('analyzer') as [AlertRuleSpec];
      const start = (service: string, prometheusUrl: string) =>
        emptyDatabase().then((storeUrl) =>
          startAnalyzer({
            storeUrl,
            prometheusUrl,
            interval: '5s',
            window: '1m',
            service,
            scrapeTargetsDir: inject('prometheusTargetsDir'),
          }),
        );
      const healthy = await start(uniqueService('analyzer-ok'), inject('prometheusUrl'));
      // Nothing listens on port 9: every cycle of this one fails.
      const blind = await start(uniqueService('analyzer-blind'), 'http://127.0.0.1:9');
      try {
        await expectFires(rule, blind.service, 60_000);
        expect(await firing(rule, healthy.service)).toEqual([]);
      } finally {
        await Promise.all([healthy.stop(), blind.stop()]);
      }
    });

    it('the Prometheus ingestion rule fires when remote writes are rejected', async () => {
      const [rule] = bySynthetic('remote-write-errors') as [AlertRuleSpec];
      expect(await firing(rule)).toEqual([]);
      const reject = async () => {
        const response = await fetch(new URL('/api/v1/write', inject('prometheusUrl')), {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
          body: 'not a remote write request',
        });
        expect(response.status).toBeGreaterThanOrEqual(400);
      };
      // The first rejection creates the counter's series; the ones after it are the increase rate() sees.
      await reject();
      await eventually(async () => {
        const seen = await promQuery(
          `${PROMETHEUS_SERIES.prometheusHttpRequests}{handler="/api/v1/write", code!~"2.."}`,
        );
        expect(seen.length).toBeGreaterThan(0);
      });
      for (let i = 0; i < 5; i++) await reject();
      const series = await expectFires(rule, undefined);
      expect(series[0]?.metric.handler).toBe('/api/v1/write');
    });

    it('the new-critical-finding rule fires for a fresh critical finding, not for warnings or old ones', async () => {
      const [rule] = bySynthetic('findings') as [AlertRuleSpec];
      const client = new pg.Client({ connectionString: await shopDatabase('findings') });
      await client.connect();
      try {
        await client.query(readFileSync(join(REPO_ROOT, 'analyzer/migrations/001_findings.sql'), 'utf8'));
        const value = async () => Number((await client.query<{ value: number }>(rule.query)).rows[0]?.value);
        const insert = (id: string, severity: string, age: string) =>
          client.query(
            `INSERT INTO findings (id, kind, layer, service, subject, severity, title, summary, first_seen)
             VALUES ($1, 'slow-statement', 'database', 'demo-shop', 'q1', $2, 't', 's', now() - $3::interval)`,
            [id, severity, age],
          );
        await insert('warning-now', 'warning', '1 minute');
        await insert('critical-old', 'critical', '2 hours');
        expect(await value()).toBeLessThanOrEqual(rule.threshold);
        await insert('critical-now', 'critical', '1 minute');
        expect(await value()).toBeGreaterThan(rule.threshold);
      } finally {
        await client.end();
      }
    });
  });
});
