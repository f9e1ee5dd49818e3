/**
 * Prometheus names of catalogued metrics, both ways they can arrive:
 *
 * - **OTLP push** (collector → Prometheus `/api/v1/otlp`, `UnderscoreEscapingWithSuffixes`): the name's
 *   non-alphanumeric runs become `_`, the unit becomes a suffix (`s` → `_seconds`, `By` → `_bytes`, units in
 *   braces are dropped), unit `1` gauges get `_ratio`, monotonic counters `_total`. Rules from
 *   prometheus/otlptranslator `BuildCompliantMetricName` and the OpenTelemetry "Prometheus and OpenMetrics
 *   compatibility" spec.
 * - **Pull** (the SDK's `@opentelemetry/exporter-prometheus`): the same escaping and `_total`, but no unit
 *   suffix (`http_server_request_duration_bucket`).
 *
 * `prometheusName()` (the OTLP form) is the one name dashboards, alerts and the analyzer use;
 * `relabelRules()` renames the pull form into it at scrape time.
 */
import { ALL_METRICS, type MetricSpec } from './semconv.ts';

/** OTLP unit → Prometheus suffix word (otlptranslator `unitMap`). */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

/** OTLP "per" unit → Prometheus word (otlptranslator `perUnitMap`). */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** Series suffixes of a Prometheus histogram. */
export const HISTOGRAM_SERIES = ['bucket', 'sum', 'count'] as const;
export type HistogramSeries = (typeof HISTOGRAM_SERIES)[number];

function tokens(name: string): string[] {
  return name.split(/[^a-zA-Z0-9]+/).filter((t) => t !== '');
}

/** Unit words for a UCUM unit; `{…}` annotations and `1` contribute nothing. */
function unitTokens(unit: string): string[] {
  const stripped = unit.replace(/\{[^}]*\}/g, '').trim();
  if (stripped === '' || stripped === '1') return [];
  const [main = '', per] = stripped.split('/', 2);
  const out: string[] = [];
  const mainWord = UNIT_WORDS[main] ?? main;
  if (mainWord !== '') out.push(...tokens(mainWord));
  if (per !== undefined && per !== '') out.push('per', ...tokens(PER_UNIT_WORDS[per] ?? per));
  return out;
}

function isMonotonicCounter(spec: Pick<MetricSpec, 'instrument'>): boolean {
  return spec.instrument === 'counter';
}

/**
 * The name Prometheus stores for a metric received over OTLP (without `_bucket`/`_sum`/`_count` for
 * histograms: use `prometheusSeries` for those). This is the name every query in the project uses.
 */
export function prometheusName(spec: Pick<MetricSpec, 'name' | 'unit' | 'instrument'>): string {
  const parts = tokens(spec.name);
  for (const word of unitTokens(spec.unit)) {
    // otlptranslator does not repeat a unit word already in the name (e.g. `process.runtime.uptime_seconds`).
    if (!parts.includes(word)) parts.push(word);
  }
  if (spec.instrument === 'gauge' && spec.unit === '1' && !parts.includes('ratio')) parts.push('ratio');
  if (isMonotonicCounter(spec) && parts.at(-1) !== 'total') parts.push('total');
  return parts.join('_');
}

/** A histogram's series name (`…_seconds_bucket`). */
export function prometheusSeries(spec: MetricSpec, series: HistogramSeries): string {
  return `${prometheusName(spec)}_${series}`;
}

/** The name `@opentelemetry/exporter-prometheus` exposes: escaped, `_total` on counters, no unit suffix. */
export function pullName(spec: Pick<MetricSpec, 'name' | 'instrument'>): string {
  const base = tokens(spec.name).join('_');
  return isMonotonicCounter(spec) ? `${base}_total` : base;
}

/** One Prometheus `metric_relabel_configs` entry. */
export interface RelabelRule {
  readonly source_labels: readonly string[];
  readonly regex: string;
  readonly target_label: string;
  readonly replacement: string;
  readonly action: 'replace';
}

/**
 * Rules that rename each catalogued metric from its pull name to its OTLP name. Metrics whose two names are
 * equal get no rule. Prometheus anchors relabel regexes, so `regex` matches whole names only.
 */
export function relabelRules(specs: readonly MetricSpec[] = ALL_METRICS): RelabelRule[] {
  const rules: RelabelRule[] = [];
  for (const spec of specs) {
    const from = pullName(spec);
    const to = prometheusName(spec);
    if (from === to) continue;
    const histogram = spec.instrument === 'histogram';
    rules.push({
      source_labels: ['__name__'],
      regex: histogram ? `${from}_(${HISTOGRAM_SERIES.join('|')})` : from,
      target_label: '__name__',
      replacement: histogram ? `${to}_\${1}` : to,
      action: 'replace',
    });
  }
  return rules;
}
