/**
 * The second output of the alert model (alerts.ts): the same rules as Prometheus rule files and the same routing
 * as an Alertmanager configuration, for the local run (`npm run demo`) and for users who run that pair
 * (kube-prometheus and the like). Committed as `stack/rules/alerts.yml`, `stack/alertmanager.yml` and
 * `stack/alertmanager.tmpl` by `npm run generate`; `promtool check rules` and `amtool check-config` validate them.
 *
 * Formats: https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/ and
 * https://prometheus.io/docs/alerting/latest/configuration/ (Alertmanager 0.25, Debian bookworm's).
 */
import { loadSlo, type SloFile } from '@hotpath/analyzer/slo';
import { type AlertRuleSpec, alertRouting, alertRules, type Channel, type Objective } from './alerts.ts';

/** Where the notifications' links point. */
export interface AlertLinks {
  /** Grafana, for the dashboards. */
  readonly grafanaUrl: string;
  /** The analyzer's API, for the finding that explains an alert. */
  readonly analyzerUrl: string;
}

/** The compose stack's published ports: what the committed files link to. */
export const COMPOSE_LINKS: AlertLinks = {
  grafanaUrl: 'http://localhost:3000',
  analyzerUrl: 'http://localhost:8080',
};

/** The analyzer's layer for an objective without a subject label: its finding is one of that layer's. */
const LAYER: Partial<Record<Objective, string>> = {
  'database-latency': 'database',
  'event-loop': 'runtime',
  'heap-growth': 'runtime',
  cpu: 'runtime',
};

/** Grouped like Grafana's rule groups (alerts.ts), by the dashboard they link to. */
const GROUPS: readonly [string, readonly string[]][] = [
  ['hotpath-api', ['hotpath-endpoints']],
  ['hotpath-database', ['hotpath-database']],
  ['hotpath-runtime', ['hotpath-runtime']],
  ['hotpath-frontend', ['hotpath-frontend']],
  ['hotpath-pipeline-and-findings', ['hotpath-overview', 'hotpath-bottlenecks']],
];

/**
 * The analyzer link for an alert, as a Prometheus annotation template: the findings about the alert's service
 * and subject (its route or page), which include the cause that absorbed it as a symptom. Undefined for alerts
 * about the pipeline itself, which no finding explains.
 */
export function findingLink(rule: AlertRuleSpec, analyzerUrl: string): string | undefined {
  const api = `${analyzerUrl}/api/v1`;
  if (rule.objective === 'findings') {
    return `${api}/findings?service={{ $labels.service_name | urlquery }}&severity=critical&status=open`;
  }
  if (
    rule.datasource !== 'prometheus' ||
    ['analyzer', 'collector', 'prometheus-ingestion'].includes(rule.objective)
  ) {
    return rule.objective === 'analyzer' ? `${api}/analyses?status=failed` : undefined;
  }
  const params = ['service={{ $labels.job | urlquery }}'];
  if (rule.subjectLabel !== undefined) params.push(`subject={{ $labels.${rule.subjectLabel} | urlquery }}`);
  const layer = LAYER[rule.objective];
  if (layer !== undefined) params.push(`layer=${layer}`);
  params.push('status=open,acknowledged');
  return `${api}/findings?${params.join('&')}`;
}

/** Grafana's summary templates read `$values.B.Value` (its reduce step); Prometheus calls that `$value`. */
function prometheusTemplate(text: string): string {
  return text.replaceAll('$values.B.Value', '$value');
}

