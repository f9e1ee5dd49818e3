/**
 * `npm run load`, the local driver for machines without k6, and `hotpath compare` judging its runs, against the
 * real demo on the harness (real Prometheus, real PostgreSQL with pg_stat_statements). One demo, three runs of
 * the benchmark profile: two healthy ones, which must compare as equal, and one with `missing-index` on, which
 * must compare as a regression of exactly the route that runs the statement, naming the statement and its index.
 * Bad input and an absent target get a message and k6's exit codes, never a stack.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { METRICS, prometheusName, prometheusSeries } from '@hotpath/instrumentation';
import express from 'express';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hotpath } from '../analyzer/src/commands/run-cli.ts';
import { type Comparison, compare as compareRuns, resolveWindow } from '../analyzer/src/compare/compare.ts';
import type { RecordedRun } from '../analyzer/src/runs.ts';
import { loadSlo } from '../analyzer/src/slo.ts';
import { PrometheusClient } from '../analyzer/src/sources/prometheus.ts';
import { EmbeddedTraceSource } from '../analyzer/src/traces/embedded.ts';
import { otlpTracesRouter } from '../analyzer/src/traces/otlp-receiver.ts';
import { VISIT } from '../k6/lib/visit.ts';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import { freePort } from '../scripts/lib/process.ts';
import { eventually, promQuery, scraped, startTestDemo } from './harness.ts';

const run = async (args: readonly string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'load.ts'), ...args],
      { cwd: REPO_ROOT },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

/** The demo's statement behind GET /api/customers/:id/orders, which `missing-index` turns into a scan. */
const CUSTOMER_ORDERS = /WHERE o\.customer_id = \$1/;

