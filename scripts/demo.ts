/**
 * `npm run demo` — the no-Docker local run: a private PostgreSQL, Prometheus (evaluating the generated alert
 * rules) and Alertmanager, the instrumented demo shop in pull mode, light traffic and the analyzer service
 * (`hotpath serve`). Prints where everything is and what to try, and each alert notification as Alertmanager
 * delivers it, with the analyzer's finding that explains it; Ctrl-C (or the end of --duration) prints the
 * analyzer's report of the run, then stops and deletes it all.
 *
 *   npm run demo -- [--scenarios a,b] [--port 3000] [--rate 10] [--duration 0] [--no-traffic]
 */

import { prometheusAlertRulesFile, receiverSettingsFromEnv } from '@hotpath/grafana';
import { analyze } from '../analyzer/src/analyze.ts';
import { rank } from '../analyzer/src/findings.ts';
import { render } from '../analyzer/src/report.ts';
import { loadSlo } from '../analyzer/src/slo.ts';
import { PrometheusClient } from '../analyzer/src/sources/prometheus.ts';
import type { Finding } from '../analyzer/src/types.ts';
import { parseScenarioList, SCENARIO_NAMES } from '../demo/src/scenarios.ts';
import {
  type AlertmanagerServer,
  describeNotification,
  startAlertmanager,
  startWebhookSink,
  type WebhookSink,
} from './lib/alertmanager.ts';
import { type AnalyzerProcess, startAnalyzer } from './lib/analyzer.ts';
import { parseCli } from './lib/cli.ts';
import { type DemoProcess, startDemo } from './lib/demo.ts';
import { createDatabase, type PostgresServer, startPostgres, withClient } from './lib/postgres.ts';
import { freePort } from './lib/process.ts';
import { type PrometheusServer, startPrometheus } from './lib/prometheus.ts';
import { startTraffic, type Traffic } from './lib/traffic.ts';

const USAGE = `usage: npm run demo -- [options]
  --scenarios a,b   scenarios on at start (default: none = healthy). One of:
                    ${SCENARIO_NAMES.join(', ')}
  --port N          shop port (default 3000)
  --rate N          background requests per second (default 10)
  --duration S      stop by itself after S seconds (default 0 = run until Ctrl-C)
  --no-traffic      do not send background traffic
  -h, --help        this text`;

function fail(message: string): never {
  console.error(`demo: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseOptions() {
  const values = parseCli(
    {
      scenarios: { type: 'string', default: process.env.DEMO_SCENARIOS ?? '' },
      port: { type: 'string', default: '3000' },
      rate: { type: 'string', default: '10' },
      duration: { type: 'string', default: '0' },
      'no-traffic': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    } as const,
    USAGE,
    fail,
  );
  const number = (name: string, raw: string, min: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be a whole number >= ${min}, got "${raw}"`);
    return n;
  };
  const scenarios = parseScenarioList(values.scenarios);
  if (scenarios.unknown.length > 0) fail(`unknown scenario(s): ${scenarios.unknown.join(', ')}`);
  return {
    scenarios: scenarios.names,
    port: number('port', values.port, 0),
    rate: number('rate', values.rate, 1),
    duration: number('duration', values.duration, 0),
    traffic: !values['no-traffic'],
  };
}

