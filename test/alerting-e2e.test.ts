/**
 * Alerts really delivered, on the real parts: Prometheus evaluates the generated alert rules, the real
 * Alertmanager groups, routes, inhibits and silences them, and a webhook sink receives what it sends — for the
 * demo's error-burst scenario, beside a demo that runs healthy traffic only.
 *
 * The rules are the committed model's; only the SLO file's `alerting:` timings are shortened by a test override
 * (for: 10s instead of 2m, group timings in seconds, a 20 s repeat for criticals) and the quiet hours emptied,
 * so a warning that is not sent was held back by its critical and not by the clock.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSlo } from '@hotpath/analyzer/slo';
import { prometheusAlertRulesFile, RECEIVERS } from '@hotpath/grafana';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { hotpathWithEnv } from '../analyzer/src/commands/run-cli.ts';
import {
  type AlertmanagerServer,
  type Notification,
  startAlertmanager,
  startWebhookSink,
  type WebhookSink,
} from '../scripts/lib/alertmanager.ts';
import { type AnalyzerProcess, startAnalyzer } from '../scripts/lib/analyzer.ts';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import { freePort } from '../scripts/lib/process.ts';
import { type PrometheusServer, startPrometheus } from '../scripts/lib/prometheus.ts';
import { startTraffic, type Traffic } from '../scripts/lib/traffic.ts';
import { drive, emptyDatabase, eventually, startTestDemo } from './harness.ts';

const ALERT = 'HotpathErrorBudget';
const slo = parseSlo(
  stringify({
    ...(parse(readFileSync(join(REPO_ROOT, 'slo.yaml'), 'utf8')) as object),
    alerting: {
      for: { error_budget: '10s' },
      group_wait: '2s',
      group_interval: '3s',
      repeat_interval: { critical: '20s', warning: '1h' },
      quiet_hours: { intervals: [] },
    },
  }),
  'slo.yaml (test override: alerting timings)',
);

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}
interface AmAlert {
  labels: Record<string, string>;
  status: { state: string; silencedBy: string[]; inhibitedBy: string[] };
}

describe('alerts through Prometheus and Alertmanager', () => {
  let sink: WebhookSink;
  let alertmanager: AlertmanagerServer;
  let prometheus: PrometheusServer;
  let analyzer: AnalyzerProcess;
  let scenario: Awaited<ReturnType<typeof startTestDemo>>;
  let healthy: Awaited<ReturnType<typeof startTestDemo>>;
  const traffic: Traffic[] = [];

  /** Prometheus' active alerts of the error-budget rule for the scenario demo, by severity. */
  const promAlerts = async (severity: string): Promise<PromAlert[]> => {
    const body = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as {
      data: { alerts: PromAlert[] };
    };
    return body.data.alerts.filter(
      (a) =>
        a.labels.alertname === ALERT && a.labels.job === scenario.service && a.labels.severity === severity,
    );
  };
  const amAlert = async (severity: string): Promise<AmAlert | undefined> => {
    const filter = encodeURIComponent(`alertname="${ALERT}"`);
    const alerts = (await (
      await fetch(`${alertmanager.url}/api/v2/alerts?filter=${filter}`)
    ).json()) as AmAlert[];
    return alerts.find((a) => a.labels.job === scenario.service && a.labels.severity === severity);
  };
  const ofScenario = (severity: string, status?: string) =>
    sink.notifications.filter(
      (n) =>
        n.groupLabels.alertname === ALERT &&
        n.groupLabels.job === scenario.service &&
        n.commonLabels.severity === severity &&
        (status === undefined || n.status === status),
    );
  const checkouts = (count: number, concurrency: number) =>
    drive(count, concurrency, () =>
      fetch(`${scenario.url}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 7, productId: 8 }),
      }),
    );

  beforeAll(async () => {
    sink = await startWebhookSink();
    alertmanager = await startAlertmanager({ slo, receivers: { everyReceiver: [sink.url] } });
    const analyzerPort = await freePort();
    prometheus = await startPrometheus({
      scrapeInterval: '1s',
      alertRules: prometheusAlertRulesFile(slo, {
        interval: '1s',
        links: { grafanaUrl: 'http://grafana.test', analyzerUrl: `http://127.0.0.1:${analyzerPort}` },
      }),
      alertmanager: alertmanager.address,
    });
    [analyzer, scenario, healthy] = await Promise.all([
      emptyDatabase().then((storeUrl) =>
        startAnalyzer({
          storeUrl,
          prometheusUrl: prometheus.url,
          port: analyzerPort,
          interval: '10s',
          window: '1m',
          env: { HOTPATH_AUTO_RESOLVE_AFTER: '1000s' },
        }),
      ),
      startTestDemo({ scrapeTargetsDir: prometheus.targetsDir }),
      startTestDemo({ scrapeTargetsDir: prometheus.targetsDir }),
    ]);
    // Mixed traffic over every route of both, all along.
    for (const demo of [scenario, healthy])
      traffic.push(startTraffic({ url: demo.url, rate: 6, connections: 2 }));
  });
  afterAll(async () => {
    for (const t of traffic) t.stop();
    await Promise.all([scenario?.stop(), healthy?.stop(), analyzer?.stop()]);
    await prometheus?.stop();
    await alertmanager?.stop();
    await sink?.stop();
  });

  let firstAt = 0;

  it('error-burst: the error-budget alert goes pending, fires after its for:, and one notification arrives', async () => {
    await scenario.setScenario('error-burst', true);
    // A checkout every 100 ms for 3 s: 40 % of them fail with a 502.
    await drive(30, 1, async () => {
      await new Promise((r) => setTimeout(r, 100));
      return fetch(`${scenario.url}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 7, productId: 8 }),
      });
    });
    const pending = await eventually(
      async () => {
        const [a] = await promAlerts('critical');
        expect(a?.state).toBe('pending');
        return Date.now();
      },
      30_000,
      250,
    );
    const fired = await eventually(
      async () => {
        const [a] = await promAlerts('critical');
        expect(a?.state).toBe('firing');
        return Date.now();
      },
      30_000,
      250,
    );
    // for: 10s, evaluated every second.
    expect(fired - pending).toBeGreaterThanOrEqual(8000);

    const [first] = await eventually(
      async () => {
        const got = ofScenario('critical', 'firing');
        expect(got.length).toBeGreaterThan(0);
        return got;
      },
      30_000,
      250,
    );
    firstAt = (first as Notification).receivedAt;
    // Grouped (alertname, job): one notification, one alert, on-call's receiver.
    await new Promise((r) => setTimeout(r, 5000));
    expect(ofScenario('critical')).toHaveLength(1);
    const n = first as Notification;
    expect(n.receiver).toBe(RECEIVERS.oncall);
    expect(n.alerts).toHaveLength(1);
    const alert = n.alerts[0];
    expect(alert?.labels).toMatchObject({
      severity: 'critical',
      objective: 'error-budget',
      http_route: '/api/orders',
    });
    expect(alert?.annotations.summary).toMatch(/^\S+ \/api\/orders: 5xx ratio \d/);
    expect(alert?.annotations.dashboard).toBe('http://grafana.test/d/hotpath-endpoints');
    // The link to why: the analyzer's finding for the same service and route.
    const link = new URL(alert?.annotations.finding ?? '');
    expect(link.origin).toBe(analyzer.url);
    expect(link.searchParams.get('service')).toBe(scenario.service);
    expect(link.searchParams.get('subject')).toBe('/api/orders');
    const token = await analyzer.token('viewer');
    await eventually(
      async () => {
        const found = (await (
          await fetch(link, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as {
          items: { kind: string; subject: string }[];
        };
        expect(found.items.map((f) => `${f.kind} ${f.subject}`)).toContain('error-rate POST /api/orders');
      },
      60_000,
      1000,
    );
  });

  it('the warning of the same objective and service is inhibited by the critical, not sent', async () => {
    const [warning] = await eventually(
      async () => {
        const got = await promAlerts('warning');
        expect(got[0]?.state).toBe('firing');
        return got;
      },
      30_000,
      250,
    );
    expect(warning?.labels.http_route).toBe('/api/orders');
    const held = await eventually(async () => {
      const a = await amAlert('warning');
      expect(a?.status.inhibitedBy.length).toBeGreaterThan(0);
      return a;
    });
    expect(held?.status.state).toBe('suppressed');
    await new Promise((r) => setTimeout(r, 4000));
    expect(ofScenario('warning')).toEqual([]);
  });

  let silenceId = '';

  it('a silence made with hotpath silence suppresses the next notification; expiring it lets it through', async () => {
    const created = await hotpathWithEnv(
      {},
      'silence',
      `alertname=${ALERT}`,
      `job=${scenario.service}`,
      'severity=critical',
      '--alertmanager',
      alertmanager.url,
      '--author',
      'sre@example.com',
      '--comment',
      'payment provider incident, rolling back',
      '--duration',
      '10m',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    silenceId = /id ([0-9a-f-]{36})/.exec(created.stdout)?.[1] ?? '';
    expect(silenceId).not.toBe('');
    const silencedAt = Date.now();
    const listed = await hotpathWithEnv({}, 'silence', '--list', '--alertmanager', alertmanager.url);
    expect(listed.stdout).toContain(`${silenceId}  active`);
    expect(listed.stdout).toContain('by sre@example.com: payment provider incident');
    await eventually(async () => {
      expect((await amAlert('critical'))?.status.silencedBy).toEqual([silenceId]);
    });
    // The repeat was due 20 s after the first notification: wait past it (and two group intervals).
    await new Promise((r) => setTimeout(r, Math.max(0, firstAt + 27_000 - Date.now())));
    expect((await promAlerts('critical'))[0]?.state).toBe('firing');
    expect(ofScenario('critical').filter((n) => n.receivedAt >= silencedAt)).toEqual([]);

    const expired = await hotpathWithEnv(
      {},
      'silence',
      '--expire',
      silenceId,
      '--alertmanager',
      alertmanager.url,
    );
    expect(expired.code).toBe(0);
    const liftedAt = Date.now();
    await eventually(
      async () => {
        expect(
          ofScenario('critical', 'firing').filter((n) => n.receivedAt >= liftedAt).length,
        ).toBeGreaterThan(0);
      },
      20_000,
      250,
    );
  });

  it('switching the scenario off resolves it: the resolved notification follows the condition clearing', async () => {
    await scenario.setScenario('error-burst', false);
    // Successful checkouts bring the route's ratio under both budgets (14.4 % over 5m, 6 % over 30m).
    await checkouts(250, 4);
    const cleared = await eventually(
      async () => {
        expect(await promAlerts('critical')).toEqual([]);
        return Date.now();
      },
      30_000,
      250,
    );
    const [resolved] = await eventually(
      async () => {
        const got = ofScenario('critical', 'resolved');
        expect(got.length).toBeGreaterThan(0);
        return got;
      },
      30_000,
      250,
    );
    expect(resolved?.receiver).toBe(RECEIVERS.oncall);
    expect(resolved?.alerts[0]?.status).toBe('resolved');
    await eventually(async () => expect(await promAlerts('warning')).toEqual([]), 30_000, 250);
    // Once its critical was gone the warning may be sent (by e-mail) until it clears too — never before.
    for (const n of ofScenario('warning')) {
      expect(n.receiver).toBe(RECEIVERS.email);
      expect(n.receivedAt).toBeGreaterThan(cleared - 500);
    }
  });

  it('the healthy demo sent no notification over the same period', () => {
    expect(sink.notifications.length).toBeGreaterThan(0);
    const fromHealthy = sink.notifications.filter((n) =>
      n.alerts.some((a) => a.labels.job === healthy.service || a.labels.service_name === healthy.service),
    );
    expect(fromHealthy.map((n) => n.groupLabels)).toEqual([]);
  });
});
