/**
 * Bottlenecks: the analyzer's findings and recommendations, straight from its PostgreSQL store (through the
 * read-only `grafana_reader` role): what is open, what to do first, and how findings came and went.
 */

import { PanelBuilder as BarGaugeBuilder } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  GraphDrawStyle,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import { CustomVariableBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { ATTR, METRICS, prometheusSeries } from '@hotpath/instrumentation';
import {
  FINDINGS,
  FIRST_ACTION_SQL,
  finish,
  hotpathDashboard,
  label,
  neutralThresholds,
  promTarget,
  RATE_INTERVAL,
  type SqlQueryBuilder,
  sqlServiceFilter,
  sqlTarget,
  sqlVariable,
} from './common.ts';
import { findingsTable, series } from './panels.ts';

export const BOTTLENECKS_UID = 'hotpath-bottlenecks';

/** The layers of `findings.layer` (its CHECK constraint in analyzer/migrations/001_findings.sql). */
const LAYERS = ['api', 'database', 'runtime', 'frontend'] as const;

const active = (alias = '') => `${alias}status IN ('open', 'acknowledged')`;
const filters = (alias = '') =>
  `${sqlServiceFilter(`${alias}service`)} AND ${alias}layer ~ '^(\${layer:regex})$'`;
const SEVERITY_ORDER = `CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END`;

export const OPEN_FINDINGS_SQL = `
SELECT
  severity,
  impact AS "impact (s/s)",
  title,
  service,
  layer,
  subject,
  status,
  ${FIRST_ACTION_SQL} AS "first action",
  first_seen AS "first seen",
  last_seen AS "last seen"
FROM findings
WHERE ${active()} AND ${filters()}
ORDER BY ${SEVERITY_ORDER}, impact DESC
LIMIT 200`;

/** One row per recommendation; an entry is an object with `action` (and more), or plain text. */
export const RECOMMENDATIONS_SQL = `
SELECT
  f.severity,
  f.title,
  f.service,
  r.ordinality AS "#",
  coalesce(r.value ->> 'action', r.value #>> '{}') AS action,
  CASE WHEN jsonb_typeof(r.value) = 'object' THEN (r.value - 'action')::text END AS details
FROM findings f
CROSS JOIN LATERAL jsonb_array_elements(f.recommendations) WITH ORDINALITY AS r (value, ordinality)
WHERE ${active('f.')} AND ${filters('f.')}
ORDER BY f.impact DESC, f.id, r.ordinality
LIMIT 200`;

const countBy = (column: string, order: string) => `
SELECT ${column}, count(*) AS findings
FROM findings
WHERE status = 'open' AND ${filters()}
GROUP BY ${column}
ORDER BY ${order}`;

export const NEW_FINDINGS_SQL = `
SELECT $__timeGroupAlias(first_seen, '1m'), severity AS metric, count(*) AS value
FROM findings
WHERE $__timeFilter(first_seen) AND ${filters()}
GROUP BY 1, 2
ORDER BY 1`;

export const TRANSITIONS_SQL = `
SELECT $__timeGroupAlias(e.at, '1m'), e.to_status AS metric, count(*) AS value
FROM finding_events e
JOIN findings f ON f.id = e.finding_id
WHERE $__timeFilter(e.at) AND ${filters('f.')}
GROUP BY 1, 2
ORDER BY 1`;

export const EVENTS_SQL = `
SELECT
  e.at AS "time",
  f.title,
  f.service,
  coalesce(e.from_status, 'new') || ' → ' || e.to_status AS change,
  e.actor,
  e.note
FROM finding_events e
JOIN findings f ON f.id = e.finding_id
WHERE $__timeFilter(e.at) AND ${filters('f.')}
ORDER BY e.at DESC
LIMIT 100`;

function countPanel(title: string, description: string, query: SqlQueryBuilder): BarGaugeBuilder {
  return new BarGaugeBuilder()
    .title(title)
    .description(description)
    .datasource(FINDINGS)
    .withTarget(query)
    .thresholds(neutralThresholds())
    .displayMode(BarGaugeDisplayMode.Basic)
    .orientation(VizOrientation.Horizontal)
    .reduceOptions(new ReduceDataOptionsBuilder().values(true).calcs([]).fields('/^findings$/'))
    .min(0)
    .span(12)
    .height(7);
}

function countsOverTime(title: string, description: string, query: SqlQueryBuilder): TimeseriesBuilder {
  return new TimeseriesBuilder()
    .title(title)
    .description(description)
    .datasource(FINDINGS)
    .withTarget(query)
    .thresholds(neutralThresholds())
    .drawStyle(GraphDrawStyle.Bars)
    .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
    .fillOpacity(80)
    .unit('short')
    .min(0)
    .span(12)
    .height(8);
}

export function bottlenecksDashboard(): Record<string, unknown> {
  const builder = hotpathDashboard({
    uid: BOTTLENECKS_UID,
    title: 'Hotpath / Bottlenecks',
    description: 'Open findings of the analyzer with their recommendations, and how findings came and went.',
    range: '30m',
  })
    .withVariable(
      sqlVariable('service', 'SELECT DISTINCT service FROM findings ORDER BY 1', {
        label: 'Service',
        description: 'Services with findings (the Prometheus job of the service).',
      }),
    )
    .withVariable(
      new CustomVariableBuilder('layer')
        .label('Layer')
        .description('Where the bottleneck is: API, database, runtime or frontend.')
        .values(LAYERS.join(','))
        .multi(true)
        .includeAll(true)
        .allValue('.+')
        .current({ selected: true, text: ['All'], value: ['$__all'] }),
    )
    .withRow(new RowBuilder('Open findings'))
    .withPanel(
      countPanel(
        'Open findings by severity',
        'Open findings per severity.',
        sqlTarget(countBy('severity', SEVERITY_ORDER)),
      ),
    )
    .withPanel(
      countPanel(
        'Open findings by layer',
        'Open findings per layer.',
        sqlTarget(countBy('layer', 'findings DESC')),
      ),
    )
    .withPanel(
      findingsTable({
        title: 'Open findings',
        description:
          'Open and acknowledged findings, critical first, then by impact (seconds of user-facing time lost per second), with the first recommended action.',
        query: sqlTarget(OPEN_FINDINGS_SQL),
        height: 10,
      }),
    )
    .withPanel(
      findingsTable({
        title: 'Recommendations',
        description:
          'Every recommendation of the open findings, in the analyzer’s order: the action, and its artifact, expected gain, confidence and how to verify it.',
        query: sqlTarget(RECOMMENDATIONS_SQL),
        height: 10,
      }),
    )
    .withRow(new RowBuilder('History'))
    .withPanel(
      countsOverTime(
        'New findings over time',
        'Findings first seen per minute, by severity.',
        sqlTarget(NEW_FINDINGS_SQL, 'time_series'),
      ),
    )
    .withPanel(
      countsOverTime(
        'Lifecycle changes over time',
        'Status changes per minute (opened, acknowledged, resolved, dismissed, reopened), from the findings history.',
        sqlTarget(TRANSITIONS_SQL, 'time_series'),
      ),
    )
    .withPanel(
      findingsTable({
        title: 'Recent lifecycle changes',
        description: 'Who changed which finding, when and why (the analyzer, or a person through the API).',
        query: sqlTarget(EVENTS_SQL),
      }),
    )
    .withRow(new RowBuilder('Analyzer'))
    .withPanel(
      series({
        title: 'Analyzer cycles',
        description:
          'Analysis cycles per interval by outcome, from the analyzer’s own metrics (hotpath.analysis.duration). Failed cycles mean no finding is raised or resolved meanwhile: /readyz and GET /api/v1/analyses?status=failed say why.',
        unit: 'short',
        targets: [
          promTarget(
            `sum by (job, ${label(ATTR.analysisOutcome)}) (increase(${prometheusSeries(METRICS.hotpathAnalysisDuration, 'count')}{}[${RATE_INTERVAL}]))`,
            `{{job}} {{${label(ATTR.analysisOutcome)}}}`,
          ),
        ],
        span: 24,
      }),
    );
  return finish(builder);
}