describe('npm run load, and hotpath compare on its runs', () => {
  let demo: Awaited<ReturnType<typeof startTestDemo>>;
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-runs-'));
  const runs: RecordedRun[] = [];
  // The demo's traces, received here by the analyzer's own OTLP receiver into its embedded trace source: what
  // compare's pipeline reads to tie a route to its statement by the trace, not by the numbers.
  const traces = new EmbeddedTraceSource();
  let receiver: Server | undefined;

  beforeAll(async () => {
    const app = express();
    app.use(otlpTracesRouter({ source: traces }));
    const server = app.listen(0, '127.0.0.1');
    receiver = server;
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    demo = await startTestDemo({ otlpEndpoint: `http://127.0.0.1:${port}` });
    await scraped(demo.service);
  });
  afterAll(async () => {
    await demo?.stop();
    receiver?.close();
  });

  /** One benchmark run (one user, a visit a second) of 30 s, recorded with the database's statements. */
  async function benchmark(): Promise<{ run: RecordedRun; stdout: string; stderr: string; code: number }> {
    const result = await run([
      ...['--profile', 'benchmark', '--target', demo.url, '--scale', '0.5'],
      ...['--runs-dir', dir, '--database', demo.databaseUrl],
    ]);
    const id = /recorded as run (\S+)/.exec(result.stdout)?.[1];
    expect(id, `${result.stderr}\n${result.stdout}`).toBeDefined();
    const recorded = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')) as RecordedRun;
    runs.push(recorded);
    // Prometheus has scraped past the run's end: its last requests are in the window compare reads.
    await eventually(async () => {
      const [up] = await promQuery(`timestamp(up{job="${demo.service}"})`);
      expect(Number(up?.value) * 1000).toBeGreaterThan(new Date(recorded.end).getTime() + 1_500);
    }, 20_000);
    return { run: recorded, ...result };
  }

  async function compare(baseline: RecordedRun, candidate: RecordedRun) {
    const args = [
      ...['compare', '--baseline', baseline.id, '--candidate', candidate.id, '--runs-dir', dir],
      ...['--prometheus', inject('prometheusUrl'), '--database', demo.databaseUrl, '--service', demo.service],
    ];
    const table = await hotpath(...args);
    console.log(
      `[compare] ${candidate.id} vs ${baseline.id}: exit ${table.code}\n${table.stdout}${table.stderr}`,
    );
    const json = await hotpath(...args, '--format', 'json');
    expect(json.code, json.stderr).toBe(table.code);
    return { ...table, comparison: JSON.parse(json.stdout) as Comparison };
  }

  it('drives the demo with the k6 visit, prints progress and a summary, passes the SLO thresholds and records the run with its statements', async () => {
    const { run: recorded, code, stdout, stderr } = await benchmark();
    console.log(`[load] ${stderr}\n${stdout}`);
    expect(stderr).toMatch(/step 1\/1: 1 users for 30\.0 s/);
    for (const r of VISIT)
      expect(stdout).toMatch(new RegExp(`^${r.name}\\s+${r.method}\\s+[1-9]\\d*\\s+0\\s`, 'm'));
    expect(stdout).toContain('thresholds (slo.yaml): passed');
    expect(code).toBe(0);
    expect(recorded.id).toMatch(/^benchmark-\d{8}T\d{6}Z$/);
    expect(new Date(recorded.end).getTime() - new Date(recorded.start).getTime()).toBeGreaterThanOrEqual(
      30_000,
    );
    expect(recorded.target).toBe(new URL(demo.url).origin);
    // One visit a second for 30 s: about 30 visits of 8 requests.
    expect(recorded.requests).toBeGreaterThanOrEqual(8 * 25);
    // The statements that ran during the run, as deltas: the customer-orders lookup ran once per visit.
    const orders = recorded.statements?.find((s) => CUSTOMER_ORDERS.test(s.query));
    expect(orders?.scope).toBe('window');
    expect(orders?.calls).toBeGreaterThanOrEqual(25);
    expect(orders?.calls).toBeLessThanOrEqual(recorded.requests / 8 + 1);
    expect(stdout).toMatch(/statements: \d+ ran during the run/);
    // Every request of the visit reached a route of the running demo (a 404 would be "unexpected" above).
    const routes = await eventually(async () => {
      const series = await promQuery(
        `sum by (http_route) (${prometheusSeries(METRICS.httpServerRequestDuration, 'count')}{job="${demo.service}"})`,
      );
      const names = series.map((s) => s.metric.http_route);
      expect(names).toEqual(expect.arrayContaining(['/', '/api/orders', '/api/products/:id/stock']));
      return names;
    }, 30_000);
    expect(routes.length).toBeGreaterThanOrEqual(VISIT.length);
  });

  it('compares two healthy runs as equal: no regression, exit 0', async () => {
    const [first] = runs;
    if (first === undefined) throw new Error('the first run failed');
    const { run: second } = await benchmark();
    const { code, stdout, comparison } = await compare(first, second);
    expect(comparison.regressions).toEqual([]);
    expect(stdout).toContain('No regression');
    expect(code).toBe(0);
    // Every route of the visit was judged (enough requests a side), and the statements too.
    expect(comparison.routes.filter((r) => r.skipped === undefined).length).toBeGreaterThanOrEqual(
      VISIT.length,
    );
    expect(comparison.statements.some((s) => CUSTOMER_ORDERS.test(s.query) && s.skipped === undefined)).toBe(
      true,
    );
  });

  it('reports a missing index as a regression of the one route that runs the statement, naming statement and index, exit 1', async () => {
    const baseline = runs.at(-1);
    if (baseline === undefined) throw new Error('the healthy runs failed');
    const on = await fetch(`${demo.url}/admin/scenarios/missing-index`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ on: true }),
    });
    expect(on.status).toBe(200);
    const { run: candidate } = await benchmark();
    const { code, comparison } = await compare(baseline, candidate);
    expect(code).toBe(1);
    expect(comparison.routes.filter((r) => r.regressed).map((r) => r.subject)).toEqual([
      'GET /api/customers/:id/orders',
    ]);
    const statements = comparison.statements.filter((s) => s.regressed);
    expect(statements.map((s) => CUSTOMER_ORDERS.test(s.query))).toEqual([true]);
    const [route] = comparison.routes.filter((r) => r.regressed);
    expect(route?.cause?.statement).toBe(statements[0]?.fingerprint);
    expect(route?.cause?.text).toMatch(/^statement SELECT .* now takes \d+ ms, was \d\.\d\d ms/);
    expect(route?.cause?.finding?.kind).toBe('missing-index');
    expect(comparison.regressions).toEqual([
      expect.stringMatching(
        new RegExp(`^${demo.service} GET /api/customers/:id/orders: p95 \\+\\d+ % \\(.+ → .+\\): statement `),
      ),
    ]);
    // With the candidate window's traces, the pipeline itself ties the route to the statement: the missing
    // index absorbs the route's regression (its statement holds most of the route's time in the traces).
    const withTraces = await compareRuns({
      prometheus: new PrometheusClient({ url: inject('prometheusUrl') }),
      baseline: resolveWindow('--baseline', baseline.id, dir),
      candidate: resolveWindow('--candidate', candidate.id, dir),
      service: demo.service,
      analysis: { slo: loadSlo(), databaseUrl: demo.databaseUrl, databaseService: demo.service, traces },
    });
    console.log(
      `[compare] with traces, the pipeline found: ${withTraces.findings.map((f) => `${f.kind} ${f.subject} (absorbs ${(f.evidence.symptoms ?? []).map((x) => `${x.kind} ${x.subject}`).join(', ')}) ${JSON.stringify(f.evidence.values).slice(0, 300)}`).join('; ')}; notes: ${withTraces.notes.join('; ')}`,
    );
    const traced = withTraces.routes.filter((r) => r.regressed);
    expect(traced.map((r) => r.subject)).toEqual(['GET /api/customers/:id/orders']);
    expect(traced[0]?.cause).toMatchObject({
      basis: 'pipeline',
      statement: statements[0]?.fingerprint,
      finding: { kind: 'missing-index' },
    });
    console.log(`[compare] with traces: ${withTraces.regressions.join('; ')}`);
  });

  it('refuses an unknown profile and a target that is not there, with a message and no stack', async () => {
    const unknown = await run(['--profile', 'marathon', '--target', 'http://127.0.0.1:9']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /unknown profile "marathon" \(known: benchmark, load, stress, soak, spike\)/,
    );
    const port = await freePort();
    const absent = await run(['--profile', 'load', '--target', `http://127.0.0.1:${port}`]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(new RegExp(`load: http://127.0.0.1:${port} is not healthy: `));
    for (const r of [unknown, absent]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('npm run load --profile stress, and hotpath analyze at its breaking point', () => {
  it('reports the breaking point, and the findings that appeared there: the saturated pool', async () => {
    // The demo with a pool of one connection: its category page's 30 ms aggregate holds it per visit, so it
    // serves about 30 visits a second, and the climb breaks the p95 clearly at 15 users (~400 ms, ~6 waiting).
    // With two connections the break came at 15 users only just (p95 ≈ 201 ms) or at 28, and at the marginal
    // break too few requests waited for the pool to be a finding: the test judged noise, not the analyzer.
    const demo = await startTestDemo({ env: { DEMO_POOL_MAX: '1' } });
    const dir = mkdtempSync(join(tmpdir(), 'hotpath-runs-'));
    try {
      await scraped(demo.service);
      const stress = await run([
        ...['--profile', 'stress', '--target', demo.url, '--scale', '0.1', '--stop-at-break'],
        ...['--runs-dir', dir],
      ]);
      console.log(`[stress] ${stress.stderr}\n${stress.stdout}`);
      // k6's exit code for a broken threshold: a run stopped at its break failed one there, also when the
      // steps before it keep the whole run's p95 under the objective.
      expect(stress.code).toBe(99);
      expect(stress.stdout).toMatch(
        /thresholds broken \(slo\.yaml\):\n(.*\n)* {2}- stopped at the breaking point, step \d+: /,
      );
      const point =
        /breaking point: step (\d+), (\d+) users, ([\d.]+) requests\/s: p95 [\d.]+ ms is not under the 200 ms objective/.exec(
          stress.stdout,
        );
      expect(point, stress.stdout).not.toBeNull();
      const users = Number(point?.[2]);
      // Not at once (a route slow on its own), not never: the load broke it.
      expect(users).toBeGreaterThan(5);
      expect(users).toBeLessThan(100);
      const id = /recorded as run (\S+)/.exec(stress.stdout)?.[1] ?? '';
      const recorded = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')) as RecordedRun;
      expect(recorded.breaking_point?.users).toBe(users);
      // It stopped there: no step after the breaking one ran.
      expect(new Date(recorded.end).getTime()).toBeLessThan(
        new Date(recorded.breaking_point?.end ?? 0).getTime() + 2_000,
      );
      await eventually(async () => {
        const [up] = await promQuery(`timestamp(up{job="${demo.service}"})`);
        expect(Number(up?.value) * 1000).toBeGreaterThan(new Date(recorded.end).getTime() + 1_500);
      }, 20_000);
      const analysis = await hotpath(
        ...['analyze', '--since', id, '--runs-dir', dir, '--prometheus', inject('prometheusUrl')],
        ...['--format', 'json'],
      );
      expect(analysis.code, analysis.stderr).toBe(0);
      const report = JSON.parse(analysis.stdout) as {
        breaking_point: { users: number };
        findings: { kind: string; service: string; subject: string; title: string }[];
      };
      const mine = report.findings.filter((f) => f.service === demo.service);
      console.log(
        `[stress] at the breaking point: ${mine.map((f) => `${f.kind} ${f.subject}: ${f.title}`).join('; ')}`,
      );
      expect(report.breaking_point.users).toBe(users);
      if (!mine.some((f) => f.kind === 'pool-saturation')) {
        // Rare in CI (once in ~15 runs), never reproduced alone: what the analyzer and Prometheus saw, for the log.
        const pending = prometheusName(METRICS.dbClientConnectionPendingRequests);
        console.log(
          `[stress] no pool finding; all findings: ${report.findings.map((f) => `${f.kind} ${f.service} ${f.subject}`).join('; ')}; ` +
            `pending series: ${JSON.stringify(await promQuery(`max_over_time(${pending}[2m])`))}`,
        );
      }
      // The cause is there: the pool. Without traces it cannot tell which routes waited for it, so the slow
      // routes that waited stand beside it (and may rank above it); every one of them runs a statement.
      expect(mine.map((f) => f.kind)).toContain('pool-saturation');
      for (const f of mine) expect(['pool-saturation', 'slow-endpoint']).toContain(f.kind);
    } finally {
      await demo.stop();
    }
  });
});
