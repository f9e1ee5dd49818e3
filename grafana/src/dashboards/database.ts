/**
 * Database: client-side latency and rate per operation, the connection pool, and the statements the analyzer
 * ranked (with pg_stat_statements, EXPLAIN and HypoPG behind them).
 */

import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import type { SloFile } from '@hotpath/analyzer/slo';
import { ATTR, METRICS, prometheusName, prometheusSeries, RECORDED } from '@hotpath/instrumentation';
import {
  FIRST_ACTION_SQL,
  finish,
  hotpathDashboard,
  label,
  promTarget,
  rate,
  selector,
  sqlServiceFilter,
  sqlTarget,
} from './common.ts';
import { findingsTable, series } from './panels.ts';
import { BY_SERVICE, serviceVariable } from './variables.ts';

export const DATABASE_UID = 'hotpath-database';

const OPERATION = label(ATTR.dbOperationName);
const STATE = label(ATTR.dbClientConnectionState);

/** Open database findings, worst first; `recommendations` is a JSON array whose first entry is the best action. */
export const TOP_STATEMENTS_SQL = `
SELECT
  severity,
  impact AS "impact (s/s)",
  title,
  subject AS statement,
  ${FIRST_ACTION_SQL} AS "first action",
  status,
  last_seen AS "last seen"
FROM findings
WHERE layer = 'database'
  AND status IN ('open', 'acknowledged')
  AND ${sqlServiceFilter()}
ORDER BY impact DESC, last_seen DESC
LIMIT 20`;

export function databaseDashboard(slo: SloFile): Record<string, unknown> {
  const { database } = slo.defaults;
  const db = METRICS.dbClientOperationDuration;
  const pool = `{{job}} {{instance}}`;

  const builder = hotpathDashboard({
    uid: DATABASE_UID,
    title: 'Hotpath / Database',
    description:
      'Database latency and rate per operation, the connection pool, and the statements the analyzer ranked.',
    range: '15m',
  })
    .withVariable(serviceVariable('resources'))
    .withRow(new RowBuilder('Operations'))
    .withPanel(
      series({
        title: 'Query p95 by operation',
        description: `95th percentile of database client operations (recorded over 1 min). Objective: < ${database.query_p95_ms} ms.`,
        unit: 's',
        targets: [
          promTarget(
            selector(RECORDED.dbP95, BY_SERVICE),
            `{{job}} {{${OPERATION}}} {{${label(ATTR.dbNamespace)}}}`,
          ),
        ],
        limit: database.query_p95_ms / 1000,
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: 'Operations per second',
        description: 'Database operations per second by operation (SELECT, INSERT, …).',
        unit: 'ops',
        targets: [
          promTarget(
            `sum by (job, ${OPERATION}) (${rate(prometheusSeries(db, 'count'), BY_SERVICE)})`,
            `{{job}} {{${OPERATION}}}`,
          ),
        ],
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: 'Database time per second',
        description:
          'Seconds spent waiting for the database per second of wall time, by operation: where the service time goes.',
        unit: 's',
        targets: [
          promTarget(
            `sum by (job, ${OPERATION}) (${rate(prometheusSeries(db, 'sum'), BY_SERVICE)})`,
            `{{job}} {{${OPERATION}}}`,
          ),
        ],
        span: 8,
      }),
    )
    .withRow(new RowBuilder('Connection pool'))
    .withPanel(
      series({
        title: 'Pool connections',
        description:
          'Pooled connections by state (idle, used) against the pool maximum: used at max means saturation.',
        unit: 'short',
        targets: [
          promTarget(
            `sum by (job, instance, ${STATE}) (${selector(prometheusName(METRICS.dbClientConnectionCount), BY_SERVICE)})`,
            `${pool} {{${STATE}}}`,
          ),
          promTarget(
            `sum by (job, instance) (${selector(prometheusName(METRICS.dbClientConnectionMax), BY_SERVICE)})`,
            `${pool} max`,
          ),
        ],
      }),
    )
    .withPanel(
      series({
        title: 'Requests waiting for a connection',
        description:
          'Queries queued because every pooled connection is checked out. Sustained waits are pool saturation: a transaction held too long or a pool too small.',
        unit: 'short',
        targets: [
          promTarget(
            `sum by (job, instance) (${selector(prometheusName(METRICS.dbClientConnectionPendingRequests), BY_SERVICE)})`,
            pool,
          ),
        ],
      }),
    )
    .withRow(new RowBuilder('Analyzer'))
    .withPanel(
      findingsTable({
        title: 'Top statements from the analyzer',
        description:
          'Open database findings (slow statements, missing indexes, N+1, pool saturation) by impact, with the first recommended action.',
        query: sqlTarget(TOP_STATEMENTS_SQL),
      }),
    );
  return finish(builder);
}
