/** `npm run demo`, the no-Docker local run, end to end: it starts, serves traffic into Prometheus, and Ctrl-C cleans up. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import { freePort, startProcess, waitFor } from '../scripts/lib/process.ts';
import { eventually } from './harness.ts';

describe('npm run demo', () => {
  it('runs the instrumented shop with traffic into Prometheus, prints its alerts, and Ctrl-C stops and deletes everything', async () => {
    const port = await freePort();
    // The committed SLOs with the alerting timings shortened (for: 10s), so error-burst alerts within the test.
    const sloDir = mkdtempSync(join(tmpdir(), 'hotpath-demo-slo-'));
    const sloFile = join(sloDir, 'slo.yaml');
    writeFileSync(
      sloFile,
      stringify({
        ...(parse(readFileSync(join(REPO_ROOT, 'slo.yaml'), 'utf8')) as object),
        alerting: { for: { error_budget: '10s' }, group_wait: '2s', group_interval: '5s' },
      }),
    );
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      HOTPATH_SLO_FILE: sloFile,
    };
    for (const name of ['SLACK_WEBHOOK_URL', 'ALERT_WEBHOOK_URL', 'ALERT_EMAIL_TO', 'SMTP_SMARTHOST'])
      delete env[name];
    const demo = startProcess(
      'npm run demo',
      process.execPath,
      [
        join(REPO_ROOT, 'scripts', 'demo.ts'),
        '--port',
        String(port),
        '--rate',
        '20',
        '--scenarios',
        'error-burst',
      ],
      { cwd: REPO_ROOT, env },
    );
    try {
      await waitFor('the demo banner', 120_000, demo, async () =>
        demo.output().includes('Ctrl-C stops everything'),
      );
      const out = demo.output();
      const prometheus = /Prometheus\s+(http:\/\/\S+)/.exec(out)?.[1];
      expect(prometheus).toBeDefined();
      expect(out).toMatch(/PostgreSQL\s+postgres:\/\/\S+/);
      const alertmanager = /Alertmanager\s+(http:\/\/\S+)/.exec(out)?.[1];
      expect((await fetch(`${alertmanager}/-/ready`)).ok).toBe(true);
      // Receivers without their settings are left out, one line each, and the run goes on.
      expect(out).toContain('demo: alerts: Slack left out: SLACK_WEBHOOK_URL is not set');
      expect(out).toContain('demo: alerts: e-mail left out: ALERT_EMAIL_TO and SMTP_SMARTHOST are not set');
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).ok).toBe(true);

      const routes = await eventually(
        async () => {
          const url = new URL('/api/v1/query', prometheus);
          url.searchParams.set(
            'query',
            'sum by (http_route) (http_server_request_duration_seconds_count{job="demo-shop"})',
          );
          const body = (await (await fetch(url)).json()) as {
            data: { result: { metric: { http_route: string } }[] };
          };
          expect(body.data.result.length).toBeGreaterThanOrEqual(8);
          return body.data.result.map((r) => r.metric.http_route);
        },
        60_000,
        1000,
      );
      expect(routes).toContain('/api/customers/:id/orders');

      // The analyzer service runs beside the shop, its API answers with the token the banner prints.
      const api = /analyzer API\s+(http:\/\/\S+)\/api\/v1\/findings/.exec(out)?.[1];
      const token = /viewer token\s+(\S+)/.exec(out)?.[1];
      expect((await fetch(`${api}/readyz`)).status).toBe(200);
      const runs = await eventually(async () => {
        const r = await fetch(`${api}/api/v1/analyses?status=succeeded`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const body = (await r.json()) as { items: unknown[] };
        if (body.items.length === 0) throw new Error('no analysis has succeeded yet');
        return body.items;
      }, 60_000);
      expect(runs.length).toBeGreaterThanOrEqual(1);
      // Traffic keeps flowing (it once stalled after one round of routes): 20 requests/s add up quickly.
      await eventually(
        async () => {
          const url = new URL('/api/v1/query', prometheus);
          url.searchParams.set('query', 'sum(http_server_request_duration_seconds_count{job="demo-shop"})');
          const body = (await (await fetch(url)).json()) as {
            data: { result: { value: [number, string] }[] };
          };
          expect(Number(body.data.result[0]?.value[1])).toBeGreaterThan(100);
        },
        60_000,
        1000,
      );

      // The error-burst alert, as Alertmanager delivered it, with the link to why.
      await waitFor('an alert notification', 90_000, demo, async () =>
        /alert: \[FIRING\] HotpathErrorBudget critical → hotpath-oncall: demo-shop \/api\/orders: 5xx ratio/.test(
          demo.output(),
        ),
      );
      expect(demo.output()).toMatch(
        / {2}why: .+\(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/findings\?service=demo-shop&subject=%2Fapi%2Forders/,
      );

      demo.child.kill('SIGINT');
      await waitFor('the demo to exit', 30_000, undefined, async () => demo.exited() !== undefined);
      expect(demo.exited()?.code).toBe(0);
      expect(demo.output()).toMatch(
        /the analyzer's report of this run:\s+Hotpath analysis — window \d+s, \d+ routes/,
      );
      expect(demo.output()).toContain('temporary data deleted');
      await expect(fetch(`${api}/healthz`)).rejects.toThrow();
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
      await expect(fetch(`${prometheus}/-/ready`)).rejects.toThrow();
      await expect(fetch(`${alertmanager}/-/ready`)).rejects.toThrow();
    } finally {
      await demo.stop('SIGKILL');
      rmSync(sloDir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown scenario with the list of valid ones', async () => {
    const demo = startProcess(
      'npm run demo',
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'demo.ts'), '--scenarios', 'warp-drive'],
      {
        cwd: REPO_ROOT,
        env: process.env,
      },
    );
    await waitFor('exit', 30_000, undefined, async () => demo.exited() !== undefined);
    expect(demo.exited()?.code).toBe(2);
    expect(demo.output()).toContain('unknown scenario(s): warp-drive');
    expect(demo.output()).toContain('n-plus-one');
  });
});
