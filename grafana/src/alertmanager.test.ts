/**
 * The Prometheus + Alertmanager output of the alert model: the same rules and routing as Grafana's, and valid
 * for the tools themselves (`promtool check rules`, `promtool test rules`, `amtool check-config`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSlo, parseSlo } from '@hotpath/analyzer/slo';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  ALERTMANAGER_TEMPLATE,
  alertmanagerConfig,
  prometheusAlertRulesFile,
  receiverSettingsFromEnv,
} from './alertmanager.ts';
import { alertingFile, alertRules } from './alerts.ts';

const REPO = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'hotpath-alertmanager-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface PromRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const promRules = (slo = loadSlo()) =>
  (prometheusAlertRulesFile(slo) as { groups: { rules: PromRule[] }[] }).groups.flatMap((g) => g.rules);

function run(binary: string, args: string[]): string {
  try {
    return execFileSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`${binary} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

describe('one alert model, two outputs', () => {
  it('the Prometheus rules are the Grafana rules: same condition, for, severity and objective', () => {
    const grafana = alertRules();
    const prometheus = promRules();
    expect(prometheus.length).toBe(grafana.length);
    for (const rule of grafana) {
      const p = prometheus.find((r) => r.annotations.uid === rule.uid);
      expect(p, rule.uid).toBeDefined();
      expect(p?.alert).toBe(rule.alertname);
      expect(p?.expr).toBe(rule.datasource === 'prometheus' ? rule.query : rule.promql);
      expect(p?.for).toBe(rule.for);
      expect(p?.labels).toEqual({
        severity: rule.severity,
        objective: rule.objective,
        slo_scope: rule.scope,
        source: 'hotpath',
      });
      expect(p?.annotations.summary).not.toContain('$values');
    }
  });

  it('the Alertmanager routing is the Grafana policy: receivers by severity, quiet hours, grouping', () => {
    const grafana = alertingFile() as {
      policies: { group_by: string[]; routes: { receiver: string; object_matchers: string[][] }[] }[];
      muteTimes: { time_intervals: unknown[] }[];
    };
    const am = alertmanagerConfig() as {
      route: {
        group_by: string[];
        routes: { receiver: string; matchers: string[]; mute_time_intervals?: string[] }[];
      };
      time_intervals: { time_intervals: unknown[] }[];
      inhibit_rules: unknown[];
    };
    expect(grafana.policies[0]?.group_by).toEqual(['grafana_folder', ...am.route.group_by]);
    expect(am.route.routes.map((r) => [r.receiver, r.matchers[0]])).toEqual(
      grafana.policies[0]?.routes.map((r) => [r.receiver, `severity="${r.object_matchers[0]?.[2]}"`]),
    );
    expect(
      am.route.routes.find((r) => r.matchers[0] === 'severity="critical"')?.mute_time_intervals,
    ).toBeUndefined();
    expect(
      am.route.routes.find((r) => r.matchers[0] === 'severity="warning"')?.mute_time_intervals,
    ).toHaveLength(1);
    expect(am.time_intervals[0]?.time_intervals).toEqual(grafana.muteTimes[0]?.time_intervals);
    expect(am.inhibit_rules).toEqual([
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ['objective', 'job'],
      },
    ]);
  });

  it('the SLO file sets for:, the timings and the quiet hours; without quiet hours nothing is muted', () => {
    const base = parse(readFileSync(join(REPO, 'slo.yaml'), 'utf8')) as Record<string, unknown>;
    const slo = parseSlo(
      stringify({
        ...base,
        alerting: { for: { error_budget: '5s' }, group_wait: '1s', quiet_hours: { intervals: [] } },
      }),
    );
    expect(slo.alerting.for.api_latency).toBe('2m');
    expect(
      promRules(slo)
        .filter((r) => r.alert === 'HotpathErrorBudget')
        .map((r) => r.for),
    ).toEqual(['5s', '5s', '5s', '5s']);
    const am = alertmanagerConfig(slo) as { route: { group_wait: string; routes: object[] } };
    expect(am.route.group_wait).toBe('1s');
    expect(JSON.stringify(am)).not.toContain('mute_time_intervals');
    expect(() => parseSlo(stringify({ ...base, alerting: { quiet_hours: { intervals: [{}] } } }))).toThrow(
      /give times, weekdays or both/,
    );
  });

  it('receivers from the environment: what is not set is left out, one line each', () => {
    const none = receiverSettingsFromEnv({});
    expect(none.leftOut).toEqual([
      'Slack left out: SLACK_WEBHOOK_URL is not set',
      'webhook left out: ALERT_WEBHOOK_URL is not set',
      'e-mail left out: ALERT_EMAIL_TO and SMTP_SMARTHOST are not set',
    ]);
    const config = alertmanagerConfig(loadSlo(), {
      ...none.settings,
      everyReceiver: ['http://127.0.0.1:1/sink'],
    }) as {
      global: Record<string, unknown>;
      receivers: Record<string, unknown>[];
    };
    expect(config.global).toEqual({ resolve_timeout: '5m' });
    for (const r of config.receivers) {
      expect(Object.keys(r).sort()).toEqual(['name', 'webhook_configs']);
    }
    const all = receiverSettingsFromEnv({
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X',
      ALERT_WEBHOOK_URL: 'https://example.com/hook',
      ALERT_EMAIL_TO: 'oncall@example.com',
      SMTP_SMARTHOST: 'smtp.example.com:587',
    });
    expect(all.leftOut).toEqual([]);
    const full = alertmanagerConfig(loadSlo(), all.settings) as { receivers: Record<string, unknown>[] };
    expect(full.receivers.map((r) => Object.keys(r).sort())).toEqual([
      ['email_configs', 'name', 'slack_configs', 'webhook_configs'],
      ['email_configs', 'name'],
    ]);
  });
});

describe('validated by the tools themselves', () => {
  it('promtool check rules and amtool check-config pass on the committed files', () => {
    expect(run('promtool', ['check', 'rules', join(REPO, 'stack/rules/alerts.yml')])).toContain('SUCCESS');
    expect(run('amtool', ['check-config', join(REPO, 'stack/alertmanager.yml')])).toContain('1 templates');
  });

  it('amtool check-config passes on a configuration rendered from the environment', () => {
    const { settings } = receiverSettingsFromEnv({
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X',
      ALERT_EMAIL_TO: 'oncall@example.com',
      SMTP_SMARTHOST: 'smtp.example.com:587',
      SMTP_PASSWORD: 'secret',
    });
    writeFileSync(join(dir, 'alertmanager.tmpl'), ALERTMANAGER_TEMPLATE);
    writeFileSync(join(dir, 'am.yml'), stringify(alertmanagerConfig(loadSlo(), settings)));
    expect(run('amtool', ['check-config', join(dir, 'am.yml')])).toContain('SUCCESS');
  });

  it('promtool test rules: the burn-rate alert needs both windows over the budget, then waits out for:', () => {
    // The conditions alone (annotations are templates promtool would compare verbatim).
    const rules = promRules().filter(
      (r) => r.alert === 'HotpathErrorBudget' && r.labels.slo_scope === 'default',
    );
    writeFileSync(
      join(dir, 'burn.yml'),
      stringify({ groups: [{ name: 'burn', rules: rules.map(({ annotations: _, ...r }) => r) }] }),
    );
    const series = (code: string, values: string) => ({
      series: `http_server_request_duration_seconds_count{job="shop", http_route="/pay", http_response_status_code="${code}"}`,
      values,
    });
    const labels = {
      job: 'shop',
      http_route: '/pay',
      objective: 'error-budget',
      slo_scope: 'default',
      source: 'hotpath',
    };
    writeFileSync(
      join(dir, 'burn.test.yml'),
      stringify({
        rule_files: ['burn.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            // An hour healthy, then 20 % errors for 10 minutes: the 1h window reaches 14.4 % only at ~+50 min;
            // before that only the short window burns, which alone is not enough.
            interval: '1m',
            input_series: [series('200', '0+100x60 6000+80x60'), series('500', '0x60 0+20x60')],
            alert_rule_test: [
              { eval_time: '70m', alertname: 'HotpathErrorBudget', exp_alerts: [] },
              // By then the 1h window burns too (since ~+43 min, with 2m for:), and the 6h/30m pair at 6 % (the 6h
              // window holds only the two hours there are: over 6 % from ~+26 min).
              {
                eval_time: '119m',
                alertname: 'HotpathErrorBudget',
                exp_alerts: [
                  { exp_labels: { ...labels, severity: 'critical' } },
                  { exp_labels: { ...labels, severity: 'warning' } },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(run('promtool', ['test', 'rules', join(dir, 'burn.test.yml')])).toContain('SUCCESS');
  });
});
