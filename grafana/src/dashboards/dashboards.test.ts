/**
 * The generated dashboards: stable identity, datasources by fixed uid, variables every query filters on, PromQL
 * that parses and names only catalogued series, thresholds that are the SLO file's numbers, and a DATA_NEEDS list
 * that matches where each panel's data really comes from.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSlo, parseSlo } from '@hotpath/analyzer/slo';
import { METRICS, PROMETHEUS_SERIES, prometheusName, prometheusSeries } from '@hotpath/instrumentation';
import { describe, expect, it } from 'vitest';
import { KNOWN_SERIES, parsePromql } from '../../../test/promql.ts';
import { DATASOURCE_UIDS } from '../datasources.ts';
import { DASHBOARD_UIDS, DATA_NEEDS, dashboards } from './index.ts';
import { interpolatePromql, interpolateSql, panelsOf, queriesOf, variablesOf } from './queries.ts';

type Json = Record<string, unknown>;

const HERE = dirname(fileURLToPath(import.meta.url));
const slo = loadSlo();
const all = dashboards(slo);
const byUid = new Map(all.map((d) => [d.uid, d.json]));

const K6_SERIES: ReadonlySet<string> = new Set(
  Object.entries(PROMETHEUS_SERIES)
    .filter(([k]) => k.startsWith('k6'))
    .map(([, v]) => v),
);
const BROWSER_SERIES = new Set(
  Object.values(METRICS)
    .filter((m) => m.name.startsWith('browser.'))
    .flatMap((m) => (['bucket', 'sum', 'count'] as const).map((s) => prometheusSeries(m, s))),
);
/** The analyzer's own metrics (hotpath.*), in every series form. */
const ANALYZER_SERIES = new Set(
  Object.values(METRICS)
    // The analyzer's own telemetry (hotpath.findings.open, …), not the instrumentation's hotpath.v8js.* gauges.
    .filter((m) => m.source === '@hotpath/analyzer')
    .flatMap((m) => [
      prometheusName(m),
      ...(['bucket', 'sum', 'count'] as const).map((s) => prometheusSeries(m, s)),
    ]),
);
/** Catalogued series and records (test/promql.ts) plus the series that arrive already named (k6, Tempo…). */
const QUERYABLE = new Set([...KNOWN_SERIES, ...Object.values(PROMETHEUS_SERIES)]);

const INTERVALS = { rateInterval: '1m', interval: '10s', range: '5m' } as const;
const ALL_VALUES = {
  service: '.+',
  route: '.+',
  instance: '.+',
  page: '.+',
  testid: '.*',
  layer: '.+',
} as const;

/** Which variables each dashboard offers, and which of them its Prometheus selectors must filter on. */
const EXPECTED_VARIABLES: Record<string, readonly string[]> = {
  [DASHBOARD_UIDS.overview]: ['service'],
  [DASHBOARD_UIDS.endpoints]: ['service', 'route'],
  [DASHBOARD_UIDS.database]: ['service'],
  [DASHBOARD_UIDS.runtime]: ['service', 'instance', 'profile_service'],
  [DASHBOARD_UIDS.frontend]: ['service', 'page'],
  [DASHBOARD_UIDS.loadTests]: ['testid', 'service'],
  [DASHBOARD_UIDS.bottlenecks]: ['service', 'layer'],
};
const MATCHER_OF: Record<string, string> = {
  service: 'job=~"$service"',
  route: 'http_route=~"$route"',
  instance: 'instance=~"$instance"',
  page: 'page_route=~"$page"',
  testid: 'testid=~"$testid"',
};

const promQueries = all.flatMap((d) => queriesOf(d.json)).filter((q) => q.language === 'promql');
const sqlQueries = all.flatMap((d) => queriesOf(d.json)).filter((q) => q.language === 'sql');

/** `name{matchers}` of every vector selector (the expressions always write matchers in braces). */
function selectors(expr: string): { metric: string; matchers: string }[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)].map((m) => ({
    metric: m[1] ?? '',
    matchers: m[2] ?? '',
  }));
}

function panel(uid: string, title: string): Json {
  const found = panelsOf(byUid.get(uid) ?? {}).find((p) => p.title === title);
  if (found === undefined) throw new Error(`no panel "${title}" on ${uid}`);
  return found;
}

function thresholdSteps(p: Json): { value: number | null; color: string }[] {
  // A flame graph has no field config at all.
  const fieldConfig = p.fieldConfig as
    | { defaults?: { thresholds?: { steps?: { value: number | null; color: string }[] } } }
    | undefined;
  return fieldConfig?.defaults?.thresholds?.steps ?? [];
}

