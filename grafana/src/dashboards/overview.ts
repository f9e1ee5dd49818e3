/**
 * Overview: is each service within its objectives, and its RED signals (rate, errors, duration). The SLO stats
 * judge the worst route / operation, the way the analyzer does, and ignore routes too quiet to judge.
 */

import {
  BigValueColorMode,
  BigValueGraphMode,
  ReduceDataOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import type { SloFile } from '@hotpath/analyzer/slo';
import { METRICS, prometheusName, RECORDED } from '@hotpath/instrumentation';
import {
  FINDINGS,
  finish,
  hotpathDashboard,
  neutralThresholds,
  PROMETHEUS,
  promTarget,
  selector,
  sloThresholds,
  sqlServiceFilter,
  sqlTarget,
} from './common.ts';
import { series } from './panels.ts';
import { BY_SERVICE, serviceVariable } from './variables.ts';

export const OVERVIEW_UID = 'hotpath-overview';

function sloStat(title: string, description: string, expr: string, unit: string, limit: number): StatBuilder {
  return new StatBuilder()
    .title(title)
    .description(description)
    .datasource(PROMETHEUS)
    .withTarget(promTarget(expr, '{{job}}'))
    .unit(unit)
    .thresholds(sloThresholds(limit))
    .colorMode(BigValueColorMode.Background)
    .graphMode(BigValueGraphMode.Area)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .span(6)
    .height(5);
}

export function overviewDashboard(slo: SloFile): Record<string, unknown> {
  const { api, database, runtime } = slo.defaults;
  const apiP95 = api.latency_p95_ms / 1000;
  const errorRatio = api.error_rate_percent / 100;
  const dbP95 = database.query_p95_ms / 1000;
  const loopP99 = runtime.event_loop_p99_ms / 1000;

  const requestRate = selector(RECORDED.routeRequestRate, BY_SERVICE);
  const errorRate = selector(RECORDED.routeErrorRate, BY_SERVICE);
  // Routes below the SLO file's minimum traffic are too quiet to judge (a single slow request is their p95).
  const judged = `(${requestRate} >= ${api.min_request_rate_per_s})`;

  const builder = hotpathDashboard({
    uid: OVERVIEW_UID,
    title: 'Hotpath / Overview',
    description:
      'Service level objectives and RED signals (rate, errors, duration) of every instrumented service.',
    range: '15m',
  })
    .withVariable(serviceVariable('http'))
    .withRow(new RowBuilder('Service level objectives'))
    .withPanel(
      sloStat(
        'API p95 latency (worst route)',
        `Highest p95 over the routes of the service with at least ${api.min_request_rate_per_s} req/s (1 min window). Objective: p95 < ${api.latency_p95_ms} ms per route.`,
        `max by (job) (${selector(RECORDED.routeP95, BY_SERVICE)} and ${judged})`,
        's',
        apiP95,
      ),
    )
    .withPanel(
      sloStat(
        '5xx ratio (worst route)',
        `Highest share of 5xx responses over the routes with at least ${api.min_request_rate_per_s} req/s. Objective: < ${api.error_rate_percent} %.`,
        `max by (job) (${selector(RECORDED.routeErrorRatio, BY_SERVICE)} and ${judged})`,
        'percentunit',
        errorRatio,
      ),
    )
    .withPanel(
      sloStat(
        'DB query p95 (worst operation)',
        `Highest p95 over the database operations of the service. Objective: p95 < ${database.query_p95_ms} ms.`,
        `max by (job) (${selector(RECORDED.dbP95, BY_SERVICE)})`,
        's',
        dbP95,
      ),
    )
    .withPanel(
      sloStat(
        'Event-loop delay p99 (worst instance)',
        `Highest event-loop delay p99 over the processes of the service. Objective: < ${runtime.event_loop_p99_ms} ms; above it every request waits.`,
        `max by (job) (${selector(prometheusName(METRICS.nodejsEventloopDelayP99), BY_SERVICE)})`,
        's',
        loopP99,
      ),
    )
    .withRow(new RowBuilder('RED per service'))
    .withPanel(
      series({
        title: 'Request rate',
        description: 'Requests per second, all routes (recorded over 1 min).',
        unit: 'reqps',
        targets: [promTarget(`sum by (job) (${requestRate})`, '{{job}}')],
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: '5xx ratio',
        description: `Share of 5xx responses over all routes. Objective: < ${api.error_rate_percent} % per route.`,
        unit: 'percentunit',
        targets: [
          promTarget(
            // A service without errors has no error series: `or … * 0` draws its 0 instead of nothing.
            `(sum by (job) (${errorRate}) or sum by (job) (${requestRate}) * 0) / sum by (job) (${requestRate})`,
            '{{job}}',
          ),
        ],
        limit: errorRatio,
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: 'p95 latency',
        description: `p95 over all requests of the service. Objective: p95 < ${api.latency_p95_ms} ms per route.`,
        unit: 's',
        targets: [
          promTarget(
            `histogram_quantile(0.95, sum by (job, le) (${selector(RECORDED.routeBucketRate, BY_SERVICE)}))`,
            '{{job}}',
          ),
        ],
        limit: apiP95,
        span: 8,
      }),
    )
    .withRow(new RowBuilder('Analyzer'))
    .withPanel(
      new StatBuilder()
        .title('Open findings')
        .description(
          'Bottlenecks the analyzer found and nobody has resolved yet; details on the Bottlenecks dashboard.',
        )
        .datasource(FINDINGS)
        .withTarget(
          sqlTarget(`
SELECT count(*) AS "open findings"
FROM findings
WHERE status = 'open' AND ${sqlServiceFilter()}`),
        )
        // A count, not an objective: no SLO to color it by.
        .thresholds(neutralThresholds())
        .colorMode(BigValueColorMode.None)
        .graphMode(BigValueGraphMode.None)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .span(6)
        .height(5),
    );
  return finish(builder);
}
