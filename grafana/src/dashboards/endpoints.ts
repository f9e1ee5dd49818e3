/**
 * Endpoints: rate, errors and latency per route, and the routes that cost users the most time. Impact is the
 * analyzer's unit: requests per second × seconds over the objective = seconds of waiting added per second.
 */

import { TableSortByFieldStateBuilder } from '@grafana/grafana-foundation-sdk/common';
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import type { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import type { SloFile } from '@hotpath/analyzer/slo';
import { ATTR, METRICS, prometheusSeries, RECORDED } from '@hotpath/instrumentation';
import {
  finish,
  hotpathDashboard,
  label,
  neutralThresholds,
  PROMETHEUS,
  promTarget,
  rate,
  selector,
  sloThresholds,
} from './common.ts';
import { series } from './panels.ts';
import { BY_ROUTE, routeVariable, serviceVariable } from './variables.ts';

export const ENDPOINTS_UID = 'hotpath-endpoints';

const ROUTE = label(ATTR.httpRoute);
const METHOD = label(ATTR.httpRequestMethod);
const ROUTE_LEGEND = `{{job}} {{${METHOD}}} {{${ROUTE}}}`;

interface Column {
  readonly name: string;
  readonly unit: string;
  /** An objective: the cell turns red from it on. */
  readonly limit?: number;
}

/** Instant table queries merged into one row per route: `columns` maps each refId's value to a column name. */
function routeTable(
  title: string,
  description: string,
  targets: readonly DataqueryBuilder[],
  columns: readonly Column[],
): TableBuilder {
  const renames: Record<string, string> = {};
  targets.forEach((target, i) => {
    const refId = String.fromCharCode(65 + i);
    target.refId(refId);
    const column = columns[i];
    if (column !== undefined) renames[`Value #${refId}`] = column.name;
  });
  let table = new TableBuilder()
    .title(title)
    .description(description)
    .datasource(PROMETHEUS)
    .targets([...targets])
    .thresholds(neutralThresholds())
    .filterable(true)
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: { excludeByName: { Time: true }, renameByName: renames },
    })
    .span(24)
    .height(9);
  for (const column of columns) {
    table = table.overrideByName(column.name, [
      { id: 'unit', value: column.unit },
      ...(column.limit === undefined
        ? []
        : [
            { id: 'thresholds', value: sloThresholds(column.limit).build() },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ]),
    ]);
  }
  return table;
}

export function endpointsDashboard(slo: SloFile): Record<string, unknown> {
  const { api } = slo.defaults;
  const apiP95 = api.latency_p95_ms / 1000;
  const errorRatio = api.error_rate_percent / 100;
  const http = METRICS.httpServerRequestDuration;

  const requestRate = selector(RECORDED.routeRequestRate, BY_ROUTE);
  const p95 = selector(RECORDED.routeP95, BY_ROUTE);

  const builder = hotpathDashboard({
    uid: ENDPOINTS_UID,
    title: 'Hotpath / Endpoints',
    description: 'Rate, errors and latency per HTTP route, and the routes that cost users the most time.',
    range: '15m',
  })
    .withVariable(serviceVariable('http'))
    .withVariable(routeVariable())
    .withRow(new RowBuilder('Traffic and errors'))
    .withPanel(
      series({
        title: 'Request rate by route',
        description: 'Requests per second per route and method (recorded over 1 min).',
        unit: 'reqps',
        targets: [promTarget(requestRate, ROUTE_LEGEND)],
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: '5xx responses by route',
        description: 'Responses with a 5xx status per second; routes without errors draw nothing.',
        unit: 'reqps',
        targets: [promTarget(selector(RECORDED.routeErrorRate, BY_ROUTE), ROUTE_LEGEND)],
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: '5xx ratio by route',
        description: `Share of 5xx responses per route. Objective: < ${api.error_rate_percent} %.`,
        unit: 'percentunit',
        targets: [promTarget(selector(RECORDED.routeErrorRatio, BY_ROUTE), ROUTE_LEGEND)],
        limit: errorRatio,
        span: 8,
      }),
    )
    .withRow(new RowBuilder('Latency'))
    .withPanel(
      series({
        title: 'p50 by route',
        description: 'Median request duration per route (recorded over 1 min).',
        unit: 's',
        targets: [promTarget(selector(RECORDED.routeP50, BY_ROUTE), ROUTE_LEGEND)],
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: 'p95 by route',
        description: `95th percentile per route (recorded over 1 min). Objective: < ${api.latency_p95_ms} ms.`,
        unit: 's',
        targets: [promTarget(p95, ROUTE_LEGEND)],
        limit: apiP95,
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: 'p99 by route',
        description: '99th percentile per route (recorded over 1 min): the tail the p95 hides.',
        unit: 's',
        targets: [promTarget(selector(RECORDED.routeP99, BY_ROUTE), ROUTE_LEGEND)],
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: 'p95 by route, with exemplars',
        description:
          'p95 from the raw histogram at the dashboard resolution. The dots are exemplars: sample requests with their trace id, a click opens the trace in Tempo.',
        unit: 's',
        targets: [
          promTarget(
            `histogram_quantile(0.95, sum by (job, ${ROUTE}, le) (${rate(prometheusSeries(http, 'bucket'), BY_ROUTE)}))`,
            `{{job}} {{${ROUTE}}}`,
            { exemplar: true },
          ),
        ],
        limit: apiP95,
        span: 24,
        height: 10,
      }),
    )
    .withRow(new RowBuilder('Routes'))
    .withPanel(
      routeTable(
        'Top routes by impact',
        `Seconds of waiting the route adds per second over the objective: req/s × max(p95 − ${api.latency_p95_ms} ms, 0). The analyzer ranks slow endpoints the same way.`,
        [
          promTarget(`sort_desc(${requestRate} * clamp_min(${p95} - ${apiP95}, 0))`, '', { table: true }),
          promTarget(requestRate, '', { table: true }),
          promTarget(p95, '', { table: true }),
        ],
        [
          { name: 'impact', unit: 's' },
          { name: 'req/s', unit: 'reqps' },
          { name: 'p95', unit: 's', limit: apiP95 },
        ],
      ).sortBy([new TableSortByFieldStateBuilder().displayName('impact').desc(true)]),
    )
    .withPanel(
      routeTable(
        'Routes',
        'Every route in the last minute: traffic, 5xx ratio and latency percentiles.',
        [
          promTarget(requestRate, '', { table: true }),
          promTarget(selector(RECORDED.routeErrorRatio, BY_ROUTE), '', { table: true }),
          promTarget(selector(RECORDED.routeP50, BY_ROUTE), '', { table: true }),
          promTarget(p95, '', { table: true }),
          promTarget(selector(RECORDED.routeP99, BY_ROUTE), '', { table: true }),
        ],
        [
          { name: 'req/s', unit: 'reqps' },
          { name: '5xx ratio', unit: 'percentunit', limit: errorRatio },
          { name: 'p50', unit: 's' },
          { name: 'p95', unit: 's', limit: apiP95 },
          { name: 'p99', unit: 's' },
        ],
      ).sortBy([new TableSortByFieldStateBuilder().displayName('req/s').desc(true)]),
    );
  return finish(builder);
}
