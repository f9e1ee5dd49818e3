/**
 * Grafana alerting as files, generated from the SLO file: alert rules (one per objective, with per-service
 * overrides as their own rules), contact points from the environment, a message template, a notification
 * policy routing by severity and a mute timing. Written to `provisioning/alerting/hotpath.yaml`.
 *
 * Every rule is a PromQL (or SQL) query A, reduced to its last value (B) and compared with a threshold (C).
 * `ALERT_RULES` is that model; the YAML is rendered from it, and the tests evaluate the same model on the real
 * test Prometheus, so what is tested is what Grafana runs.
 *
 * File format: https://grafana.com/docs/grafana/latest/alerting/set-up/provision-alerting-resources/file-provisioning/
 */

import { createHash } from 'node:crypto';
import { type BurnRate, loadSlo, type Objectives, objectivesFor, type SloFile } from '@hotpath/analyzer/slo';
import {
  ATTR,
  METRICS,
  PROMETHEUS_SERIES,
  prometheusName,
  prometheusSeries,
  RECORDED,
} from '@hotpath/instrumentation';
import { dashboards } from './dashboards/index.ts';
import { DATASOURCE_UIDS } from './datasources.ts';

export type Severity = 'critical' | 'warning';

/** What an alert is about: one per objective (or pipeline part); both severities of one objective share it. */
export type Objective =
  | 'api-latency'
  | 'error-budget'
  | 'database-latency'
  | 'event-loop'
  | 'heap-growth'
  | 'cpu'
  | 'page-load'
  | 'lcp'
  | 'findings'
  | 'analyzer'
  | 'collector'
  | 'prometheus-ingestion';

/** One alert rule: query → last value → `value > threshold`. */
export interface AlertRuleSpec {
  readonly uid: string;
  /** The Prometheus alert name (and label `alertname`): the objective in CamelCase, shared by its severities. */
  readonly alertname: string;
  readonly objective: Objective;
  /** Whose objectives the rule applies: a service with its own (slo.yaml `services`), `default`, or `all`. */
  readonly scope: string;
  readonly title: string;
  readonly severity: Severity;
  readonly datasource: 'prometheus' | 'findings';
  /** PromQL (instant) or SQL returning one numeric `value` column. */
  readonly query: string;
  /**
   * For a rule on the findings database: the same condition in PromQL, on the analyzer's
   * `hotpath.findings.open` gauge, for the Prometheus rule files (Prometheus cannot run SQL).
   */
  readonly promql?: string;
  /** The label naming the alert's subject (a route, a page), for the link to the analyzer's finding. */
  readonly subjectLabel?: string;
  readonly threshold: number;
  readonly for: string;
  readonly summary: string;
  /** Runbook: what it means, where to look, what usually fixes it. */
  readonly description: string;
  readonly dashboardUid: string;
  /** The panel the alert links to (by title; the generated file carries its id). */
  readonly panelTitle?: string;
  /** What makes it fire on the test harness: a demo scenario, or a source the harness feeds otherwise. */
  readonly firesWith:
    | { readonly scenario: string }
    | { readonly synthetic: 'browser' | 'remote-write-errors' | 'findings' | 'collector' | 'analyzer' };
}

const FOLDER = 'Hotpath';

/** `api-latency` → `HotpathApiLatency`. */
export function alertName(objective: Objective): string {
  return `Hotpath${objective.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`;
}
const about = (objective: Objective) => ({ objective, alertname: alertName(objective) });
const HTTP = METRICS.httpServerRequestDuration;
const FINDINGS_OPEN = prometheusName(METRICS.hotpathFindingsOpen);
// Metric attributes become labels with dots as underscores (the pull and OTLP paths agree on it).
const FINDING_SEVERITY = ATTR.findingSeverity.replaceAll('.', '_');
const FINDING_SERVICE = ATTR.serviceName.replaceAll('.', '_');
const ms = (v: number) => v / 1000;

