/**
 * `npm run load`, the local driver for machines without k6, against the real demo on the harness: the k6 visit's
 * requests, answered as a healthy shop answers them, seen by Prometheus on the demo's routes, judged on slo.yaml's
 * thresholds and recorded; bad input and an absent target get a message and k6's exit codes, never a stack.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { METRICS, prometheusSeries } from '@hotpath/instrumentation';
import { describe, expect, it } from 'vitest';
import { VISIT } from '../k6/lib/visit.ts';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import { freePort } from '../scripts/lib/process.ts';
import { eventually, promQuery, scraped, startTestDemo } from './harness.ts';

const run = async (args: readonly string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'load.ts'), ...args],
      {
        cwd: REPO_ROOT,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('npm run load', () => {
  it('drives the demo with the k6 visit, prints progress and a summary, passes the SLO thresholds and records the run', async () => {
    const demo = await startTestDemo();
    try {
      await scraped(demo.service);
      const dir = mkdtempSync(join(tmpdir(), 'hotpath-runs-'));
      // The benchmark profile (one user for a minute) at a fifth of its length.
      const { code, stdout, stderr } = await run([
        '--profile',
        'benchmark',
        '--target',
        demo.url,
        '--scale',
        '0.2',
        '--runs-dir',
        dir,
      ]);
      console.log(`[load] ${stderr}\n${stdout}`);
      expect(stderr).toMatch(/step 1\/1: 1 users for 12\.0 s/);
      for (const r of VISIT)
        expect(stdout).toMatch(new RegExp(`^${r.name}\\s+${r.method}\\s+[1-9]\\d*\\s+0\\s`, 'm'));
      expect(stdout).toContain('thresholds (slo.yaml): passed');
      expect(code).toBe(0);
      const [file] = readdirSync(dir);
      const recorded = JSON.parse(readFileSync(join(dir, file ?? ''), 'utf8')) as {
        id: string;
        start: string;
        end: string;
        requests: number;
        target: string;
      };
      expect(stdout).toContain(`recorded as run ${recorded.id}`);
      expect(recorded.id).toMatch(/^benchmark-\d{8}T\d{6}Z$/);
      expect(new Date(recorded.end).getTime() - new Date(recorded.start).getTime()).toBeGreaterThanOrEqual(
        12_000,
      );
      expect(recorded.target).toBe(new URL(demo.url).origin);
      // One visit a second for 12 s: about 12 visits of 8 requests.
      expect(recorded.requests).toBeGreaterThanOrEqual(8 * 9);
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
    } finally {
      await demo.stop();
    }
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
