/**
 * Grafana datasources, provisioned with fixed uids so dashboards, alert rules and links can name them. The
 * provisioning file (`provisioning/datasources/hotpath.yaml`) is generated from this module: the trace-to-metrics
 * queries use catalogued metric names, which must not be typed twice.
 *
 * File format: https://grafana.com/docs/grafana/latest/administration/provisioning/#data-sources
 */
import { METRICS, prometheusSeries } from '@hotpath/instrumentation';

export const DATASOURCE_UIDS = {
  prometheus: 'hotpath-prometheus',
  tempo: 'hotpath-tempo',
  pyroscope: 'hotpath-pyroscope',
  findings: 'hotpath-findings',
} as const;

/** Compose service URLs, as Grafana (inside the compose network) reaches them. */
export const STACK_URLS = {
  prometheus: 'http://prometheus:9090',
  tempo: 'http://tempo:3200',
  pyroscope: 'http://pyroscope:4040',
  postgres: 'postgres:5432',
} as const;

/**
 * Grafana expands `$VAR` and `${VAR}` in provisioning files when it loads them; Grafana's own placeholders
 * (`$__tags`, `$__rate_interval`) must therefore be written `$$…` or they are replaced by empty strings.
 */
function grafanaPlaceholders(query: string): string {
  return query.replaceAll('$__', '$$$$__');
}

export function datasourcesFile(): Record<string, unknown> {
  const http = METRICS.httpServerRequestDuration;
  return {
    apiVersion: 1,
    // Datasources removed from this file are removed from Grafana too.
    prune: true,
    datasources: [
      {
        name: 'Prometheus',
        uid: DATASOURCE_UIDS.prometheus,
        type: 'prometheus',
        access: 'proxy',
        url: STACK_URLS.prometheus,
        isDefault: true,
        editable: false,
        jsonData: {
          httpMethod: 'POST',
          prometheusType: 'Prometheus',
          prometheusVersion: '3.14.0',
          // The apps' export interval and the scrape interval: $__rate_interval is derived from it.
          timeInterval: '10s',
          exemplarTraceIdDestinations: [
            {
              name: 'trace_id',
              datasourceUid: DATASOURCE_UIDS.tempo,
              urlDisplayLabel: 'Open trace in Tempo',
            },
          ],
        },
      },
      {
        name: 'Tempo',
        uid: DATASOURCE_UIDS.tempo,
        type: 'tempo',
        access: 'proxy',
        url: STACK_URLS.tempo,
        editable: false,
        jsonData: {
          // From a span to the metrics of its route: the span's service and route become label matchers.
          tracesToMetrics: {
            datasourceUid: DATASOURCE_UIDS.prometheus,
            spanStartTimeShift: '-10m',
            spanEndTimeShift: '10m',
            tags: [
              { key: 'service.name', value: 'service_name' },
              { key: 'http.route', value: 'http_route' },
            ],
            queries: [
              {
                name: 'Route latency p95 (app metrics)',
                query: grafanaPlaceholders(
                  `histogram_quantile(0.95, sum by (le) (rate(${prometheusSeries(http, 'bucket')}{$__tags}[$__rate_interval])))`,
                ),
              },
              {
                name: 'Route request rate (app metrics)',
                query: grafanaPlaceholders(
                  `sum(rate(${prometheusSeries(http, 'count')}{$__tags}[$__rate_interval]))`,
                ),
              },
              {
                name: 'Route 5xx rate (app metrics)',
                query: grafanaPlaceholders(
                  `sum(rate(${prometheusSeries(http, 'count')}{$__tags, http_response_status_code=~"5.."}[$__rate_interval]))`,
                ),
              },
            ],
          },
          // From a span to the profile of the code it ran: @hotpath/instrumentation labels each wall sample with
          // its server span (span_id, span_name) and sets pyroscope.profile.id on the span; the service matches
          // Pyroscope's service_name. Wall time, the profile type the Node SDK pushes (fixture README §2).
          tracesToProfiles: {
            datasourceUid: DATASOURCE_UIDS.pyroscope,
            tags: [{ key: 'service.name', value: 'service_name' }],
            profileTypeId: 'wall:wall:nanoseconds:wall:nanoseconds',
            customQuery: false,
          },
          // The service graph and its node graph come from Tempo's metrics generator, stored in Prometheus.
          serviceMap: { datasourceUid: DATASOURCE_UIDS.prometheus },
          nodeGraph: { enabled: true },
          search: { hide: false },
          traceQuery: { timeShiftEnabled: true, spanStartTimeShift: '-10m', spanEndTimeShift: '10m' },
          streamingEnabled: { search: true, metrics: true },
        },
      },
      {
        name: 'Pyroscope',
        uid: DATASOURCE_UIDS.pyroscope,
        type: 'grafana-pyroscope-datasource',
        access: 'proxy',
        url: STACK_URLS.pyroscope,
        editable: false,
        // The SDK pushes every 15 s in compose (PYROSCOPE_FLUSH_INTERVAL_MS): no finer step has data.
        jsonData: { minStep: '15s' },
      },
      {
        name: 'Hotpath findings',
        uid: DATASOURCE_UIDS.findings,
        type: 'grafana-postgresql-datasource',
        access: 'proxy',
        url: STACK_URLS.postgres,
        // A role that can only read the analyzer's tables (stack/postgres/init/01-hotpath.sh).
        user: 'grafana_reader',
        editable: false,
        jsonData: {
          database: 'hotpath',
          sslmode: 'disable',
          postgresVersion: 1500,
          maxOpenConns: 5,
        },
        secureJsonData: { password: '$GRAFANA_DB_PASSWORD' },
      },
    ],
  };
}
