/**
 * The Hotpath dashboards, built with @grafana/grafana-foundation-sdk. `npm run generate` writes each one's JSON to
 * `grafana/dashboards/<uid>.json`, which compose provisions. Thresholds come from the SLO file, metric names from
 * `@hotpath/instrumentation`, datasources by their fixed uids.
 */
import { loadSlo, type SloFile } from '@hotpath/analyzer/slo';
import { BOTTLENECKS_UID, bottlenecksDashboard } from './bottlenecks.ts';
import { DATABASE_UID, databaseDashboard } from './database.ts';
import { ENDPOINTS_UID, endpointsDashboard } from './endpoints.ts';
import { FRONTEND_UID, frontendDashboard } from './frontend.ts';
import { LOAD_TESTS_UID, loadTestsDashboard } from './load-tests.ts';
import { OVERVIEW_UID, overviewDashboard } from './overview.ts';
import { RUNTIME_UID, runtimeDashboard } from './runtime.ts';

export const DASHBOARD_UIDS = {
  overview: OVERVIEW_UID,
  endpoints: ENDPOINTS_UID,
  database: DATABASE_UID,
  runtime: RUNTIME_UID,
  frontend: FRONTEND_UID,
  loadTests: LOAD_TESTS_UID,
  bottlenecks: BOTTLENECKS_UID,
} as const;

/** One generated dashboard: `json` is Grafana's dashboard JSON model, plain data. */
export interface GeneratedDashboard {
  readonly uid: string;
  readonly title: string;
  readonly json: Record<string, unknown>;
}

/** Every dashboard, its thresholds taken from `slo` (default: the SLO file). */
export function dashboards(slo: SloFile = loadSlo()): GeneratedDashboard[] {
  return [
    overviewDashboard(slo),
    endpointsDashboard(slo),
    databaseDashboard(slo),
    runtimeDashboard(slo),
    frontendDashboard(slo),
    loadTestsDashboard(slo),
    bottlenecksDashboard(),
  ].map((json) => ({ uid: String(json.uid), title: String(json.title), json }));
}

/** Where a panel's data comes from, when it is not the instrumented app itself. */
export type DataNeed = 'demo' | 'k6' | 'browser' | 'analyzer';

const panelsNeeding = (uid: string, need: DataNeed, titles: readonly string[]) =>
  titles.map((title) => [`${uid}/${title}`, need] as const);

/**
 * Panels (`uid/title`) whose data the demo app alone does not produce: k6 results arrive only during a load
 * test, browser metrics only from real browsers, findings only from the analyzer. Every other panel shows data
 * as soon as the demo serves traffic (tested against the real Prometheus in test/dashboards-data.test.ts).
 */
export const DATA_NEEDS: Record<string, DataNeed> = Object.fromEntries([
  ...panelsNeeding(OVERVIEW_UID, 'analyzer', ['Open findings']),
  ...panelsNeeding(DATABASE_UID, 'analyzer', ['Top statements from the analyzer']),
  ...panelsNeeding(FRONTEND_UID, 'analyzer', ['Heavy assets and slow pages (analyzer)']),
  ...panelsNeeding(LOAD_TESTS_UID, 'k6', [
    'Virtual users',
    'k6 request rate',
    'k6 failed request rate',
    'k6 request duration p95 / p99',
    'k6 checks passed',
  ]),
  ...panelsNeeding(BOTTLENECKS_UID, 'analyzer', [
    'Open findings by severity',
    'Open findings by layer',
    'Open findings',
    'Recommendations',
    'New findings over time',
    'Lifecycle changes over time',
    'Recent lifecycle changes',
    'Analyzer cycles',
  ]),
]);