async function step<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  process.stdout.write(`demo: ${label}… `);
  const result = await work();
  process.stdout.write(`done (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  return result;
}

/** Runs one analysis in the analyzer service and returns its open trace findings (N+1, parallelizable…). */
async function traceFindings(analyzer: AnalyzerProcess, window: string): Promise<Finding[]> {
  const headers = {
    authorization: `Bearer ${await analyzer.token('operator')}`,
    'content-type': 'application/json',
  };
  const longest = window.endsWith('s') && Number.parseInt(window, 10) < 60 ? '1m' : window;
  const queued = await fetch(`${analyzer.url}/api/v1/analyses`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ window: longest }),
  });
  const { id } = (await queued.json()) as { id: number };
  for (let i = 0; i < 60; i++) {
    const run = (await (await fetch(`${analyzer.url}/api/v1/analyses/${id}`, { headers })).json()) as {
      status: string;
    };
    if (run.status === 'succeeded' || run.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const kinds = 'n-plus-one,parallelizable-queries';
  const response = await fetch(`${analyzer.url}/api/v1/findings?kind=${kinds}&status=open,acknowledged`, {
    headers,
  });
  return ((await response.json()) as { items: Finding[] }).items;
}

async function main(): Promise<void> {
  const options = parseOptions();
  let postgres: PostgresServer | undefined;
  let prometheus: PrometheusServer | undefined;
  let demo: DemoProcess | undefined;
  let traffic: Traffic | undefined;
  let analyzer: AnalyzerProcess | undefined;
  let alertmanager: AlertmanagerServer | undefined;
  let sink: WebhookSink | undefined;
  let databaseUrl: string | undefined;
  const started = Date.now();

  /** The analyzer's one-shot report over the run so far (at most its last 15 minutes), as text. */
  const report = async (): Promise<string | undefined> => {
    if (prometheus === undefined) return undefined;
    const seconds = Math.max(30, Math.min(900, Math.round((Date.now() - started) / 1000)));
    try {
      const analysis = await analyze({
        prometheus: new PrometheusClient({ url: prometheus.url }),
        slo: loadSlo(),
        window: `${seconds}s`,
        ...(databaseUrl === undefined ? {} : { databaseUrl, databaseService: 'demo-shop' }),
      });
      // The traces are in the analyzer service (its OTLP receiver): one more cycle there, and its trace findings.
      const fromTraces = analyzer === undefined ? [] : await traceFindings(analyzer, `${seconds}s`);
      const findings = rank([...analysis.findings, ...fromTraces]);
      return render({ ...analysis, findings }, 'table');
    } catch (error) {
      console.error(`demo: no analyzer report: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (why: string) => {
    stopping ??= (async () => {
      if (analyzer !== undefined) {
        console.log(`\ndemo: ${why}; analysing the run…`);
        // Printed in one piece: an alert notification arriving meanwhile goes before it, never inside it.
        const text = await report();
        if (text !== undefined) console.log(`demo: the analyzer's report of this run:\n\n${text}`);
      }
      console.log(`${analyzer === undefined ? `\ndemo: ${why}; ` : 'demo: '}stopping everything…`);
      traffic?.stop();
      await analyzer?.stop();
      await demo?.stop();
      await prometheus?.stop();
      await alertmanager?.stop();
      await sink?.stop();
      await postgres?.stop();
      console.log('demo: stopped, temporary data deleted.');
    })();
    return stopping;
  };
  process.on('SIGINT', () => void stop('Ctrl-C').then(() => process.exit(0)));
  process.on('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));

  try {
    postgres = await step('starting PostgreSQL', () => startPostgres());
    const shopUrl = await step('creating the shop database', async () => {
      const url = await createDatabase(postgres as PostgresServer, 'shop');
      await withClient(url, (c) =>
        c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE EXTENSION IF NOT EXISTS hypopg'),
      );
      return url;
    });
    databaseUrl = shopUrl;
    const slo = loadSlo();
    const analyzerPort = await freePort();
    const analyzerUrl = `http://127.0.0.1:${analyzerPort}`;
    // Each notification Alertmanager delivers, printed with the finding its link names (once there is one).
    let viewer: Promise<string> | undefined;
    const printing = new Set<Promise<void>>();
    sink = await startWebhookSink((n) => {
      const printed = describeNotification(n, async (link) => {
        if (analyzer === undefined) return undefined;
        viewer ??= analyzer.token('viewer');
        const response = await fetch(link, { headers: { authorization: `Bearer ${await viewer}` } });
        return response.ok ? ((await response.json()) as { items: Finding[] }).items : undefined;
      })
        .then((text) => console.log(text))
        .catch((error: unknown) => console.error(`demo: could not print an alert: ${String(error)}`))
        .finally(() => printing.delete(printed));
      printing.add(printed);
    });
    const receivers = receiverSettingsFromEnv();
    alertmanager = await step('starting Alertmanager', () =>
      startAlertmanager({
        slo,
        receivers: { ...receivers.settings, everyReceiver: [(sink as WebhookSink).url] },
      }),
    );
    for (const line of receivers.leftOut) console.log(`demo: alerts: ${line}`);
    const am = alertmanager;
    prometheus = await step('starting Prometheus (with the alert rules)', () =>
      startPrometheus({
        scrapeInterval: '5s',
        alertRules: prometheusAlertRulesFile(slo, {
          interval: '5s',
          links: { grafanaUrl: 'http://localhost:3000', analyzerUrl },
        }),
        alertmanager: am.address,
      }),
    );
    const storeUrl = await createDatabase(postgres, 'hotpath');
    analyzer = await step('starting the analyzer (hotpath serve)', () =>
      startAnalyzer({
        port: analyzerPort,
        storeUrl,
        prometheusUrl: (prometheus as PrometheusServer).url,
        appDatabaseUrl: shopUrl,
        databaseService: 'demo-shop',
        interval: '30s',
        window: '5m',
        scrapeTargetsDir: (prometheus as PrometheusServer).targetsDir,
      }),
    );
    const traces = analyzer.otlpUrl;
    demo = await step('starting the instrumented shop (the first start seeds 2 million orders)', () =>
      startDemo({
        databaseUrl: shopUrl,
        service: 'demo-shop',
        scenarios: options.scenarios,
        scrapeTargetsDir: (prometheus as PrometheusServer).targetsDir,
        port: options.port,
        // Traces go to the analyzer's own OTLP receiver: its N+1 and parallelizable-query detectors read them.
        otlpEndpoint: traces,
        // Profiles to the same receiver: findings on the loop and the CPU name the function.
        profilesEndpoint: traces,
        env: { OTEL_METRIC_EXPORT_INTERVAL: '5000' },
      }),
    );
  } catch (error) {
    console.error(`\ndemo: could not start: ${error instanceof Error ? error.message : String(error)}`);
    await stop('start-up failed');
    process.exit(1);
  }

  if (options.traffic)
    traffic = startTraffic({ url: demo.url, rate: options.rate, duration: options.duration });
  const promQuery = (q: string) =>
    `${prometheus.url}/graph?g0.expr=${encodeURIComponent(q)}&g0.tab=0&g0.range_input=15m`;
  console.log(`
Hotpath demo is running.
  shop             ${demo.url}
  shop metrics     http://${demo.metricsAddress}/metrics   (pull mode, renamed to OTLP names by Prometheus)
  Prometheus       ${prometheus.url}   (alerts: ${prometheus.url}/alerts)
  Alertmanager     ${alertmanager.url}   (notifications are printed here as they arrive)
  PostgreSQL       ${postgres.urlFor('shop')}
  traces (OTLP)     ${analyzer.otlpUrl}/v1/traces   (the shop exports its traces to the analyzer)
  analyzer API     ${analyzer.url}/api/v1/findings   (OpenAPI: ${analyzer.url}/api/v1/openapi.json)
  viewer token     ${await analyzer.token('viewer')}
  scenarios on     ${options.scenarios.length === 0 ? 'none (healthy)' : options.scenarios.join(', ')}
  traffic          ${options.traffic ? `${options.rate} requests/s over every route` : 'off'}

Try:
  curl ${demo.url}/admin/scenarios
  curl -X POST ${demo.url}/admin/scenarios/missing-index -H 'content-type: application/json' -d '{"on":true}'
  p95 per route:   ${promQuery(`histogram_quantile(0.95, sum by (http_route, le) (rate(http_server_request_duration_seconds_bucket{job="demo-shop"}[1m])))`)}
  event-loop p99:  ${promQuery('nodejs_eventloop_delay_p99_seconds{job="demo-shop"}')}
  findings:        curl -H "authorization: Bearer <viewer token>" ${analyzer.url}/api/v1/findings
  acknowledge:     npx hotpath silence alertname=<alert> job=demo-shop --comment "…" --alertmanager ${alertmanager.url}
  slow statements: psql ${postgres.urlFor('shop')} -c 'SELECT calls, mean_exec_time, query FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 5'

Ctrl-C stops everything.${options.duration > 0 ? ` Stopping by itself in ${options.duration} s.` : ''}
`);

  if (options.duration > 0) {
    await new Promise((r) => setTimeout(r, options.duration * 1000));
    await stop(`${options.duration} s are up`);
    process.exit(0);
  }
}

await main();