/** The objective a panel draws: the value of its red step. */
function objective(p: Json): number | null | undefined {
  return thresholdSteps(p).find((s) => s.color === 'red')?.value;
}

describe('dashboards', () => {
  it('are seven, with the stable uids and unique titles', () => {
    expect(all.map((d) => d.uid)).toEqual([
      'hotpath-overview',
      'hotpath-endpoints',
      'hotpath-database',
      'hotpath-runtime',
      'hotpath-frontend',
      'hotpath-load-tests',
      'hotpath-bottlenecks',
    ]);
    expect(new Set(all.map((d) => d.title)).size).toBe(7);
    for (const d of all) expect(d.json.uid).toBe(d.uid);
  });

  it('are plain JSON, built the same way every time', () => {
    for (const d of all) expect(JSON.parse(JSON.stringify(d.json))).toEqual(d.json);
    expect(JSON.stringify(dashboards(slo))).toBe(JSON.stringify(all));
  });

  it.each(all.map((d) => [d.uid, d.json] as const))(
    '%s is tagged generated and hotpath, refreshes every 10-30 s over the last 15-30 min, and links to the others',
    (_, json) => {
      expect(json.tags).toEqual(expect.arrayContaining(['generated', 'hotpath']));
      expect(['10s', '15s', '30s']).toContain(json.refresh);
      expect(['now-15m', 'now-30m']).toContain((json.time as Json).from);
      expect((json.time as Json).to).toBe('now');
      const links = json.links as Json[];
      expect(links).toContainEqual(
        expect.objectContaining({ type: 'dashboards', tags: ['hotpath'], includeVars: true, keepTime: true }),
      );
      // Shown in the top bar, not hidden in the controls menu.
      for (const link of links) expect(link.placement).toBeUndefined();
    },
  );

  it.each(all.map((d) => [d.uid, d.json] as const))(
    '%s has unique panel ids and titles, and every panel and query names a provisioned datasource',
    (_, json) => {
      const panels = panelsOf(json);
      expect(panels.length).toBeGreaterThan(0);
      expect(new Set(panels.map((p) => p.title)).size).toBe(panels.length);
      const ids = (json.panels as Json[]).map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const uids: string[] = Object.values(DATASOURCE_UIDS);
      for (const p of panels) {
        const panelUid = (p.datasource as Json | undefined)?.uid;
        expect(uids, `${String(p.title)} datasource`).toContain(panelUid);
        const targets = p.targets as Json[];
        expect(targets.length, String(p.title)).toBeGreaterThan(0);
        for (const t of targets) {
          expect((t.datasource as Json).uid, String(p.title)).toBe(panelUid);
          expect(t.refId).toMatch(/^[A-Z]$/);
        }
      }
      for (const variable of variablesOf(json).values()) {
        if (variable.type === 'query') expect(uids).toContain((variable.datasource as Json).uid);
      }
    },
  );

  it.each(Object.entries(EXPECTED_VARIABLES))('%s offers the variables %j', (uid, names) => {
    const variables = variablesOf(byUid.get(uid) ?? {});
    expect([...variables.keys()]).toEqual(names);
    for (const v of variables.values()) {
      expect(v).toMatchObject({ multi: true, includeAll: true });
      expect(['.+', '.*']).toContain(v.allValue);
    }
  });

  it('variable queries use catalogued series', () => {
    for (const d of all) {
      for (const v of variablesOf(d.json).values()) {
        if (v.type !== 'query' || (v.datasource as Json).uid !== DATASOURCE_UIDS.prometheus) continue;
        const inner = /^label_values\((.+), (\w+)\)$/.exec(String(v.definition));
        expect(inner, String(v.definition)).not.toBeNull();
        const parsed = parsePromql(interpolatePromql(inner?.[1] ?? '', ALL_VALUES, INTERVALS));
        expect(parsed.errors).toEqual([]);
        for (const name of parsed.metricNames) expect(QUERYABLE.has(name), name).toBe(true);
      }
    }
  });
});

