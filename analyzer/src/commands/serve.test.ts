// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/**
 * `hotpath serve`, `migrate` and `token` as a user runs them: child processes, the real PostgreSQL, and the
 * analyzer's own telemetry scraped by the real Prometheus.
 */

import { METRICS, prometheusName, prometheusSeries } from '@hotpath/instrumentation';
import { jwtVerify } from 'jose';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { startAnalyzer } from '../../../scripts/lib/analyzer.ts';
import { emptyDatabase, eventually, promQuery, uniqueService } from '../../../test/harness.ts';
import { findingId } from '../findings.ts';
import { loadMigrations, migrate } from '../store/migrate.ts';
import { recordTestCycle } from '../store/testdata.ts';
import { hotpathWithEnv } from './run-cli.ts';

const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
/** Variables of the runner that would leak into the child's configuration. */
const CLEAN = {
  HOTPATH_DATABASE_URL: undefined,
  PROMETHEUS_URL: undefined,
  HOTPATH_JWT_SECRET: undefined,
  HOTPATH_JWKS_URL: undefined,
  APP_DATABASE_URL: undefined,
};

describe('hotpath serve, misconfigured', () => {
  it('lists every configuration problem at once and exits 2, without a stack trace', async () => {
    const { code, stderr } = await hotpathWithEnv(
      { ...CLEAN, PROMETHEUS_URL: 'prometheus:9090', HOTPATH_INTERVAL: 'often', HOTPATH_JWT_SECRET: 'short' },
      'serve',
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/HOTPATH_DATABASE_URL: is required, e.g. postgres:\/\//);
    expect(stderr).toMatch(/PROMETHEUS_URL: must be a http URL, e.g. http:\/\/prometheus:9090/);
    expect(stderr).toMatch(/HOTPATH_INTERVAL: "often" is not a duration like 30s, 15m or 1h, or off/);
    expect(stderr).toMatch(/HOTPATH_JWT_SECRET: must be at least 32 characters/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('names an unreachable store and exits 3', async () => {
    const { code, stderr } = await hotpathWithEnv(
      {
        ...CLEAN,
        HOTPATH_DATABASE_URL: 'postgres://hotpath@127.0.0.1:9/hotpath',
        PROMETHEUS_URL: inject('prometheusUrl'),
        HOTPATH_JWT_SECRET: SECRET,
        PORT: '0',
        HOTPATH_OTLP_PORT: '0',
      },
      'serve',
    );
    expect(code).toBe(3);
    expect(stderr).toMatch(
      /hotpath: database \(127\.0\.0\.1:9\/hotpath\): the analyzer store is unreachable/,
    );
  });
});

describe('hotpath migrate', () => {
  it('applies the migrations once, then says the store is up to date', async () => {
    const url = await emptyDatabase();
    const first = await hotpathWithEnv({ ...CLEAN, HOTPATH_DATABASE_URL: url }, 'migrate');
    const last = loadMigrations().at(-1)?.version;
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`applied ${loadMigrations().length} migration\\(s\\); .* is at version ${last}`),
    );
    expect(first.stderr).toMatch(/applying 001_findings\.sql/);
    const second = await hotpathWithEnv({ ...CLEAN }, 'migrate', '--database', url);
    expect(second.stdout).toMatch(/is up to date/);
  });

  it('exits 3 naming an unreachable store, 2 for a URL that is not one', async () => {
    const down = await hotpathWithEnv(CLEAN, 'migrate', '--database', 'postgres://x@127.0.0.1:9/store');
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/database \(127\.0\.0\.1:9\/store\)/);
    const bad = await hotpathWithEnv(CLEAN, 'migrate', '--database', 'not a url');
    expect(bad.code).toBe(2);
  });
});

describe('hotpath token', () => {
  it('mints a token the service accepts, with the role and subject asked for', async () => {
    const { code, stdout } = await hotpathWithEnv(
      { ...CLEAN, HOTPATH_JWT_SECRET: SECRET },
      'token',
      '--role',
      'operator',
      '--subject',
      'ci',
      '--expires',
      '10m',
    );
    expect(code).toBe(0);
    const { payload } = await jwtVerify(stdout.trim(), new TextEncoder().encode(SECRET), {
      algorithms: ['HS256'],
    });
    expect(payload).toMatchObject({ role: 'operator', sub: 'ci' });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
    const bad = await hotpathWithEnv({ ...CLEAN, HOTPATH_JWT_SECRET: SECRET }, 'token', '--role', 'root');
    expect(bad.code).toBe(2);
  });
});

describe('the analyzer’s own telemetry', () => {
  it('exports open findings, cycle durations and failures, as Prometheus sees them', async () => {
    const storeUrl = await emptyDatabase();
    const pool = new pg.Pool({ connectionString: storeUrl, max: 1 });
    const finding = (subject: string, severity: 'warning' | 'critical') => ({
      id: findingId('slow-statement', 'shop', subject),
      kind: 'slow-statement' as const,
      layer: 'database' as const,
      service: 'shop',
      subject,
      severity,
      impact: 0.1,
      title: subject,
      summary: subject,
      evidence: { values: {}, window: '15m', queries: [] },
      recommendations: [],
    });
    try {
      await migrate(pool);
      await recordTestCycle(pool, [
        finding('a', 'critical'),
        finding('b', 'critical'),
        finding('c', 'warning'),
      ]);
    } finally {
      await pool.end();
    }

    const analyzer = await startAnalyzer({
      storeUrl,
      // Nothing listens there: every cycle fails.
      prometheusUrl: 'http://127.0.0.1:9',
      interval: '5s',
      service: uniqueService('hotpath-analyzer'),
      scrapeTargetsDir: inject('prometheusTargetsDir'),
    });
    const job = analyzer.service;
    try {
      const open = prometheusName(METRICS.hotpathFindingsOpen);
      const byKind = await eventually(async () => {
        const samples = await promQuery(`sum by (hotpath_finding_severity) (${open}{job="${job}"})`);
        if (samples.length < 2) throw new Error(`${open}: ${JSON.stringify(samples)}`);
        return Object.fromEntries(samples.map((s) => [s.metric.hotpath_finding_severity, s.value]));
      }, 45_000);
      expect(byKind).toEqual({ critical: 2, warning: 1 });

      const failures = `${prometheusName(METRICS.hotpathAnalysisFailures)}{job="${job}"}`;
      const durations = `${prometheusSeries(METRICS.hotpathAnalysisDuration, 'count')}{job="${job}", hotpath_analysis_outcome="failed"}`;
      const [failed, timed] = await eventually(async () => {
        const [f, d] = await Promise.all([promQuery(failures), promQuery(durations)]);
        if ((f[0]?.value ?? 0) < 1 || (d[0]?.value ?? 0) < 1) throw new Error('no failed cycle exported yet');
        return [f[0]?.value ?? 0, d[0]?.value ?? 0];
      }, 45_000);
      expect(failed).toBeGreaterThanOrEqual(1);
      expect(timed).toBeGreaterThanOrEqual(1);
      expect(analyzer.process.exited()).toBeUndefined();
    } finally {
      await analyzer.stop();
    }
    expect(analyzer.process.exited()?.code).toBe(0);
  }, 120_000);
});
