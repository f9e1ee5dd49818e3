/**
 * Pieces every Hotpath dashboard shares: datasource references by fixed uid, the template variables, query
 * builders for Prometheus and the findings PostgreSQL datasource, SLO thresholds, the links between dashboards
 * and the final clean-up that turns a builder into the JSON Grafana provisions.
 *
 * Dashboard JSON model: https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/
 */
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import {
  DataqueryBuilder,
  PromQueryFormat,
  QueryEditorMode,
} from '@grafana/grafana-foundation-sdk/prometheus';
import { DATASOURCE_UIDS } from '../datasources.ts';

/** Every dashboard carries both: `generated` marks files not to edit by hand, `hotpath` drives the links. */
export const DASHBOARD_TAGS = ['generated', 'hotpath'] as const;
export const LINK_TAG = 'hotpath';

export const PROMETHEUS = { type: 'prometheus', uid: DATASOURCE_UIDS.prometheus } as const;
export const FINDINGS = { type: 'grafana-postgresql-datasource', uid: DATASOURCE_UIDS.findings } as const;
export const PYROSCOPE = { type: 'grafana-pyroscope-datasource', uid: DATASOURCE_UIDS.pyroscope } as const;

/** Grafana's Prometheus query for `$__rate_interval`: at least four scrape intervals (timeInterval 10 s). */
export const RATE_INTERVAL = '$__rate_interval';

/** Prometheus label name of an OpenTelemetry attribute (the OTLP translation escapes every other character). */
export function label(attribute: string): string {
  return attribute.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** Label matchers on the template variables, e.g. `{ job: 'service' }` → `job=~"$service"`. */
export type VariableMatchers = Readonly<Record<string, string>>;

/** `metric{label=~"$variable", …}`. */
export function selector(metric: string, matchers: VariableMatchers, extra = ''): string {
  const parts = Object.entries(matchers).map(([l, variable]) => `${l}=~"$${variable}"`);
  if (extra !== '') parts.push(extra);
  return `${metric}{${parts.join(', ')}}`;
}

/** `rate(metric{…}[$__rate_interval])`. */
export function rate(metric: string, matchers: VariableMatchers, extra = ''): string {
  return `rate(${selector(metric, matchers, extra)}[${RATE_INTERVAL}])`;
}

export interface PromTargetOptions {
  /** An instant query shown as a table (one row per series). */
  readonly table?: boolean;
  /** Ask Prometheus for exemplars (trace ids of sample requests; they open in Tempo). */
  readonly exemplar?: boolean;
}

/** A Prometheus query in code mode on the provisioned Prometheus. */
export function promTarget(expr: string, legend: string, options: PromTargetOptions = {}): DataqueryBuilder {
  const query = new DataqueryBuilder()
    .datasource(PROMETHEUS)
    .editorMode(QueryEditorMode.Code)
    .expr(expr)
    .legendFormat(legend);
  if (options.table === true) query.instant().format(PromQueryFormat.Table);
  else query.range();
  if (options.exemplar === true) query.exemplar(true);
  return query;
}

/** The query model of Grafana's PostgreSQL datasource (the SDK ships no builder for it). */
export interface SqlQuery extends Dataquery {
  refId?: string;
  datasource: { type: string; uid: string };
  rawSql: string;
  format: 'table' | 'time_series';
  rawQuery: true;
  editorMode: 'code';
}

export class SqlQueryBuilder implements Builder<Dataquery> {
  readonly #query: SqlQuery;

  constructor(rawSql: string, format: SqlQuery['format'] = 'table') {
    this.#query = {
      datasource: { ...FINDINGS },
      rawSql,
      format,
      rawQuery: true,
      editorMode: 'code',
      _implementsDataqueryVariant() {},
    };
  }

  refId(refId: string): this {
    this.#query.refId = refId;
    return this;
  }

  build(): SqlQuery {
    return this.#query;
  }
}

/** A SQL query on the analyzer's findings database. */
export function sqlTarget(rawSql: string, format: SqlQuery['format'] = 'table'): SqlQueryBuilder {
  return new SqlQueryBuilder(rawSql.trim(), format);
}