/** Services with their own objectives, and the matcher for "everyone else". */
function serviceScopes(
  slo: SloFile,
): { name: string; id: string; matcher: string; objectives: Objectives }[] {
  const overridden = Object.keys(slo.services);
  const scopes = overridden.map((service) => ({
    name: service,
    // Grafana rule uids are at most 40 characters: a service is named by a short hash of its name.
    id: `s${createHash('sha1').update(service).digest('hex').slice(0, 8)}`,
    // OTLP jobs are namespace/name; pull-mode jobs are the name: match both.
    matcher: `job=~"(.+/)?${service}"`,
    objectives: objectivesFor(slo, service),
  }));
  scopes.push({
    name: 'default',
    id: 'default',
    matcher: overridden.length === 0 ? 'job=~".+"' : `job!~"(.+/)?(${overridden.join('|')})"`,
    objectives: slo.defaults,
  });
  return scopes;
}

function errorRatio(window: string, matcher: string): string {
  const count = prometheusSeries(HTTP, 'count');
  return (
    `sum by (job, http_route) (rate(${count}{${matcher}, http_response_status_code=~"5.."}[${window}]))` +
    ` / sum by (job, http_route) (rate(${count}{${matcher}}[${window}]))`
  );
}

function burnRateRules(
  scope: string,
  scopeId: string,
  matcher: string,
  o: Objectives,
  burnRates: readonly BurnRate[],
  holdFor: string,
): AlertRuleSpec[] {
  const budget = o.api.error_rate_percent / 100;
  return burnRates.map((b) => {
    const threshold = Number((b.factor * budget).toFixed(6));
    return {
      uid: `hp-burn-${b.severity}-${scopeId}`,
      ...about('error-budget'),
      scope,
      title: `API error budget burning ${b.factor}× (${b.long_window}/${b.short_window}) — ${scope}`,
      severity: b.severity,
      datasource: 'prometheus',
      // Both windows must burn: the long one proves it matters, the short one that it is still happening.
      // (`and` binds looser than `>`: each window carries its own comparison, or the long one would go unjudged.)
      query: `(${errorRatio(b.long_window, matcher)}) > ${threshold} and (${errorRatio(b.short_window, matcher)}) > ${threshold}`,
      threshold,
      for: holdFor,
      subjectLabel: 'http_route',
      summary:
        '{{ $labels.job }} {{ $labels.http_route }}: 5xx ratio {{ humanizePercentage $values.B.Value }}',
      description:
        `The 5xx ratio of this route burns the ${o.api.error_rate_percent} % error budget ${b.factor}× faster than ` +
        `sustainable over ${b.long_window} and still over ${b.short_window}. Look at the Endpoints dashboard for the ` +
        'route, then at its failing traces in Tempo (status = error). Usual causes: a failing dependency (timeouts, ' +
        '502s from an upstream), a bad deploy. Roll back or fail over first, then fix.',
      dashboardUid: 'hotpath-endpoints',
      panelTitle: '5xx ratio by route',
      firesWith: { scenario: 'error-burst' },
    };
  });
}