/** Prometheus alerting rules: the model's rules, with `for:`, labels and annotations (links included). */
export function prometheusAlertRulesFile(
  slo: SloFile = loadSlo(),
  options: { links?: AlertLinks; interval?: string } = {},
): Record<string, unknown> {
  const links = options.links ?? COMPOSE_LINKS;
  const rules = alertRules(slo);
  const rule = (r: AlertRuleSpec) => {
    const expr = r.datasource === 'prometheus' ? r.query : r.promql;
    if (expr === undefined) throw new Error(`alert ${r.uid}: no PromQL form for the Prometheus rule file`);
    const finding = findingLink(r, links.analyzerUrl);
    return {
      alert: r.alertname,
      expr,
      for: r.for,
      labels: { severity: r.severity, objective: r.objective, slo_scope: r.scope, source: 'hotpath' },
      annotations: {
        title: r.title,
        summary: prometheusTemplate(r.summary),
        description: r.description,
        dashboard: `${links.grafanaUrl}/d/${r.dashboardUid}`,
        bottlenecks: `${links.grafanaUrl}/d/hotpath-bottlenecks`,
        ...(finding === undefined ? {} : { finding }),
        uid: r.uid,
      },
    };
  };
  return {
    groups: GROUPS.map(([name, uids]) => ({
      name,
      interval: options.interval ?? '1m',
      rules: rules.filter((r) => uids.includes(r.dashboardUid)).map(rule),
    })),
  };
}

/** The notification text, for Slack and e-mail (the webhook gets Alertmanager's JSON, annotations included). */
export const ALERTMANAGER_TEMPLATE = `{{ define "hotpath.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.severity }} on {{ .CommonLabels.job }}{{ end }}

{{ define "hotpath.message" }}{{ range .Alerts }}
{{ .Annotations.title }}
{{ .Annotations.summary }}
{{ .Annotations.description }}
Severity: {{ .Labels.severity }}
Dashboard: {{ .Annotations.dashboard }}
Bottlenecks: {{ .Annotations.bottlenecks }}
{{ if .Annotations.finding }}Why (the analyzer's finding): {{ .Annotations.finding }}
{{ end }}{{ end }}{{ end }}
`;

/** Receivers' settings; a channel whose settings are absent is left out of every receiver. */
export interface ReceiverSettings {
  readonly slack?: { readonly apiUrl?: string; readonly apiUrlFile?: string; readonly channel?: string };
  /** Webhook URLs, each sent every notification of every receiver that has the webhook channel. */
  readonly webhooks?: readonly string[];
  readonly email?: {
    readonly to: string;
    readonly from: string;
    readonly smarthost: string;
    readonly username?: string;
    readonly password?: string;
    readonly passwordFile?: string;
    readonly requireTls?: boolean;
  };
  /** Webhooks every receiver sends to, whatever its channels (the local run's sink that prints them all). */
  readonly everyReceiver?: readonly string[];
}

/** What the committed `stack/alertmanager.yml` uses: secrets from files, as Kubernetes or Compose mount them. */
export const FILE_SECRETS: ReceiverSettings = {
  slack: { apiUrlFile: '/etc/alertmanager/secrets/slack-webhook-url' },
  webhooks: ['http://alert-webhook:9000/hotpath'],
  email: {
    to: 'oncall@example.com',
    from: 'hotpath@example.com',
    smarthost: 'smtp.example.com:587',
    username: 'hotpath',
    passwordFile: '/etc/alertmanager/secrets/smtp-password',
  },
};

/**
 * Receivers from the environment (the local run): SLACK_WEBHOOK_URL (and SLACK_CHANNEL), ALERT_WEBHOOK_URL,
 * ALERT_EMAIL_TO with SMTP_SMARTHOST (and SMTP_FROM, SMTP_USERNAME, SMTP_PASSWORD). `leftOut` says, one line
 * each, which channels are not configured.
 */
export function receiverSettingsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): {
  settings: ReceiverSettings;
  leftOut: string[];
} {
  const set = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const leftOut: string[] = [];
  const slackUrl = set('SLACK_WEBHOOK_URL');
  const webhook = set('ALERT_WEBHOOK_URL');
  const to = set('ALERT_EMAIL_TO');
  const smarthost = set('SMTP_SMARTHOST');
  if (slackUrl === undefined) leftOut.push('Slack left out: SLACK_WEBHOOK_URL is not set');
  if (webhook === undefined) leftOut.push('webhook left out: ALERT_WEBHOOK_URL is not set');
  if (to === undefined || smarthost === undefined) {
    const missing = [
      to === undefined ? 'ALERT_EMAIL_TO' : '',
      smarthost === undefined ? 'SMTP_SMARTHOST' : '',
    ]
      .filter(Boolean)
      .join(' and ');
    leftOut.push(`e-mail left out: ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set`);
  }
  const username = set('SMTP_USERNAME');
  const password = set('SMTP_PASSWORD');
  const channel = set('SLACK_CHANNEL');
  return {
    settings: {
      ...(slackUrl === undefined ? {} : { slack: { apiUrl: slackUrl, ...(channel ? { channel } : {}) } }),
      ...(webhook === undefined ? {} : { webhooks: [webhook] }),
      ...(to === undefined || smarthost === undefined
        ? {}
        : {
            email: {
              to,
              smarthost,
              from: set('SMTP_FROM') ?? 'hotpath@localhost',
              ...(username ? { username } : {}),
              ...(password ? { password } : {}),
            },
          }),
    },
    leftOut,
  };
}