describe('Prometheus queries', () => {
  it('exist on every dashboard (Bottlenecks: only the analyzer’s own health)', () => {
    expect(new Set(promQueries.map((q) => q.dashboardUid))).toEqual(new Set(Object.values(DASHBOARD_UIDS)));
  });

  it.each(promQueries.map((q) => [`${q.dashboardUid}/${q.panelTitle}/${q.refId}`, q.text]))(
    '%s parses and uses only catalogued series',
    (_, expr) => {
      const parsed = parsePromql(interpolatePromql(expr, ALL_VALUES, INTERVALS));
      expect(parsed.errors).toEqual([]);
      expect(parsed.metricNames.length).toBeGreaterThan(0);
      for (const name of parsed.metricNames) expect(QUERYABLE.has(name), name).toBe(true);
      // Every vector selector is written with braces, so the checks on `selectors()` see all of them.
      expect(selectors(expr).map((s) => s.metric)).toEqual(parsed.metricNames);
    },
  );

  it.each(promQueries.map((q) => [`${q.dashboardUid}/${q.panelTitle}/${q.refId}`, q] as const))(
    '%s filters every selector by the dashboard variables and rates over $__rate_interval',
    (_, q) => {
      const variables = EXPECTED_VARIABLES[q.dashboardUid] ?? [];
      for (const { metric, matchers } of selectors(q.text)) {
        // k6 results carry no job: they are filtered by test run; the analyzer's own health is about the analyzer,
        // not the services it judges; everything else by service and the rest.
        const applicable = K6_SERIES.has(metric)
          ? ['testid']
          : ANALYZER_SERIES.has(metric)
            ? []
            : // profile_service is $service as Pyroscope names it, for the flame graph only.
              variables.filter((v) => v !== 'testid' && v !== 'profile_service');
        for (const v of applicable) expect(matchers, `${metric} on ${v}`).toContain(MATCHER_OF[v]);
      }
      for (const range of q.text.matchAll(/\[([^\]]*)\]/g)) expect(range[1]).toBe('$__rate_interval');
    },
  );

  it('ask for exemplars on the raw latency histogram', () => {
    const raw = prometheusSeries(METRICS.httpServerRequestDuration, 'bucket');
    const json = byUid.get(DASHBOARD_UIDS.endpoints) ?? {};
    const targets = panelsOf(json).flatMap((p) => p.targets as Json[]);
    const withRaw = targets.filter((t) => String(t.expr).includes(`${raw}{`));
    expect(withRaw.length).toBeGreaterThan(0);
    for (const t of withRaw) expect(t.exemplar).toBe(true);
  });
});

describe('SQL queries', () => {
  it('read the findings tables through the findings datasource', () => {
    expect(sqlQueries.length).toBeGreaterThan(0);
    for (const q of sqlQueries) {
      expect(q.text).toMatch(/\bFROM findings\b|\bFROM finding_events\b/);
      expect(() =>
        interpolateSql(q.text, { service: '.+', layer: '.+' }, { from: new Date(0), to: new Date() }),
      ).not.toThrow();
    }
  });
});