/** The alert rules the SLO file implies. */
export function alertRules(slo: SloFile = loadSlo()): AlertRuleSpec[] {
  const rules: AlertRuleSpec[] = [];
  const holdFor = slo.alerting.for;
  for (const { name, id, matcher, objectives: o } of serviceScopes(slo)) {
    const p95 = ms(o.api.latency_p95_ms);
    rules.push({
      uid: `hp-api-p95-${id}`,
      ...about('api-latency'),
      scope: name,
      title: `API p95 latency over ${o.api.latency_p95_ms} ms — ${name}`,
      severity: 'warning',
      datasource: 'prometheus',
      // Only routes with enough traffic to judge: a single slow request is not a p95.
      query:
        `${RECORDED.routeP95}{${matcher}} > ${p95} and on (job, http_route, http_request_method) ` +
        `${RECORDED.routeRequestRate}{${matcher}} > ${o.api.min_request_rate_per_s}`,
      threshold: p95,
      for: holdFor.api_latency,
      subjectLabel: 'http_route',
      summary:
        '{{ $labels.job }} {{ $labels.http_request_method }} {{ $labels.http_route }}: p95 {{ humanizeDuration $values.B.Value }}',
      description:
        `The route's 95th-percentile latency is above the ${o.api.latency_p95_ms} ms SLO. Open the Endpoints dashboard ` +
        'and click an exemplar on the latency panel to get a slow trace: it shows whether the time goes to the database, ' +
        "an outbound call or the service's own code. The Bottlenecks dashboard lists the analyzer's explanation and fix.",
      dashboardUid: 'hotpath-endpoints',
      panelTitle: 'p95 by route, with exemplars',
      firesWith: { scenario: 'slow-endpoint' },
    });
    rules.push(...burnRateRules(name, id, matcher, o, slo.error_budget.burn_rates, holdFor.error_budget));
    const db = ms(o.database.query_p95_ms);
    rules.push({
      uid: `hp-db-p95-${id}`,
      ...about('database-latency'),
      scope: name,
      title: `DB query p95 over ${o.database.query_p95_ms} ms — ${name}`,
      severity: 'warning',
      datasource: 'prometheus',
      query: `${RECORDED.dbP95}{${matcher}} > ${db}`,
      threshold: db,
      for: holdFor.database_latency,
      summary:
        '{{ $labels.job }} {{ $labels.db_operation_name }} on {{ $labels.db_namespace }}: p95 {{ humanizeDuration $values.B.Value }}',
      description:
        `Database operations of this service take longer than the ${o.database.query_p95_ms} ms SLO at the 95th ` +
        "percentile. The Database dashboard's top statements (from pg_stat_statements) name the statement; run EXPLAIN " +
        'on it. A sequential scan on a large table usually means a missing index (the analyzer proposes the CREATE ' +
        'INDEX CONCURRENTLY); many identical statements per request mean an N+1 loop.',
      dashboardUid: 'hotpath-database',
      panelTitle: 'Query p95 by operation',
      firesWith: { scenario: 'missing-index' },
    });
    const loop = ms(o.runtime.event_loop_p99_ms);
    rules.push({
      uid: `hp-event-loop-p99-${id}`,
      ...about('event-loop'),
      scope: name,
      title: `Event-loop delay p99 over ${o.runtime.event_loop_p99_ms} ms — ${name}`,
      severity: 'critical',
      datasource: 'prometheus',
      query: `max by (job, instance) (max_over_time(${prometheusName(METRICS.nodejsEventloopDelayP99)}{${matcher}}[1m])) > ${loop}`,
      threshold: loop,
      for: holdFor.event_loop,
      summary:
        '{{ $labels.job }} {{ $labels.instance }}: event loop blocked, p99 delay {{ humanizeDuration $values.B.Value }}',
      description:
        'Synchronous work is blocking the Node.js event loop: every request on this instance waits behind it. Typical ' +
        'causes are sync crypto (pbkdf2Sync, bcrypt sync), JSON.parse/stringify of large payloads, sync fs calls. Take ' +
        'a CPU profile (node --cpu-prof) under load, move the work to async APIs or a worker thread.',
      dashboardUid: 'hotpath-runtime',
      panelTitle: 'Event-loop delay',
      firesWith: { scenario: 'event-loop-block' },
    });
    const growth = o.runtime.heap_growth_mb_per_hour * 1e6;
    const live = prometheusName(METRICS.hotpathV8jsHeapLive);
    rules.push({
      uid: `hp-heap-growth-${id}`,
      ...about('heap-growth'),
      scope: name,
      title: `Heap growing over ${o.runtime.heap_growth_mb_per_hour} MB/h — ${name}`,
      severity: 'warning',
      datasource: 'prometheus',
      // The heap left after each major GC (`hotpath.v8js.heap.live`, what the process still references) rising, in
      // bytes per hour, over at least three collections (two changes of the gauge): the fewest that show a trend
      // rather than two points, as the analyzer's memory-leak detector requires (heap-trend.ts MIN_COLLECTIONS).
      // Heap in use would also count promoted garbage, whose floor climbs in a healthy process between GCs.
      query:
        `deriv(${live}{${matcher}}[10m]) * 3600 > ${growth} ` + `and changes(${live}{${matcher}}[10m]) >= 2`,
      threshold: growth,
      for: holdFor.heap_growth,
      summary:
        '{{ $labels.job }} {{ $labels.instance }}: heap after GC grows {{ humanize $values.B.Value }}B/h',
      description:
        'The heap left after each major garbage collection keeps growing: the process holds on to more and more. ' +
        "Hotpath's memory-leak finding names the allocation site that grows when the app is profiled " +
        '(HOTPATH_PROFILING=on); without profiles, compare two heap snapshots taken minutes apart.',
      dashboardUid: 'hotpath-runtime',
      panelTitle: 'Memory',
      firesWith: { scenario: 'memory-leak' },
    });
    const cpu = o.runtime.cpu_utilization_percent / 100;
    rules.push({
      uid: `hp-cpu-${id}`,
      ...about('cpu'),
      scope: name,
      title: `CPU over ${o.runtime.cpu_utilization_percent} % of one core — ${name}`,
      severity: 'warning',
      datasource: 'prometheus',
      // Cores used by the process; JavaScript runs on one thread, so one core is the ceiling that matters.
      query: `sum by (job, instance) (rate(${prometheusName(METRICS.processCpuTime)}{${matcher}}[1m])) > ${cpu}`,
      threshold: cpu,
      for: holdFor.cpu,
      summary: '{{ $labels.job }} {{ $labels.instance }}: {{ humanizePercentage $values.B.Value }} of a core',
      description:
        'The process uses (nearly) a whole core: its JavaScript thread is saturated and latency grows with load. ' +
        'Profile under load (node --cpu-prof) to find the hot function; cache or precompute it, or scale out.',
      dashboardUid: 'hotpath-runtime',
      panelTitle: 'Process CPU utilization',
      firesWith: { scenario: 'slow-endpoint' },
    });
    const pageLoad = ms(o.frontend.page_load_p75_ms);
    rules.push({
      uid: `hp-page-load-p75-${id}`,
      ...about('page-load'),
      scope: name,
      title: `Page load p75 over ${o.frontend.page_load_p75_ms / 1000} s — ${name}`,
      severity: 'warning',
      datasource: 'prometheus',
      query: `histogram_quantile(0.75, sum by (job, page_route, le) (rate(${prometheusSeries(METRICS.browserPageLoadDuration, 'bucket')}{${matcher}}[5m]))) > ${pageLoad}`,
      threshold: pageLoad,
      for: holdFor.frontend,
      subjectLabel: 'page_route',
      summary:
        '{{ $labels.job }} {{ $labels.page_route }}: page load p75 {{ humanizeDuration $values.B.Value }}',
      description:
        'Real browsers take longer than the page-load SLO to load this page. The Frontend dashboard shows which Web ' +
        'Vital is off; the analyzer names heavy or render-blocking assets. Defer or split scripts, compress assets.',
      dashboardUid: 'hotpath-frontend',
      panelTitle: 'Page load p75 by page',
      firesWith: { synthetic: 'browser' },
    });
    const lcp = ms(o.frontend.lcp_p75_ms);
    rules.push({
      uid: `hp-lcp-p75-${id}`,
      ...about('lcp'),
      scope: name,
      title: `LCP p75 over ${o.frontend.lcp_p75_ms / 1000} s — ${name}`,
      severity: 'warning',
      datasource: 'prometheus',
      query: `histogram_quantile(0.75, sum by (job, page_route, le) (rate(${prometheusSeries(METRICS.browserWebVitalLcp, 'bucket')}{${matcher}}[5m]))) > ${lcp}`,
      threshold: lcp,
      for: holdFor.frontend,
      subjectLabel: 'page_route',
      summary: '{{ $labels.job }} {{ $labels.page_route }}: LCP p75 {{ humanizeDuration $values.B.Value }}',
      description:
        "The page's largest element paints late for a quarter of real users. Find the LCP element (Chrome DevTools → " +
        'Performance), make it load early (preload, no lazy-loading above the fold) and make its server answer fast.',
      dashboardUid: 'hotpath-frontend',
      panelTitle: 'LCP p75 by page',
      firesWith: { synthetic: 'browser' },
    });
  }
  rules.push(
    {
      uid: 'hp-new-critical-finding',
      ...about('findings'),
      scope: 'all',
      title: 'New critical finding from the Hotpath analyzer',
      severity: 'critical',
      datasource: 'findings',
      query:
        "SELECT count(*)::float AS value FROM findings WHERE status = 'open' AND severity = 'critical' " +
        "AND first_seen > now() - interval '15 minutes'",
      // The same question of the analyzer's open-findings gauge: critical findings open now, none 15 minutes ago.
      promql:
        `(sum by (${FINDING_SERVICE}) (${FINDINGS_OPEN}{${FINDING_SEVERITY}="critical"}) > 0) unless ` +
        `(sum by (${FINDING_SERVICE}) (${FINDINGS_OPEN}{${FINDING_SEVERITY}="critical"} offset 15m) > 0)`,
      threshold: 0,
      for: holdFor.findings,
      summary: '{{ $values.B.Value }} new critical finding(s)',
      description:
        'The analyzer found a critical bottleneck in the last 15 minutes. The Bottlenecks dashboard has its root ' +
        'cause, evidence and the recommended fix; acknowledge it there (or through the analyzer API) once someone owns it.',
      dashboardUid: 'hotpath-bottlenecks',
      panelTitle: 'Open findings',
      firesWith: { synthetic: 'findings' },
    },
    {
      uid: 'hp-analyzer-cycles-failing',
      ...about('analyzer'),
      scope: 'all',
      title: 'Hotpath analyzer: analysis cycles fail',
      severity: 'warning',
      datasource: 'prometheus',
      // The share of cycles that failed, not their count, so the rule means the same at any HOTPATH_INTERVAL: more
      // than a quarter of ten minutes' cycles (three of ten at one a minute, six of twenty at the 30 s default).
      // A blip, a Prometheus restart of a minute or two, is not worth a page.
      query:
        `sum by (job) (increase(${prometheusName(METRICS.hotpathAnalysisFailures)}[10m])) / ` +
        `sum by (job) (increase(${prometheusName(METRICS.hotpathAnalysisDuration)}_count[10m])) > 0.25`,
      threshold: 0.25,
      for: holdFor.pipeline,
      summary:
        '{{ humanizePercentage $values.B.Value }} of the analysis cycles of {{ $labels.job }} failed in 10 minutes',
      description:
        'The analyzer cannot look: no new findings are raised and none are resolved while this lasts. Its /readyz ' +
        'names the upstream that does not answer (Prometheus, the app database, Tempo, its store), and ' +
        'GET /api/v1/analyses?status=failed gives each failed cycle with its reason.',
      dashboardUid: 'hotpath-bottlenecks',
      panelTitle: 'Analyzer cycles',
      firesWith: { synthetic: 'analyzer' },
    },
    {
      uid: 'hp-collector-export-failing',
      ...about('collector'),
      scope: 'all',
      title: 'Telemetry pipeline: the collector refuses or fails to send data',
      severity: 'critical',
      datasource: 'prometheus',
      query:
        `sum by (job) (rate(${PROMETHEUS_SERIES.collectorExporterSendFailedMetricPoints}[5m]) + ` +
        `rate(${PROMETHEUS_SERIES.collectorExporterSendFailedSpans}[5m]) + ` +
        `rate(${PROMETHEUS_SERIES.collectorReceiverRefusedMetricPoints}[5m]) + ` +
        `rate(${PROMETHEUS_SERIES.collectorReceiverRefusedSpans}[5m])) > 0`,
      threshold: 0,
      for: holdFor.pipeline,
      summary: 'the collector loses telemetry: {{ humanize $values.B.Value }} items/s refused or not sent',
      description:
        'The OpenTelemetry Collector refuses data (memory limiter: it is out of memory) or cannot deliver it to ' +
        'Prometheus or Tempo (down, or rejecting). Dashboards and the analyzer then see gaps. Check the collector logs ' +
        'and otelcol_exporter_queue_size; data waits in the persistent queue until the backend returns.',
      dashboardUid: 'hotpath-overview',
      firesWith: { synthetic: 'collector' },
    },
    {
      uid: 'hp-prometheus-ingestion-failing',
      ...about('prometheus-ingestion'),
      scope: 'all',
      title: 'Telemetry pipeline: Prometheus rejects incoming metrics',
      severity: 'critical',
      datasource: 'prometheus',
      query: `sum by (handler, code) (rate(${PROMETHEUS_SERIES.prometheusHttpRequests}{handler=~"/api/v1/(write|otlp/v1/metrics)", code!~"2.."}[5m])) > 0`,
      threshold: 0,
      for: holdFor.pipeline,
      summary: 'Prometheus answers {{ $labels.code }} on {{ $labels.handler }}',
      description:
        'OTLP or remote-write requests to Prometheus fail: metrics from the collector, Tempo (span metrics) or k6 ' +
        'are lost. 4xx usually means out-of-order or malformed samples (see prometheus_tsdb_out_of_order_samples_total), ' +
        '5xx a storage problem. Check the Prometheus logs.',
      dashboardUid: 'hotpath-overview',
      firesWith: { synthetic: 'remote-write-errors' },
    },
  );
  return rules;
}

