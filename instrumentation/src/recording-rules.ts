/**
 * Prometheus recording rules for the expensive per-route and per-operation aggregations that dashboards,
 * alert rules and the analyzer all read. Built from the signal catalogue, so no metric name is typed here; the
 * committed YAML (`stack/prometheus/rules/hotpath.rules.yml`) is generated from this module and checked for drift.
 *
 * Naming follows Prometheus's `level:metric:operations` convention.
 */
import { prometheusName, prometheusSeries } from './prometheus-names.ts';
import { METRICS } from './semconv.ts';

/** The window every recorded rate uses; one window keeps recorded series comparable. */
export const RULE_WINDOW = '1m';

const HTTP = METRICS.httpServerRequestDuration;
const DB = METRICS.dbClientOperationDuration;
const HEAP = METRICS.v8jsMemoryHeapUsed;

const ROUTE_LABELS = 'job, http_route, http_request_method';
const DB_LABELS = 'job, db_system_name, db_operation_name, db_namespace';

/** Names of recorded series, for the dashboards, alerts and analyzer to import. */
export const RECORDED = {
  routeRequestRate: `job_route:${prometheusName(HTTP)}_count:rate${RULE_WINDOW}`,
  routeErrorRate: `job_route:${prometheusName(HTTP)}_count:errors_rate${RULE_WINDOW}`,
  routeErrorRatio: `job_route:${prometheusName(HTTP)}_count:error_ratio_rate${RULE_WINDOW}`,
  routeBucketRate: `job_route:${prometheusSeries(HTTP, 'bucket')}:rate${RULE_WINDOW}`,
  routeP50: `job_route:${prometheusName(HTTP)}:p50_rate${RULE_WINDOW}`,
  routeP95: `job_route:${prometheusName(HTTP)}:p95_rate${RULE_WINDOW}`,
  routeP99: `job_route:${prometheusName(HTTP)}:p99_rate${RULE_WINDOW}`,
  dbBucketRate: `job_operation:${prometheusSeries(DB, 'bucket')}:rate${RULE_WINDOW}`,
  dbP95: `job_operation:${prometheusName(DB)}:p95_rate${RULE_WINDOW}`,
  heapUsed: `job_instance:${prometheusName(HEAP)}:sum`,
} as const;

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export interface RuleGroup {
  readonly name: string;
  readonly interval: string;
  readonly rules: readonly RecordingRule[];
}

const quantile = (q: number, bucketRate: string, labels: string): string =>
  `histogram_quantile(${q}, sum by (${labels}, le) (${bucketRate}))`;

/** The rule groups, in evaluation order (a group's rules may use records of the rules before them). */
export function recordingRuleGroups(interval = '10s'): RuleGroup[] {
  const w = RULE_WINDOW;
  return [
    {
      name: 'hotpath-http-routes',
      interval,
      rules: [
        {
          record: RECORDED.routeRequestRate,
          expr: `sum by (${ROUTE_LABELS}) (rate(${prometheusSeries(HTTP, 'count')}[${w}]))`,
        },
        {
          record: RECORDED.routeErrorRate,
          expr: `sum by (${ROUTE_LABELS}) (rate(${prometheusSeries(HTTP, 'count')}{http_response_status_code=~"5.."}[${w}]))`,
        },
        {
          // Routes without errors have no error series: `or … * 0` makes their ratio 0 instead of absent.
          record: RECORDED.routeErrorRatio,
          expr: `(${RECORDED.routeErrorRate} or ${RECORDED.routeRequestRate} * 0) / ${RECORDED.routeRequestRate}`,
        },
        {
          record: RECORDED.routeBucketRate,
          expr: `sum by (${ROUTE_LABELS}, le) (rate(${prometheusSeries(HTTP, 'bucket')}[${w}]))`,
        },
        { record: RECORDED.routeP50, expr: quantile(0.5, RECORDED.routeBucketRate, ROUTE_LABELS) },
        { record: RECORDED.routeP95, expr: quantile(0.95, RECORDED.routeBucketRate, ROUTE_LABELS) },
        { record: RECORDED.routeP99, expr: quantile(0.99, RECORDED.routeBucketRate, ROUTE_LABELS) },
      ],
    },
    {
      name: 'hotpath-db-operations',
      interval,
      rules: [
        {
          record: RECORDED.dbBucketRate,
          expr: `sum by (${DB_LABELS}, le) (rate(${prometheusSeries(DB, 'bucket')}[${w}]))`,
        },
        { record: RECORDED.dbP95, expr: quantile(0.95, RECORDED.dbBucketRate, DB_LABELS) },
      ],
    },
    {
      name: 'hotpath-runtime',
      interval,
      rules: [{ record: RECORDED.heapUsed, expr: `sum by (job, instance) (${prometheusName(HEAP)})` }],
    },
  ];
}

/** The rules file as Prometheus reads it (`groups:`). JSON is valid YAML; the generator writes YAML. */
export function recordingRulesFile(interval?: string): { groups: RuleGroup[] } {
  return { groups: recordingRuleGroups(interval) };
}
