/**
 * `hotpath serve` in-process for end-to-end tests, driven through its HTTP API as an operator would, and the
 * scoring of its findings against a ground-truth table (precision, recall, and what was extra or missed).
 */
import { pino } from 'pino';
import { expect } from 'vitest';
import { plannable } from '../analyzer/src/recommend/explain-check.ts';
import { loadServiceConfig } from '../analyzer/src/service/config.ts';
import { startService } from '../analyzer/src/service/service.ts';
import { testServiceEnv, testToken } from '../analyzer/src/service/testdata.ts';
import { dashboards } from '../grafana/src/dashboards/index.ts';
import { interpolateSql, queriesOf } from '../grafana/src/dashboards/queries.ts';
import { withClient } from '../scripts/lib/postgres.ts';
import { emptyDatabase, eventually } from './harness.ts';

/** A finding as the API returns it (the fields the tests read). */
export interface ApiFinding {
  readonly id: string;
  readonly kind: string;
  readonly layer: string;
  readonly service: string;
  readonly subject: string;
  readonly severity: string;
  readonly status: string;
  readonly title: string;
  readonly evidence: {
    readonly values: Record<string, string | number>;
    readonly traceIds?: string[];
    readonly queries: { language: string; text: string }[];
    readonly symptoms?: { kind: string; subject: string }[];
  };
  readonly recommendations: { action: string; artifact?: string; verify: string; confidence: string }[];
}

export interface TestAnalyzer {
  /** Base URL of the API. */
  readonly url: string;
  /** Base URL of the embedded OTLP/HTTP trace receiver. */
  readonly otlpUrl: string;
  /** The store database's URL. */
  readonly storeUrl: string;
  /** An authenticated API call as an operator; throws with the body on a non-2xx answer. */
  api<T>(path: string, init?: RequestInit): Promise<T>;
  /** Runs one analysis over `window` through the API and waits for it; throws unless it succeeded. */
  analyze(window: string): Promise<void>;
  /** The service's findings (`query` adds filters, e.g. `status=open`). */
  findings(service: string, query?: string): Promise<ApiFinding[]>;
  stop(): Promise<void>;
}

/**
 * Starts `hotpath serve` on the test harness with a fresh store. Cycles run only when `analyze` asks (no
 * schedule: an hourly one fired mid-test at the top of the hour, over a window longer than the test's), unless
 * `env` says otherwise.
 */
