/**
 * `node --import @hotpath/instrumentation/register` on apps that know nothing about telemetry: ESM and CJS are
 * both instrumented, a dead, black-holed or slow collector never hurts a request, and SIGTERM flushes.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blackHoledSink, refusingSink, type Sink, slowSink } from '../../scripts/lib/collector-stubs.ts';
import { REPO_ROOT } from '../../scripts/lib/demo.ts';
import { freePort, type ManagedProcess, startProcess, waitFor } from '../../scripts/lib/process.ts';
import { drive, startOtlpCapture } from '../../test/harness.ts';

const TESTDATA = join(import.meta.dirname, 'testdata');
const running: ManagedProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
});

async function startApp(
  file: string,
  env: Record<string, string>,
): Promise<{ url: string; proc: ManagedProcess }> {
  const port = await freePort();
  const proc = startProcess(
    file,
    process.execPath,
    ['--import', '@hotpath/instrumentation/register', join(TESTDATA, file)],
    {
      cwd: REPO_ROOT,
      env: {
        ...(process.env as Record<string, string>),
        PORT: String(port),
        OTEL_LOGS_EXPORTER: 'none',
        ...env,
      },
    },
  );
  running.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(file, 30_000, proc, async () => proc.output().includes('ready'));
  return { url, proc };
}

describe.each(['esm-app.mjs', 'cjs-app.cjs'])(
  '%s under --import @hotpath/instrumentation/register',
  (file) => {
    it('records the request duration by route template', async () => {
      const metricsPort = await freePort();
      const { url } = await startApp(file, {
        OTEL_SERVICE_NAME: file,
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
        OTEL_TRACES_EXPORTER: 'none',
      });
      const response = await fetch(`${url}/items/17`);
      expect(await response.json()).toEqual({ id: '17', kind: file.startsWith('esm') ? 'esm' : 'cjs' });
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const count = metrics.split('\n').find((l) => l.startsWith('http_server_request_duration_count{'));
      expect(count).toContain('http_route="/items/:id"');
      expect(count).toMatch(/ 1$/);
      expect(metrics).toContain(`service_name="${file}"`);
    });
  },
);

describe('a collector that is down, black-holed or slow', () => {
  const sinks: Sink[] = [];
  afterEach(() => {
    for (const sink of sinks.splice(0)) sink.close();
  });
  const open = (start: () => Promise<Sink>) => async () => {
    const sink = await start();
    sinks.push(sink);
    return sink.url;
  };

  it.each([
    ['unreachable', open(refusingSink)],
    ['black-holed', open(blackHoledSink)],
    // Answers each export after 5 s, past the 2 s export timeout below.
    ['slow', open(() => slowSink(5000))],
  ])(
    '%s: every request still succeeds promptly and the export errors are logged',
    async (_kind, endpoint) => {
      const { url, proc } = await startApp('esm-app.mjs', {
        OTEL_SERVICE_NAME: 'resilience',
        OTEL_EXPORTER_OTLP_ENDPOINT: await endpoint(),
        OTEL_METRIC_EXPORT_INTERVAL: '2000',
        OTEL_METRIC_EXPORT_TIMEOUT: '2000',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      });
      const results = await drive(200, 8, (i) => fetch(`${url}/items/${i}`));
      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      // No request waited on the exporter: a request that did would take at least the 2 s export timeout.
      expect(Math.max(...results.map((r) => r.ms))).toBeLessThan(1000);
      await waitFor('an export error in the log', 15_000, proc, async () =>
        proc.output().includes('OpenTelemetry export failed'),
      );
      expect(proc.exited()).toBeUndefined();
    },
  );
});

describe('SIGTERM', () => {
  it.each(['plain-app.mjs', 'esm-app.mjs'])(
    '%s: flushes pending spans, then exits as it would have',
    async (file) => {
      const capture = await startOtlpCapture();
      try {
        const { url, proc } = await startApp(file, {
          OTEL_SERVICE_NAME: 'sigterm',
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${capture.url}/v1/traces`,
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
          // Long enough that only the SIGTERM flush can deliver the span.
          OTEL_BSP_SCHEDULE_DELAY: '600000',
        });
        expect((await fetch(`${url}/items/1`, { headers: { connection: 'close' } })).status).toBeLessThan(
          500,
        );
        expect(capture.spans()).toEqual([]);
        proc.child.kill('SIGTERM');
        await waitFor('exit after SIGTERM', 10_000, undefined, async () => proc.exited() !== undefined);
        expect(capture.spans().some((s) => s.kind === 2)).toBe(true);
        const exit = proc.exited();
        // Without an app handler the signal is re-raised (killed by SIGTERM); with one, the app ends itself.
        if (file === 'plain-app.mjs') expect(exit?.signal).toBe('SIGTERM');
        else expect(exit?.code).toBe(0);
      } finally {
        await capture.close();
      }
    },
  );
});