/** A channel of a receiver; each is left out where its settings are not given. */
export type Channel = 'slack' | 'webhook' | 'email';

/**
 * Where alerts go, the same for Grafana and Alertmanager: criticals to on-call (Slack, the webhook, e-mail) at
 * any hour, warnings by e-mail outside the quiet hours, and a firing critical holds back the warning of the same
 * objective and service (Alertmanager's inhibition; Grafana's own Alertmanager has none: README "Alerts").
 */
export interface AlertRouting {
  readonly defaultReceiver: string;
  readonly receivers: Readonly<Record<string, readonly Channel[]>>;
  readonly routes: readonly { severity: Severity; receiver: string; quietHours: boolean }[];
  readonly groupBy: readonly string[];
  readonly groupWait: string;
  readonly groupInterval: string;
  readonly repeatInterval: Readonly<Record<Severity, string>>;
  readonly quietHours: { name: string } & SloFile['alerting']['quiet_hours'];
  readonly inhibit: readonly { source: Severity; target: Severity; equal: readonly string[] }[];
}

export const RECEIVERS = { oncall: 'hotpath-oncall', email: 'hotpath-email' } as const;

export function alertRouting(slo: SloFile = loadSlo()): AlertRouting {
  const a = slo.alerting;
  return {
    defaultReceiver: RECEIVERS.email,
    receivers: { [RECEIVERS.oncall]: ['slack', 'webhook', 'email'], [RECEIVERS.email]: ['email'] },
    routes: [
      { severity: 'critical', receiver: RECEIVERS.oncall, quietHours: false },
      { severity: 'warning', receiver: RECEIVERS.email, quietHours: true },
    ],
    // One notification per alert and service: the routes (or pages) failing together arrive together.
    groupBy: ['alertname', 'job'],
    groupWait: a.group_wait,
    groupInterval: a.group_interval,
    repeatInterval: a.repeat_interval,
    quietHours: { name: 'hotpath-quiet-hours', ...a.quiet_hours },
    inhibit: [{ source: 'critical', target: 'warning', equal: ['objective', 'job'] }],
  };
}