function receiver(name: string, channels: readonly Channel[], s: ReceiverSettings): Record<string, unknown> {
  const out: Record<string, unknown> = { name };
  const webhooks = [...(channels.includes('webhook') ? (s.webhooks ?? []) : []), ...(s.everyReceiver ?? [])];
  if (channels.includes('slack') && s.slack !== undefined) {
    out.slack_configs = [
      {
        ...(s.slack.apiUrl === undefined ? {} : { api_url: s.slack.apiUrl }),
        ...(s.slack.apiUrlFile === undefined ? {} : { api_url_file: s.slack.apiUrlFile }),
        ...(s.slack.channel === undefined ? {} : { channel: s.slack.channel }),
        send_resolved: true,
        title: '{{ template "hotpath.title" . }}',
        text: '{{ template "hotpath.message" . }}',
      },
    ];
  }
  if (webhooks.length > 0) out.webhook_configs = webhooks.map((url) => ({ url, send_resolved: true }));
  if (channels.includes('email') && s.email !== undefined) {
    out.email_configs = [
      {
        to: s.email.to,
        send_resolved: true,
        headers: { Subject: '{{ template "hotpath.title" . }}' },
        text: '{{ template "hotpath.message" . }}',
      },
    ];
  }
  return out;
}

/** The Alertmanager configuration: the model's routing tree, inhibition, quiet hours and receivers. */
export function alertmanagerConfig(
  slo: SloFile = loadSlo(),
  settings: ReceiverSettings = FILE_SECRETS,
  templates: readonly string[] = ['alertmanager.tmpl'],
): Record<string, unknown> {
  const routing = alertRouting(slo);
  const quiet = routing.quietHours;
  const email = settings.email;
  return {
    global: {
      resolve_timeout: '5m',
      ...(email === undefined
        ? {}
        : {
            smtp_smarthost: email.smarthost,
            smtp_from: email.from,
            smtp_require_tls: email.requireTls ?? true,
            ...(email.username === undefined ? {} : { smtp_auth_username: email.username }),
            ...(email.password === undefined ? {} : { smtp_auth_password: email.password }),
            ...(email.passwordFile === undefined ? {} : { smtp_auth_password_file: email.passwordFile }),
          }),
    },
    templates: [...templates],
    route: {
      receiver: routing.defaultReceiver,
      group_by: [...routing.groupBy],
      group_wait: routing.groupWait,
      group_interval: routing.groupInterval,
      repeat_interval: routing.repeatInterval.warning,
      routes: routing.routes.map((r) => ({
        receiver: r.receiver,
        matchers: [`severity="${r.severity}"`],
        repeat_interval: routing.repeatInterval[r.severity],
        ...(r.quietHours && quiet.intervals.length > 0 ? { mute_time_intervals: [quiet.name] } : {}),
      })),
    },
    inhibit_rules: routing.inhibit.map((i) => ({
      source_matchers: [`severity="${i.source}"`],
      target_matchers: [`severity="${i.target}"`],
      equal: [...i.equal],
    })),
    ...(quiet.intervals.length === 0
      ? {}
      : {
          time_intervals: [
            {
              name: quiet.name,
              time_intervals: quiet.intervals.map((i) => ({ ...i, location: quiet.location })),
            },
          ],
        }),
    receivers: Object.entries(routing.receivers).map(([name, channels]) =>
      receiver(name, channels, settings),
    ),
  };
}
