/**
 * `hotpath serve`, `migrate` and `token` as a user runs them: child processes, the real PostgreSQL, and the
 * analyzer's own telemetry scraped by the real Prometheus.
 */

import { METRICS, prometheusName, prometheusSeries } from '@hotpath/instrumentation';
import { jwtVerify } from 'jose';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../../scripts/lib/demo.ts';
import { freePort, startProcess, waitFor } from '../../../scripts/lib/process.ts';
import { addScrapeTarget } from '../../../scripts/lib/prometheus.ts';
import { emptyDatabase, eventually, promQuery, uniqueService } from '../../../test/harness.ts';
import { findingId } from '../findings.ts';
import { recordCycle } from '../store/findings.ts';
import { loadMigrations, migrate } from '../store/migrate.ts';
import { queueRun } from '../store/runs.ts';
import { CLI, hotpathWithEnv } from './run-cli.ts';

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
    expect(stderr).toMatch(/HOTPATH_INTERVAL: window "often" is not a duration/);
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
    const service = uniqueService('hotpath-analyzer');
    try {
      await migrate(pool);
      const run = await queueRun(pool, {
        trigger: 'cli',
        windowSeconds: 60,
        replica: 't',
        requestedBy: null,
      });
      const client = await pool.connect();
      try {
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
        await recordCycle(
          client,
          [finding('a', 'critical'), finding('b', 'critical'), finding('c', 'warning')],
          {
            runId: run.id,
            autoResolveAfter: 3,
            covered: () => false,
          },
        );
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }

    const port = await freePort();
    const metricsPort = await freePort();
    const child = startProcess(
      'hotpath serve',
      process.execPath,
      ['--import', '@hotpath/instrumentation/register', CLI, 'serve'],
      {
        cwd: REPO_ROOT,
        env: {
          ...(process.env as Record<string, string>),
          HOTPATH_DATABASE_URL: storeUrl,
          // Nothing listens there: every cycle fails.
          PROMETHEUS_URL: 'http://127.0.0.1:9',
          HOTPATH_JWT_SECRET: SECRET,
          HOST: '127.0.0.1',
          PORT: String(port),
          HOTPATH_OTLP_PORT: '0',
          HOTPATH_INTERVAL: '5s',
          OTEL_SERVICE_NAME: service,
          OTEL_METRICS_EXPORTER: 'prometheus',
          OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
          OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
          OTEL_TRACES_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
          HOTPATH_IGNORE_INCOMING_PATHS: '/healthz,/readyz',
        },
      },
    );
    const unregister = addScrapeTarget(inject('prometheusTargetsDir'), service, {
      address: `127.0.0.1:${metricsPort}`,
      service,
    });
    try {
      await waitFor(
        'hotpath serve',
        30_000,
        child,
        async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok,
      );
      const open = prometheusName(METRICS.hotpathFindingsOpen);
      const byKind = await eventually(async () => {
        const samples = await promQuery(`sum by (hotpath_finding_severity) (${open}{job="${service}"})`);
        if (samples.length < 2) throw new Error(`${open}: ${JSON.stringify(samples)}`);
        return Object.fromEntries(samples.map((s) => [s.metric.hotpath_finding_severity, s.value]));
      }, 45_000);
      expect(byKind).toEqual({ critical: 2, warning: 1 });

      const failures = `${prometheusName(METRICS.hotpathAnalysisFailures)}{job="${service}"}`;
      const durations = `${prometheusSeries(METRICS.hotpathAnalysisDuration, 'count')}{job="${service}", hotpath_analysis_outcome="failed"}`;
      const [failed, timed] = await eventually(async () => {
        const [f, d] = await Promise.all([promQuery(failures), promQuery(durations)]);
        if ((f[0]?.value ?? 0) < 1 || (d[0]?.value ?? 0) < 1) throw new Error('no failed cycle exported yet');
        return [f[0]?.value ?? 0, d[0]?.value ?? 0];
      }, 45_000);
      expect(failed).toBeGreaterThanOrEqual(1);
      expect(timed).toBeGreaterThanOrEqual(1);
      expect(child.exited()).toBeUndefined();
    } finally {
      unregister();
      await child.stop('SIGTERM');
    }
    expect(child.exited()?.code).toBe(0);
  }, 120_000);
});
