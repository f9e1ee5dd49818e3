import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogueViews, METRICS, prometheusSeries } from '@hotpath/instrumentation';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../scripts/lib/process.ts';
import { addScrapeTarget } from '../../../scripts/lib/prometheus.ts';
import { eventually, promQuery, uniqueService } from '../../../test/harness.ts';
import { runId, writeRun } from '../runs.ts';
import { hotpath } from './run-cli.ts';

/** A service Prometheus scrapes, serving one route: something for the profile step to read profiles of. */
async function syntheticService(): Promise<{ service: string; stop(): Promise<void> }> {
  const service = uniqueService('cli-profiles');
  const port = await freePort();
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    readers: [new PrometheusExporter({ host: '127.0.0.1', port })],
    views: catalogueViews(),
  });
  const duration = provider.getMeter('synthetic').createHistogram(METRICS.httpServerRequestDuration.name, {
    unit: 's',
  });
  const unregister = addScrapeTarget(inject('prometheusTargetsDir'), service, {
    address: `127.0.0.1:${port}`,
    service,
  });
  const timer = setInterval(() => {
    duration.record(0.02, {
      'http.request.method': 'GET',
      'http.route': '/orders/:id',
      'http.response.status_code': 200,
    });
  }, 100);
  await eventually(async () => {
    const series = `${prometheusSeries(METRICS.httpServerRequestDuration, 'count')}{job="${service}"}`;
    if ((await promQuery(`rate(${series}[30s])`)).length === 0) throw new Error(`${service} not scraped yet`);
  }, 30_000);
  return {
    service,
    async stop() {
      clearInterval(timer);
      unregister();
      await provider.shutdown();
    },
  };
}

describe('hotpath analyze, failures a user meets', () => {
  it('says which upstream is down and exits 3, without a stack trace', async () => {
    const { code, stderr } = await hotpath('analyze', '--prometheus', 'http://127.0.0.1:9');
    expect(code).toBe(3);
    expect(stderr).toMatch(/hotpath: prometheus \(http:\/\/127\.0\.0\.1:9\): unreachable after \d attempts/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects a bad window, a bad URL, a missing Prometheus and a broken SLO file with exit 2', async () => {
    const prometheus = inject('prometheusUrl');
    for (const [args, message] of [
      [['--prometheus', prometheus, '--window', 'soon'], /window "soon" is not a duration/],
      [['--prometheus', 'localhost'], /is not a URL/],
      [['--prometheus', prometheus, '--pyroscope', 'pyroscope'], /--pyroscope "pyroscope" is not a URL/],
      [[], /--prometheus/],
      [['--prometheus', prometheus, '--slo', '/nonexistent/slo.yaml'], /\/nonexistent\/slo.yaml/],
      [
        [
          '--prometheus',
          prometheus,
          '--since',
          'load-20200101T000000Z',
          '--runs-dir',
          mkdtempSync(join(tmpdir(), 'runs-')),
        ],
        /no run "load-20200101T000000Z"/,
      ],
    ] as const) {
      const { code, stderr } = await hotpath('analyze', ...args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('prints a ranked table by default, and says so when every objective is met', async () => {
    const { code, stdout } = await hotpath(
      'analyze',
      '--prometheus',
      inject('prometheusUrl'),
      '--window',
      '30s',
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Hotpath analysis — window 30s/);
  });

  it('judges one recorded load-test run: --since its id analyzes from its start to now', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runs-'));
    const start = new Date(Date.now() - 45_000);
    const id = runId('benchmark', start);
    writeRun(dir, {
      id,
      profile: 'benchmark',
      target: 'http://127.0.0.1:3000',
      scale: 0.5,
      start: start.toISOString(),
      end: new Date().toISOString(),
      requests: 240,
      unexpected: 0,
      errors: 0,
      latency_ms: { p50: 3, p95: 9, p99: 14, max: 20 },
    });
    const { code, stdout, stderr } = await hotpath(
      'analyze',
      '--prometheus',
      inject('prometheusUrl'),
      '--since',
      id,
      '--runs-dir',
      dir,
    );
    expect(code).toBe(0);
    expect(stderr).toContain(`(run ${id}: benchmark against http://127.0.0.1:3000`);
    expect(stdout).toMatch(/^Hotpath analysis — window 4[5-9]s/);
  });

  it('reports a Pyroscope it cannot read, and the findings (and exit code) stand without profiles', async () => {
    const app = await syntheticService();
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    let result: Awaited<ReturnType<typeof hotpath>>;
    try {
      result = await hotpath(
        'analyze',
        '--prometheus',
        inject('prometheusUrl'),
        '--pyroscope',
        nowhere,
        '--window',
        '30s',
      );
    } finally {
      await app.stop();
    }
    const { code, stdout, stderr } = result;
    expect(code).toBe(0);
    expect(stderr).toMatch(
      new RegExp(
        `hotpath: profiles from ${nowhere} could not be read \\(pyroscope .*fetch failed.*; the findings stand`,
      ),
    );
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toMatch(/^Hotpath analysis — window 30s/);
  });
});
