/**
 * One finding per root cause, end to end: the demo with several bottlenecks on at once, mixed traffic over every
 * route, `hotpath serve` reading its metrics (real Prometheus), its traces (embedded receiver, real SDK) and its
 * pg_stat_statements. Each scenario's cause must be reported with its exact subject, and nothing else may be
 * reported on its own: symptoms (the slow routes a blocked loop or a saturated pool delayed) must be evidence of
 * their cause. Precision and recall are computed against the ground truth below and printed; the test fails
 * under the thresholds it states, so a run can print less than 100 %.
 */
import { fingerprint } from 'libpg-query';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../analyzer/src/service/config.ts';
import { type ServiceHandle, startService } from '../analyzer/src/service/service.ts';
import { testServiceEnv, testToken } from '../analyzer/src/service/testdata.ts';
import { startTraffic } from '../scripts/lib/traffic.ts';
import {
  drive,
  emptyDatabase,
  eventually,
  scraped,
  shopDatabase,
  startTestDemo,
  uniqueService,
} from './harness.ts';

interface ApiFinding {
  kind: string;
  subject: string;
  title: string;
  evidence: { values: Record<string, string | number>; symptoms?: { kind: string; subject: string }[] };
}

/** The demo's n-plus-one loop statement (demo/src/app.ts). */
const LOOP_STATEMENT =
  'SELECT count(*)::int AS orders, coalesce(sum(quantity), 0)::int AS units FROM orders WHERE product_id = $1';

/** Ground truth: for each scenario on, the cause finding that must be reported, by kind and exact subject. */
const TRUTH: readonly {
  readonly scenario: string;
  readonly kind: string;
  readonly matches: (f: ApiFinding, loopFingerprint: string) => boolean;
}[] = [
  {
    scenario: 'n-plus-one',
    kind: 'n-plus-one',
    matches: (f, loop) =>
      f.subject === loop &&
      String(f.evidence.values.routes).split('\n').includes('GET /api/categories/:category/products'),
  },
  {
    scenario: 'missing-index',
    kind: 'slow-statement',
    matches: (f) => String(f.evidence.values.statement).includes('o.customer_id = $1'),
  },
  {
    scenario: 'event-loop-block',
    kind: 'event-loop-lag',
    matches: (f) => f.evidence.values['blocking.route'] === 'POST /api/orders',
  },
  {
    scenario: 'pool-exhaustion',
    kind: 'pool-saturation',
    matches: (f) => f.evidence.values.top_holder === 'GET /api/products/:id/stock',
  },
];

/**
 * Floors, not targets: a run below them fails. Last runs on a 2-core machine: recall 75 %, 75 %, 100 %; precision
 * 38 %, 25 %, 44 %. The five /api/stats report statements are reported as slow while the missing index's scans load
 * the database, and in one run the event-loop finding fell under its sustained rule while the pool was hammered
 * (its victims then stood as slow endpoints). The floors guard against regressions until those are fixed; README
 * "One finding per root cause" has the measured numbers.
 */
const MIN_PRECISION = 0.2;
const MIN_RECALL = 0.5;

describe('root causes under mixed traffic with several faults on', () => {
  let service: ServiceHandle;
  let token: string;
  const name = uniqueService('mixed');
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await shopDatabase('mixed');
    service = await startService(
      loadServiceConfig(
        testServiceEnv(await emptyDatabase(), {
          HOTPATH_WINDOW: '1m',
          APP_DATABASE_URL: databaseUrl,
          HOTPATH_DATABASE_SERVICE: name,
        }),
      ),
      pino({ level: 'silent' }),
    );
    token = await testToken('operator', 'e2e');
  });
  afterAll(async () => {
    await service?.stop();
  });

  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${service.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    const body = (await response.json()) as T;
    if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  };

  it('reports each cause with its exact subject, and no symptom on its own', async () => {
    const scenarios = TRUTH.map((t) => t.scenario);
    const demo = await startTestDemo({
      scenarios,
      databaseUrl,
      service: name,
      otlpEndpoint: service.otlpUrl as string,
    });
    let findings: ApiFinding[];
    try {
      await scraped(demo.service);
      const traffic = startTraffic({ url: demo.url, rate: 20, connections: 8, duration: 75 });
      // A hot product page on top (its stock is checked by many users at once): the route that holds pooled
      // connections needs concurrent callers to exhaust the pool, as in production.
      await new Promise((r) => setTimeout(r, 20_000));
      await drive(400, 25, (i) => fetch(`${demo.url}/api/products/${1 + (i % 50)}/stock`));
      await traffic.done;
      const run = await api<{ id: number }>('/api/v1/analyses', {
        method: 'POST',
        body: JSON.stringify({ window: '1m' }),
      });
      const done = await eventually(async () => {
        const r = await api<{ status: string; error: string | null }>(`/api/v1/analyses/${run.id}`);
        if (r.status === 'queued' || r.status === 'running') throw new Error(`analysis is ${r.status}`);
        return r;
      }, 90_000);
      expect(done).toMatchObject({ status: 'succeeded', error: null });
      ({ items: findings } = await api<{ items: ApiFinding[] }>(
        `/api/v1/findings?service=${encodeURIComponent(demo.service)}&status=open`,
      ));
    } finally {
      await demo.stop();
    }

    const loop = await fingerprint(LOOP_STATEMENT);
    const found = TRUTH.map((t) => ({
      ...t,
      hit: findings.find((f) => f.kind === t.kind && t.matches(f, loop)),
    }));
    const correct = new Set(found.flatMap((t) => (t.hit === undefined ? [] : [t.hit])));
    const precision = findings.length === 0 ? 0 : correct.size / findings.length;
    const recall = found.filter((t) => t.hit !== undefined).length / TRUTH.length;
    const table = [
      ...found.map(
        (t) =>
          `  ${t.hit === undefined ? 'MISSED' : 'found '} ${t.scenario} → ${t.kind}` +
          (t.hit?.evidence.symptoms === undefined
            ? ''
            : ` (absorbs ${t.hit.evidence.symptoms.map((x) => `${x.kind} ${x.subject}`).join(', ')})`),
      ),
      ...findings.filter((f) => !correct.has(f)).map((f) => `  extra  ${f.kind} ${f.subject}: ${f.title}`),
    ];
    console.log(
      `[root causes] demo, ${scenarios.join(' + ')}: precision ${(precision * 100).toFixed(0)} %, recall ${(recall * 100).toFixed(0)} %\n${table.join('\n')}`,
    );
    // Symptoms are evidence of their cause, never findings of their own.
    const symptoms = findings.flatMap((f) => f.evidence.symptoms ?? []);
    expect(symptoms.length).toBeGreaterThan(0);
    expect(precision).toBeGreaterThanOrEqual(MIN_PRECISION);
    expect(recall).toBeGreaterThanOrEqual(MIN_RECALL);
  });
});