/** Panel ids by dashboard uid and panel title, from the generated dashboards. */
function panelIds(slo: SloFile): Map<string, number> {
  const ids = new Map<string, number>();
  for (const d of dashboards(slo)) {
    for (const panel of (d.json.panels ?? []) as { id?: number; title?: string }[]) {
      if (panel.id !== undefined && panel.title !== undefined) ids.set(`${d.uid}/${panel.title}`, panel.id);
    }
  }
  return ids;
}

function grafanaRule(rule: AlertRuleSpec, panels: Map<string, number>): Record<string, unknown> {
  const panelId =
    rule.panelTitle === undefined ? undefined : panels.get(`${rule.dashboardUid}/${rule.panelTitle}`);
  if (rule.panelTitle !== undefined && panelId === undefined) {
    throw new Error(`alert ${rule.uid}: no panel "${rule.panelTitle}" on dashboard ${rule.dashboardUid}`);
  }
  const datasourceUid =
    rule.datasource === 'prometheus' ? DATASOURCE_UIDS.prometheus : DATASOURCE_UIDS.findings;
  const model =
    rule.datasource === 'prometheus'
      ? { refId: 'A', expr: rule.query, instant: true, range: false, editorMode: 'code' }
      : { refId: 'A', rawSql: rule.query, format: 'table', rawQuery: true, editorMode: 'code' };
  return {
    uid: rule.uid,
    title: rule.title,
    condition: 'C',
    data: [
      { refId: 'A', relativeTimeRange: { from: 600, to: 0 }, datasourceUid, model },
      {
        refId: 'B',
        datasourceUid: '__expr__',
        model: { refId: 'B', type: 'reduce', expression: 'A', reducer: 'last', settings: { mode: 'dropNN' } },
      },
      {
        refId: 'C',
        datasourceUid: '__expr__',
        model: {
          refId: 'C',
          type: 'threshold',
          expression: 'B',
          conditions: [{ evaluator: { type: 'gt', params: [rule.threshold] } }],
        },
      },
    ],
    // A query that returns nothing means "nothing is over the threshold" (the comparison is in the PromQL).
    noDataState: 'OK',
    execErrState: 'Error',
    for: rule.for,
    dashboardUid: rule.dashboardUid,
    ...(panelId === undefined ? {} : { panelId }),
    annotations: {
      summary: rule.summary,
      description: rule.description,
      runbook_url: `/d/${rule.dashboardUid}${panelId === undefined ? '' : `?viewPanel=${panelId}`}`,
    },
    labels: { severity: rule.severity, objective: rule.objective, slo_scope: rule.scope, source: 'hotpath' },
    isPaused: false,
  };
}

