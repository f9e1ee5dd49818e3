/**
 * Reading generated dashboards back: every panel and query, and the query text with Grafana's variables and
 * macros expanded the way Grafana would, so tests (and alert-rule generators) can run the exact queries a panel
 * runs against a real Prometheus or PostgreSQL.
 */
import { DATASOURCE_UIDS } from '../datasources.ts';

type Json = Record<string, unknown>;

/** One query of one panel. */
export interface PanelQuery {
  readonly dashboardUid: string;
  readonly panelTitle: string;
  readonly panelType: string;
  /** The datasource uid of the query (falls back to the panel's). */
  readonly datasourceUid: string | undefined;
  readonly language: 'promql' | 'sql' | 'unknown';
  /** The query text as stored in the dashboard, variables unexpanded. */
  readonly text: string;
  readonly refId: string | undefined;
}

const records = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);
const uidOf = (ref: unknown): string | undefined =>
  typeof ref === 'object' && ref !== null && typeof (ref as Json).uid === 'string'
    ? ((ref as Json).uid as string)
    : undefined;

/** Every panel that is not a row, including panels nested in collapsed rows. */
export function panelsOf(dashboard: Json): Json[] {
  const out: Json[] = [];
  const visit = (panels: Json[]) => {
    for (const panel of panels) {
      if (panel.type !== 'row') out.push(panel);
      visit(records(panel.panels));
    }
  };
  visit(records(dashboard.panels));
  return out;
}

/** Every query of every panel. */
export function queriesOf(dashboard: Json): PanelQuery[] {
  return panelsOf(dashboard).flatMap((panel) =>
    records(panel.targets).map((target) => {
      const datasourceUid = uidOf(target.datasource) ?? uidOf(panel.datasource);
      const language =
        datasourceUid === DATASOURCE_UIDS.prometheus
          ? 'promql'
          : datasourceUid === DATASOURCE_UIDS.findings
            ? 'sql'
            : 'unknown';
      const text = String(language === 'sql' ? target.rawSql : (target.expr ?? ''));
      return {
        dashboardUid: String(dashboard.uid),
        panelTitle: String(panel.title),
        panelType: String(panel.type),
        datasourceUid,
        language,
        text,
        refId: typeof target.refId === 'string' ? target.refId : undefined,
      } as const;
    }),
  );
}

/** Template variables of a dashboard, by name. */
export function variablesOf(dashboard: Json): Map<string, Json> {
  const templating = (dashboard.templating ?? {}) as Json;
  return new Map(records(templating.list).map((v) => [String(v.name), v]));
}

/** Grafana's built-in interval variables (`$__rate_interval`, `$__interval`, `$__range`) and their values. */
export interface IntervalValues {
  readonly rateInterval: string;
  readonly interval: string;
  readonly range: string;
}

/**
 * `$name`, `${name}` and `${name:format}` replaced by `values[name]` (used as is: pass a regex-ready value, as
 * Grafana's `regex` format and an All value of `.+` both produce); throws on a variable it has no value for.
 */
function substituteVariables(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (match, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`no value for Grafana variable ${match}`);
    return value;
  });
}

/** A PromQL expression as Grafana sends it to Prometheus. */
export function interpolatePromql(
  expr: string,
  variables: Readonly<Record<string, string>>,
  intervals: IntervalValues,
): string {
  return substituteVariables(expr, {
    ...variables,
    __rate_interval: intervals.rateInterval,
    __interval: intervals.interval,
    __range: intervals.range,
  });
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

function seconds(interval: string): number {
  const match = /^'?(\d+)([smhd])'?$/.exec(interval.trim());
  if (match === null) throw new Error(`not a Grafana interval: ${interval}`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? ''] ?? 0);
}

/**
 * A SQL query as Grafana's PostgreSQL datasource sends it: the time macros this project uses expanded as that
 * datasource does (`$__timeFilter(col)` → `col BETWEEN from AND to`, `$__timeGroupAlias(col, '1m')` → epoch
 * buckets named "time"), then variables; throws on any macro it does not know.
 */
export function interpolateSql(
  sql: string,
  variables: Readonly<Record<string, string>>,
  range: { readonly from: Date; readonly to: Date },
): string {
  const expanded = sql
    .replace(
      /\$__timeFilter\(([^)]+)\)/g,
      (_, column: string) =>
        `${column.trim()} BETWEEN '${range.from.toISOString()}' AND '${range.to.toISOString()}'`,
    )
    .replace(/\$__timeGroupAlias\(([^,]+),([^)]+)\)/g, (_, column: string, interval: string) => {
      const s = seconds(interval);
      return `floor(extract(epoch from ${column.trim()})/${s})*${s} AS "time"`;
    });
  const unknown = /\$__\w+/.exec(expanded);
  if (unknown !== null) throw new Error(`unsupported Grafana macro ${unknown[0]}`);
  return substituteVariables(expanded, variables);
}
