/**
 * Frontend: what real browsers measured (Core Web Vitals and page load, judged at p75 like web-vitals and
 * CrUX), and the heavy assets and slow pages the analyzer found.
 */

import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import type { SloFile } from '@hotpath/analyzer/slo';
import { ATTR, METRICS, type MetricSpec, prometheusSeries } from '@hotpath/instrumentation';
import {
  FIRST_ACTION_SQL,
  finish,
  hotpathDashboard,
  label,
  promTarget,
  rate,
  sqlServiceFilter,
  sqlTarget,
} from './common.ts';
import { findingsTable, series } from './panels.ts';
import { BY_PAGE, pageVariable, serviceVariable } from './variables.ts';

export const FRONTEND_UID = 'hotpath-frontend';

const PAGE = label(ATTR.pageRoute);
const LEGEND = `{{job}} {{${PAGE}}}`;

/** Open frontend findings (heavy or render-blocking assets, slow LCP, slow pages), worst first. */
export const FRONTEND_FINDINGS_SQL = `
SELECT
  severity,
  impact AS "impact (s/s)",
  title,
  subject AS page,
  ${FIRST_ACTION_SQL} AS "first action",
  status,
  last_seen AS "last seen"
FROM findings
WHERE layer = 'frontend'
  AND status IN ('open', 'acknowledged')
  AND ${sqlServiceFilter()}
ORDER BY impact DESC, last_seen DESC
LIMIT 20`;

function p75(metric: MetricSpec): string {
  return `histogram_quantile(0.75, sum by (job, ${PAGE}, le) (${rate(prometheusSeries(metric, 'bucket'), BY_PAGE)}))`;
}

export function frontendDashboard(slo: SloFile): Record<string, unknown> {
  const { frontend } = slo.defaults;
  /** `objective`: the p75 limit in the metric's unit and as the SLO file writes it. */
  const vital = (
    title: string,
    what: string,
    metric: MetricSpec,
    unit: string,
    objective?: { readonly limit: number; readonly text: string },
  ) =>
    series({
      title,
      description: `${what}, 75th percentile per page.${objective === undefined ? '' : ` Objective: p75 < ${objective.text}.`}`,
      unit,
      targets: [promTarget(p75(metric), LEGEND)],
      ...(objective === undefined ? {} : { limit: objective.limit }),
      span: 8,
    });
  const ms = (value: number) => ({ limit: value / 1000, text: `${value} ms` });

  const builder = hotpathDashboard({
    uid: FRONTEND_UID,
    title: 'Hotpath / Frontend',
    description:
      'Core Web Vitals and page load as real browsers saw them, and the heavy assets the analyzer found.',
    range: '15m',
  })
    .withVariable(serviceVariable('resources'))
    .withVariable(pageVariable())
    .withRow(new RowBuilder('Page load'))
    .withPanel(
      vital(
        'Page load p75 by page',
        'Navigation start to load event end',
        METRICS.browserPageLoadDuration,
        's',
        ms(frontend.page_load_p75_ms),
      ),
    )
    .withPanel(
      vital(
        'TTFB p75 by page',
        'Time to first byte',
        METRICS.browserWebVitalTtfb,
        's',
        ms(frontend.ttfb_p75_ms),
      ),
    )
    .withPanel(
      series({
        title: 'Page views per second',
        description: 'Page loads reported by browsers per second, by page.',
        unit: 'reqps',
        targets: [
          promTarget(
            `sum by (job, ${PAGE}) (${rate(prometheusSeries(METRICS.browserPageLoadDuration, 'count'), BY_PAGE)})`,
            LEGEND,
          ),
        ],
        span: 8,
      }),
    )
    .withRow(new RowBuilder('Core Web Vitals'))
    .withPanel(
      vital(
        'LCP p75 by page',
        'Largest Contentful Paint',
        METRICS.browserWebVitalLcp,
        's',
        ms(frontend.lcp_p75_ms),
      ),
    )
    .withPanel(
      vital(
        'INP p75 by page',
        'Interaction to Next Paint',
        METRICS.browserWebVitalInp,
        's',
        ms(frontend.inp_p75_ms),
      ),
    )
    .withPanel(
      vital('CLS p75 by page', 'Cumulative Layout Shift', METRICS.browserWebVitalCls, 'none', {
        limit: frontend.cls_p75,
        text: String(frontend.cls_p75),
      }),
    )
    .withPanel(vital('FCP p75 by page', 'First Contentful Paint', METRICS.browserWebVitalFcp, 's'))
    .withRow(new RowBuilder('Analyzer'))
    .withPanel(
      findingsTable({
        title: 'Heavy assets and slow pages (analyzer)',
        description:
          'Open frontend findings: render-blocking or uncompressed assets, slow LCP, slow pages, with the first recommended action.',
        query: sqlTarget(FRONTEND_FINDINGS_SQL),
      }),
    );
  return finish(builder);
}