describe('thresholds come from the SLO file', () => {
  const d = slo.defaults;

  it('on the Overview SLO stats', () => {
    expect(objective(panel(DASHBOARD_UIDS.overview, 'API p95 latency (worst route)'))).toBe(
      d.api.latency_p95_ms / 1000,
    );
    expect(objective(panel(DASHBOARD_UIDS.overview, '5xx ratio (worst route)'))).toBe(
      d.api.error_rate_percent / 100,
    );
    expect(objective(panel(DASHBOARD_UIDS.overview, 'DB query p95 (worst operation)'))).toBe(
      d.database.query_p95_ms / 1000,
    );
    expect(objective(panel(DASHBOARD_UIDS.overview, 'Event-loop delay p99 (worst instance)'))).toBe(
      d.runtime.event_loop_p99_ms / 1000,
    );
  });

  it('on the other dashboards', () => {
    expect(objective(panel(DASHBOARD_UIDS.endpoints, 'p95 by route'))).toBe(d.api.latency_p95_ms / 1000);
    expect(objective(panel(DASHBOARD_UIDS.database, 'Query p95 by operation'))).toBe(
      d.database.query_p95_ms / 1000,
    );
    expect(objective(panel(DASHBOARD_UIDS.runtime, 'Event-loop delay'))).toBe(
      d.runtime.event_loop_p99_ms / 1000,
    );
    expect(objective(panel(DASHBOARD_UIDS.runtime, 'Event-loop utilization'))).toBe(
      d.runtime.event_loop_utilization,
    );
    expect(objective(panel(DASHBOARD_UIDS.runtime, 'GC time per second by type'))).toBe(
      d.runtime.gc_ms_per_s / 1000,
    );
    expect(objective(panel(DASHBOARD_UIDS.runtime, 'Process CPU utilization'))).toBe(
      d.runtime.cpu_utilization_percent / 100,
    );
    expect(objective(panel(DASHBOARD_UIDS.frontend, 'LCP p75 by page'))).toBe(d.frontend.lcp_p75_ms / 1000);
    expect(objective(panel(DASHBOARD_UIDS.frontend, 'CLS p75 by page'))).toBe(d.frontend.cls_p75);
    expect(objective(panel(DASHBOARD_UIDS.frontend, 'Page load p75 by page'))).toBe(
      d.frontend.page_load_p75_ms / 1000,
    );
    expect(objective(panel(DASHBOARD_UIDS.loadTests, 'k6 request duration p95 / p99'))).toBe(
      d.api.latency_p95_ms / 1000,
    );
  });

  it('and follow it when a number changes', () => {
    const text = readFileSync(join(HERE, '..', '..', '..', 'slo.yaml'), 'utf8')
      .replace(/latency_p95_ms: 200/g, 'latency_p95_ms: 350')
      .replace('query_p95_ms: 100', 'query_p95_ms: 40')
      .replace('event_loop_p99_ms: 100', 'event_loop_p99_ms: 75');
    const changed = new Map(dashboards(parseSlo(text)).map((x) => [x.uid, x.json]));
    const objectiveOn = (uid: string, title: string) =>
      objective(panelsOf(changed.get(uid) ?? {}).find((p) => p.title === title) ?? {});
    expect(objectiveOn(DASHBOARD_UIDS.overview, 'API p95 latency (worst route)')).toBe(0.35);
    expect(objectiveOn(DASHBOARD_UIDS.overview, 'DB query p95 (worst operation)')).toBe(0.04);
    expect(objectiveOn(DASHBOARD_UIDS.overview, 'Event-loop delay p99 (worst instance)')).toBe(0.075);
    const impact = queriesOf(changed.get(DASHBOARD_UIDS.endpoints) ?? {}).find(
      (q) => q.panelTitle === 'Top routes by impact' && q.refId === 'A',
    );
    expect(impact?.text).toContain('- 0.35, 0)');
  });

  it('are never typed into the dashboard code', () => {
    // Every number of a threshold step is an SLO value (or the base step's null).
    const values = new Set<number | null>([null]);
    const collect = (o: unknown): void => {
      if (typeof o === 'number') values.add(o);
      else if (o !== null && typeof o === 'object') for (const v of Object.values(o)) collect(v);
    };
    collect(slo.defaults);
    const scaled = [...values].flatMap((v) => (typeof v === 'number' ? [v, v / 1000, v / 100] : [v]));
    for (const d of all) {
      for (const p of panelsOf(d.json)) {
        for (const step of thresholdSteps(p))
          expect(scaled, `${d.uid}/${String(p.title)}`).toContain(step.value);
      }
    }
  });
});

describe('metric names', () => {
  it('are never written as literals in the dashboard code', () => {
    const names = [...QUERYABLE].filter((n) => n.includes('_'));
    for (const file of readdirSync(HERE).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const source = readFileSync(join(HERE, file), 'utf8');
      for (const name of names) expect(source.includes(name), `${file} writes ${name}`).toBe(false);
      expect(source).not.toMatch(/['"`]up['"`]/);
    }
  });

  it('come from the catalogue (a sample resolves to the expected Prometheus names)', () => {
    expect(prometheusName(METRICS.nodejsEventloopDelayP99)).toBe('nodejs_eventloop_delay_p99_seconds');
    const runtime = queriesOf(byUid.get(DASHBOARD_UIDS.runtime) ?? {}).map((q) => q.text);
    expect(runtime.some((e) => e.includes('nodejs_eventloop_delay_p99_seconds{'))).toBe(true);
  });
});

describe('DATA_NEEDS', () => {
  it('names existing panels only', () => {
    for (const key of Object.keys(DATA_NEEDS)) {
      const [uid = '', ...title] = key.split('/');
      expect(() => panel(uid, title.join('/')), key).not.toThrow();
    }
  });

  it('lists exactly the panels fed by k6 or the analyzer (the browser panels get real page views in tests)', () => {
    const expected: Record<string, string> = {};
    for (const d of all) {
      for (const p of panelsOf(d.json)) {
        const key = `${d.uid}/${String(p.title)}`;
        const queries = queriesOf({ uid: d.uid, panels: [p] });
        const names = queries.flatMap((q) => selectors(q.text).map((s) => s.metric));
        if (queries.some((q) => q.language === 'sql')) expected[key] = 'analyzer';
        else if (names.some((n) => K6_SERIES.has(n))) expected[key] = 'k6';
        else if (names.some((n) => BROWSER_SERIES.has(n))) continue;
        else if (names.some((n) => ANALYZER_SERIES.has(n))) expected[key] = 'analyzer';
      }
    }
    expect(DATA_NEEDS).toEqual(expected);
  });
});