export async function startTestAnalyzer(env: Record<string, string> = {}): Promise<TestAnalyzer> {
  const storeUrl = await emptyDatabase();
  const service = await startService(
    loadServiceConfig(testServiceEnv(storeUrl, { HOTPATH_INTERVAL: 'off', ...env })),
    pino({ level: 'silent' }),
  );
  const token = await testToken('operator', 'e2e');
  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${service.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    const body = (await response.json()) as T;
    if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  if (service.otlpUrl === undefined) throw new Error('the test service has no embedded trace receiver');
  return {
    url: service.url,
    otlpUrl: service.otlpUrl,
    storeUrl,
    api,
    async analyze(window) {
      const run = await api<{ id: number }>('/api/v1/analyses', {
        method: 'POST',
        body: JSON.stringify({ window }),
      });
      const done = await eventually(async () => {
        const r = await api<{ status: string; error: string | null }>(`/api/v1/analyses/${run.id}`);
        if (r.status === 'queued' || r.status === 'running')
          throw new Error(`analysis ${run.id} is ${r.status}`);
        return r;
      }, 90_000);
      expect(done).toMatchObject({ status: 'succeeded', error: null });
    },
    async findings(name, query = '') {
      const { items } = await api<{ items: ApiFinding[] }>(
        `/api/v1/findings?service=${encodeURIComponent(name)}${query === '' ? '' : `&${query}`}`,
      );
      return items;
    },
    stop: () => service.stop(),
  };
}

/** One row of a ground truth: the cause finding a fault must produce, by kind and exact subject. */
export interface Truth {
  readonly fault: string;
  /** The kinds of finding that state this cause (the first is the usual one). */
  readonly kinds: readonly string[];
  readonly matches: (finding: ApiFinding) => boolean;
}

export interface Score {
  readonly precision: number;
  readonly recall: number;
  /** One line per truth row (found or missed, with the symptoms it absorbed), then one per extra finding. */
  readonly table: readonly string[];
}

/**
 * Precision: the share of reported findings that are a truth row's cause. Recall: the share of truth rows whose
 * cause was reported. A finding counts for at most one row.
 */
export function score(findings: readonly ApiFinding[], truth: readonly Truth[]): Score {
  const used = new Set<ApiFinding>();
  const rows = truth.map((t) => {
    const hit = findings.find((f) => !used.has(f) && t.kinds.includes(f.kind) && t.matches(f));
    if (hit !== undefined) used.add(hit);
    return { t, hit };
  });
  const table = [
    ...rows.map(
      ({ t, hit }) =>
        `  ${hit === undefined ? 'MISSED' : 'found '} ${t.fault} → ${hit?.kind ?? t.kinds.join(' or ')}` +
        (hit === undefined ? '' : ` ${hit.subject}`) +
        (hit?.evidence.symptoms === undefined || hit.evidence.symptoms.length === 0
          ? ''
          : ` (absorbs ${hit.evidence.symptoms.map((x) => `${x.kind} ${x.subject}`).join(', ')})`),
    ),
    ...findings
      .filter((f) => !used.has(f))
      .map(
        (f) =>
          `  extra  ${f.kind} ${f.subject}: ${f.title}` +
          (f.evidence.symptoms === undefined || f.evidence.symptoms.length === 0
            ? ''
            : ` (absorbs ${f.evidence.symptoms.map((x) => `${x.kind} ${x.subject}`).join(', ')})`),
      ),
  ];
  return {
    precision: findings.length === 0 ? (truth.length === 0 ? 1 : 0) : used.size / findings.length,
    recall: truth.length === 0 ? 1 : rows.filter((r) => r.hit !== undefined).length / truth.length,
    table,
  };
}

/**
 * Every batched statement the findings propose, planned again here by PostgreSQL on the app's database (read-
 * only, never run), and said to be planned by the finding itself. Returns how many there were.
 */
export async function expectBatchedStatementsPlan(
  findings: readonly ApiFinding[],
  databaseUrl: string,
): Promise<number> {
  const proposed = findings.flatMap((f) => {
    const statement = f.evidence.values['batched.statement'];
    return typeof statement === 'string' ? [{ f, statement }] : [];
  });
  for (const { f, statement } of proposed) {
    expect(await plannable(databaseUrl, statement), `${f.kind} ${f.subject}: ${statement}`).toEqual({
      ok: true,
    });
    expect(f.evidence.values['batched.planned'], statement).toBe('true');
  }
  return proposed.length;
}

/**
 * Every SQL panel of the dashboards, run as Grafana would (service selected, every layer, the last half hour)
 * against the store the analyzer wrote in this test: row counts by panel. No fixture rows.
 */
export async function sqlPanelRows(storeUrl: string, service: string): Promise<Record<string, number>> {
  const regexEscape = (s: string) => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
  const now = Date.now();
  const range = { from: new Date(now - 30 * 60_000), to: new Date(now + 60_000) };
  const out: Record<string, number> = {};
  for (const q of dashboards().flatMap((d) => queriesOf(d.json))) {
    if (q.language !== 'sql') continue;
    const sql = interpolateSql(q.text, { service: regexEscape(service), layer: '.+' }, range);
    const { rows } = await withClient(storeUrl, (c) => c.query(sql));
    out[`${q.dashboardUid}/${q.panelTitle} [${q.refId ?? '?'}]`] = rows.length;
  }
  return out;
}