/** The alerting provisioning file. Contact point settings come from the environment (Grafana expands $VAR). */
export function alertingFile(slo: SloFile = loadSlo()): Record<string, unknown> {
  const rules = alertRules(slo);
  const routing = alertRouting(slo);
  const panels = panelIds(slo);
  const group = (name: string, dashboardUids: readonly string[]) => ({
    orgId: 1,
    name,
    folder: FOLDER,
    interval: '1m',
    rules: rules.filter((r) => dashboardUids.includes(r.dashboardUid)).map((r) => grafanaRule(r, panels)),
  });
  return {
    apiVersion: 1,
    groups: [
      group('hotpath-api', ['hotpath-endpoints']),
      group('hotpath-database', ['hotpath-database']),
      group('hotpath-runtime', ['hotpath-runtime']),
      group('hotpath-frontend', ['hotpath-frontend']),
      group('hotpath-pipeline-and-findings', ['hotpath-overview', 'hotpath-bottlenecks']),
    ],
    templates: [
      {
        orgId: 1,
        name: 'hotpath',
        template: [
          '{{ define "hotpath.title" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ end }}',
          '{{ define "hotpath.message" }}{{ range .Alerts }}',
          '{{ .Annotations.summary }}',
          '{{ .Annotations.description }}',
          'Severity: {{ .Labels.severity }} — dashboard: {{ .DashboardURL }}',
          '{{ end }}{{ end }}',
        ].join('\n'),
      },
    ],
    contactPoints: [
      {
        orgId: 1,
        name: 'hotpath-email',
        receivers: [
          {
            uid: 'hotpath-email',
            type: 'email',
            settings: {
              addresses: '$ALERT_EMAIL_TO',
              subject: '{{ template "hotpath.title" . }}',
              message: '{{ template "hotpath.message" . }}',
            },
          },
        ],
      },
      {
        orgId: 1,
        name: 'hotpath-oncall',
        receivers: [
          {
            uid: 'hotpath-slack',
            type: 'slack',
            settings: {
              url: '$SLACK_WEBHOOK_URL',
              title: '{{ template "hotpath.title" . }}',
              text: '{{ template "hotpath.message" . }}',
            },
          },
          {
            uid: 'hotpath-webhook',
            type: 'webhook',
            settings: { url: '$ALERT_WEBHOOK_URL', httpMethod: 'POST' },
          },
          {
            uid: 'hotpath-oncall-email',
            type: 'email',
            settings: {
              addresses: '$ALERT_EMAIL_TO',
              subject: '{{ template "hotpath.title" . }}',
              message: '{{ template "hotpath.message" . }}',
            },
          },
        ],
      },
    ],
    policies: [
      {
        orgId: 1,
        receiver: routing.defaultReceiver,
        group_by: ['grafana_folder', ...routing.groupBy],
        group_wait: routing.groupWait,
        group_interval: routing.groupInterval,
        repeat_interval: routing.repeatInterval.warning,
        routes: routing.routes.map((r) => ({
          receiver: r.receiver,
          object_matchers: [['severity', '=', r.severity]],
          repeat_interval: routing.repeatInterval[r.severity],
          ...(r.quietHours ? { mute_time_intervals: [routing.quietHours.name] } : {}),
        })),
      },
    ],
    muteTimes: [
      {
        orgId: 1,
        name: routing.quietHours.name,
        // Grafana's mute timing takes the same intervals; its location is per interval.
        time_intervals: routing.quietHours.intervals.map((i) => ({
          ...i,
          location: routing.quietHours.location,
        })),
      },
    ],
  };
}
