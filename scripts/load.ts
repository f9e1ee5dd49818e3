/**
 * `npm run load` — a k6 load profile without k6: the same profile and visit, driven with autocannon
 * (`scripts/lib/load-driver.ts`). Prints a line per step, a summary table at the end, judges the run on the
 * thresholds k6 uses (slo.yaml through `k6/lib/slo.json`) and records it under --runs-dir.
 *
 *   npm run load -- --profile load --target http://localhost:3000 [--scale 0.1] [--runs-dir .hotpath/runs]
 *                   [--database postgres://…]
 *
 * Exit codes as k6's: 0 passed, 99 a threshold broke; 2 bad usage, 1 the target is not there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RUNS_DIR } from '../analyzer/src/runs.ts';
import { readStatements, type StatementSample, statementStats } from '../analyzer/src/sources/statements.ts';
import { PROFILES, type ProfileName, profileSeconds, profileSteps } from '../k6/lib/profiles.ts';
import type { K6Slo } from '../k6/lib/thresholds.ts';
import { parseCli } from './lib/cli.ts';
import {
  breakingPoint,
  brokenThresholds,
  recordRun,
  runLoad,
  type StepResult,
  stepBreaks,
} from './lib/load-driver.ts';

const NAMES = Object.keys(PROFILES) as ProfileName[];
const USAGE = `usage: npm run load -- --profile <name> --target <url> [options]
  --profile NAME    one of: ${NAMES.map((n) => `${n} (${profileSeconds(n)} s)`).join(', ')}
  --target URL      base URL of the app (it must answer GET /healthz with 200)
  --scale F         every duration of the profile times F (default 1; 0.1 runs the load profile in 42 s)
  --runs-dir DIR    where the run is recorded (default .hotpath/runs)
  --stop-at-break   end the run after the first step that breaks an objective (k6's abortOnFail): a
                    stress run has found its breaking point there
  --database URL    the app database (or $APP_DATABASE_URL): its pg_stat_statements are read (read-only)
                    when the run starts and ends, and the run records each statement's calls and time in
                    between, so hotpath compare can compare statements too
  -h, --help        this text`;

function fail(message: string): never {
  console.error(`load: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function options() {
  const values = parseCli(
    {
      profile: { type: 'string' },
      target: { type: 'string' },
      scale: { type: 'string', default: '1' },
      'runs-dir': { type: 'string', default: DEFAULT_RUNS_DIR },
      database: { type: 'string' },
      'stop-at-break': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    } as const,
    USAGE,
    fail,
  );
  if (values.profile === undefined) fail('--profile is required');
  if (!(NAMES as string[]).includes(values.profile))
    fail(`unknown profile "${values.profile}" (known: ${NAMES.join(', ')})`);
  if (values.target === undefined) fail('--target is required');
  let target: URL;
  try {
    target = new URL(values.target);
  } catch {
    fail(`--target must be a URL like http://localhost:3000, got "${values.target}"`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    fail(`--target must be http(s), got "${values.target}"`);
  const scale = Number(values.scale);
  if (!(scale > 0) || !Number.isFinite(scale))
    fail(`--scale must be a number above 0, got "${values.scale}"`);
  const database = values.database ?? process.env.APP_DATABASE_URL;
  if (database !== undefined && !/^postgres(ql)?:\/\//.test(database))
    fail(`--database must be a URL like postgres://user@host/db, got "${database}"`);
  return {
    profile: values.profile as ProfileName,
    target: target.origin,
    scale,
    runsDir: values['runs-dir'],
    database,
    stopAtBreak: values['stop-at-break'],
  };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

async function main(): Promise<void> {
  const o = options();
  // Fail fast, as the k6 scripts' setup() does: a load test against an app that is not there measures nothing.
  try {
    const health = await fetch(`${o.target}/healthz`, { signal: AbortSignal.timeout(5_000) });
    await health.arrayBuffer();
    if (health.status !== 200) throw new Error(`GET /healthz answered ${health.status}`);
  } catch (error) {
    console.error(
      `load: ${o.target} is not healthy: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
  const slo = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'k6', 'lib', 'slo.json'), 'utf8'),
  ) as K6Slo;
  console.error(
    `load: ${o.profile} (${PROFILES[o.profile].description}) against ${o.target}, ` +
      `${Math.round(profileSeconds(o.profile) * o.scale)} s`,
  );
  // The statements' counters before and after: their difference is the run's (pg_stat_statements only counts up).
  const statements = async (): Promise<StatementSample | undefined> => {
    if (o.database === undefined) return undefined;
    try {
      return {
        at: new Date(),
        counters: await readStatements({ databaseUrl: o.database, minCalls: 1, limit: 1000 }),
      };
    } catch (error) {
      console.error(`load: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  };
  const before = await statements();
  const result = await runLoad({
    target: o.target,
    profile: o.profile,
    scale: o.scale,
    ...(o.stopAtBreak ? { stopAfter: (step: StepResult) => stepBreaks(step, slo).length > 0 } : {}),
    onStep: (p) =>
      console.error(
        `load: step ${p.index + 1}/${p.steps}: ${p.step.users} users for ${p.step.seconds.toFixed(1)} s ` +
          `(${p.requests} requests so far, ${p.unexpected} unexpected)`,
      ),
  });
  const seconds = (result.endedAt.getTime() - result.startedAt.getTime()) / 1000;
  const rows = result.byRequest.map(
    (r) =>
      `${r.name.padEnd(16)}${r.method.padEnd(6)}${pad(r.requests, 9)}${pad(r.unexpected, 11)}  ` +
      `${Object.entries(r.statuses)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}`,
  );
  console.log(
    [
      `${'request'.padEnd(16)}${'verb'.padEnd(6)}${pad('answered', 9)}${pad('unexpected', 11)}  statuses`,
      ...rows,
      '',
      `${result.requests} requests in ${seconds.toFixed(1)} s (${(result.requests / seconds).toFixed(1)}/s), ` +
        `${result.unexpected} unexpected, ${result.errors} without an answer; latency p50 ${result.latencyMs.p50} ms, ` +
        `p95 ${result.latencyMs.p95} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms`,
    ].join('\n'),
  );
  const after = await statements();
  // A profile of several steps breaks at one of them, or holds: a stress run exists to say which.
  const stepped = profileSteps(o.profile, { scale: o.scale }).length > 1;
  const breaking = stepped ? breakingPoint(result, slo) : null;
  if (stepped)
    console.log(
      breaking === null
        ? `breaking point: none, every step held up to ${Math.max(...result.steps.map((s) => s.users))} users`
        : `breaking point: step ${breaking.step.index + 1}, ${breaking.step.users} users, ` +
            `${breaking.ratePerSecond.toFixed(1)} requests/s: ${breaking.reason}`,
    );
  const { run, file } = recordRun(
    o.runsDir,
    result,
    after === undefined ? undefined : statementStats(after.counters, before, after.at),
    breaking,
  );
  if (after !== undefined) console.log(`statements: ${run.statements?.length ?? 0} ran during the run`);
  console.log(`recorded as run ${run.id} (${file}): ${run.start} → ${run.end}`);
  // k6 judges thresholds over the whole run; a run stopped at its breaking point (abortOnFail) failed one there,
  // even when the steps before it keep the run's own p95 under the objective.
  const broken = [
    ...brokenThresholds(result, slo),
    ...(o.stopAtBreak && breaking !== null
      ? [`stopped at the breaking point, step ${breaking.step.index + 1}: ${breaking.reason}`]
      : []),
  ];
  if (broken.length > 0) {
    console.log(`thresholds broken (slo.yaml):\n${broken.map((b) => `  - ${b}`).join('\n')}`);
    process.exit(99);
  }
  console.log('thresholds (slo.yaml): passed');
}

main().catch((error: unknown) => {
  console.error(`load: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