/**
 * SQL filter on the findings' `service` column from a dashboard variable. The analyzer names a service by its
 * Prometheus `job`, so the same variable filters both datasources; `:regex` turns a multi-value selection into
 * `a|b`, and the All value (`.+`) is passed through unescaped.
 */
export function sqlServiceFilter(column = 'service', variable = 'service'): string {
  return `${column} ~ '^(\${${variable}:regex})$'`;
}

/**
 * The first recommended action of a finding: `recommendations` is a JSON array, best first, whose entries are
 * objects with an `action` (plus artifact, expected gain, confidence, verification) or plain text.
 */
export const FIRST_ACTION_SQL = `coalesce(recommendations -> 0 ->> 'action', recommendations ->> 0)`;

/** Green below the objective, red from it on: the SLO drawn on a panel. */
export function sloThresholds(limit: number): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'green' },
    { value: limit, color: 'red' },
  ]);
}

/** Thresholds that only color (no objective): the default Grafana palette start. */
export function neutralThresholds(): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: 'green' }]);
}

export interface VariableOptions {
  readonly label: string;
  readonly description: string;
  /**
   * The All value. `.+` for labels every series has; `.*` where the label may be absent (k6 results without a
   * `testid` tag), since `label=~".+"` drops series without the label.
   */
  readonly allValue?: string;
}

/** A multi-value Prometheus `label_values(…)` variable with an All option, refreshed with the time range. */
export function promVariable(name: string, query: string, options: VariableOptions): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(options.label)
    .description(options.description)
    .datasource(PROMETHEUS)
    .query({ qryType: 1, query, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(options.allValue ?? '.+')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/** The same, over the findings database (`query` returns one column of values). */
export function sqlVariable(name: string, query: string, options: VariableOptions): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(options.label)
    .description(options.description)
    .datasource(FINDINGS)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(options.allValue ?? '.+')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

export interface DashboardMeta {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Default time range, e.g. `15m`. */
  readonly range: '15m' | '30m';
}

/** A dashboard with the shared settings: tags, refresh, time range, shared crosshair and links to the others. */
export function hotpathDashboard(meta: DashboardMeta): DashboardBuilder {
  return (
    new DashboardBuilder(meta.title)
      .uid(meta.uid)
      .description(meta.description)
      .tags([...DASHBOARD_TAGS])
      // The apps export every 10 s: refreshing faster only redraws the same points.
      .refresh('10s')
      .time({ from: `now-${meta.range}`, to: 'now' })
      .timezone('browser')
      .tooltip(DashboardCursorSync.Crosshair)
      // Generated from code: edits in Grafana would be lost on the next provisioning.
      .readonly()
      .link(
        new DashboardLinkBuilder('Hotpath')
          .type(DashboardLinkType.Dashboards)
          .tags([LINK_TAG])
          .asDropdown(false)
          .includeVars(true)
          .keepTime(true),
      )
  );
}

type Json = Record<string, unknown>;

function asRecords(value: unknown): Json[] {
  return Array.isArray(value) ? (value as Json[]) : [];
}

/**
 * The builder's result as plain JSON, finished: panel ids (the SDK leaves them out; Grafana needs them for
 * links and `viewPanel`), a `refId` on every query, and dashboard links shown in the top bar (the SDK's default
 * placement, `inControlsMenu`, hides them in a menu).
 */
export function finish(builder: DashboardBuilder): Json {
  const json = JSON.parse(JSON.stringify(builder.build())) as Json;
  let id = 0;
  const visit = (panels: Json[]) => {
    for (const panel of panels) {
      id += 1;
      panel.id = id;
      asRecords(panel.targets).forEach((target, i) => {
        target.refId ??= String.fromCharCode(65 + i);
      });
      visit(asRecords(panel.panels));
    }
  };
  visit(asRecords(json.panels));
  for (const link of asRecords(json.links)) delete link.placement;
  return json;
}
