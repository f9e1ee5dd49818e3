/**
 * Load-test runs recorded by `npm run load` (one `<dir>/<id>.json` each), so the analyzer can name a run
 * instead of its times: `hotpath analyze --since <run id>` judges one run.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UsageError } from './errors.ts';

export const DEFAULT_RUNS_DIR = join('.hotpath', 'runs');

/** A run's id: the profile and its start to the second (`runId`). */
export const RUN_ID = /^[a-z]+-\d{8}T\d{6}Z$/;

const latency = z.object({ p50: z.number(), p95: z.number(), p99: z.number(), max: z.number() });
/** A statement's pg_stat_statements delta over the run (`StatementStats`, scope `window`). */
const statement = z.object({
  fingerprint: z.string(),
  query: z.string(),
  database: z.string(),
  service: z.string(),
  calls: z.number().nonnegative(),
  meanMs: z.number().nonnegative(),
  stddevMs: z.number().nonnegative(),
  totalMs: z.number().nonnegative(),
  rowsPerCall: z.number().nonnegative(),
  callsPerSecond: z.number().nonnegative().nullable(),
  scope: z.enum(['window', 'since-reset']),
});
const runSchema = z.object({
  id: z.string().regex(RUN_ID),
  profile: z.string(),
  target: z.url(),
  scale: z.number().positive(),
  start: z.iso.datetime(),
  end: z.iso.datetime(),
  requests: z.number().int().nonnegative(),
  unexpected: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  latency_ms: latency,
  /** The app database's statements over the run, when the driver was given the database (`--database`). */
  statements: z.array(statement).optional(),
  /** The first step that broke an objective (a stress run's breaking point), when one did. */
  breaking_point: z
    .object({
      step: z.number().int().nonnegative(),
      users: z.number().int().positive(),
      rate_per_s: z.number().nonnegative(),
      start: z.iso.datetime(),
      end: z.iso.datetime(),
      reason: z.string(),
    })
    .optional(),
});
export type RecordedRun = z.infer<typeof runSchema>;

/** `load-20261204T200501Z`: the profile and the start, to the second. */
export function runId(profile: string, start: Date): string {
  return `${profile}-${start
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/** Writes the run; returns its file. */
export function writeRun(dir: string, run: RecordedRun): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${run.id}.json`);
  writeFileSync(file, `${JSON.stringify(runSchema.parse(run), null, 2)}\n`);
  return file;
}

/** The ids of the runs in `dir`, oldest first (ids sort by start within a profile). */
export function listRuns(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort((a, b) => a.slice(a.indexOf('-')).localeCompare(b.slice(b.indexOf('-'))));
  } catch {
    return [];
  }
}

export function readRun(dir: string, id: string): RecordedRun {
  const known = listRuns(dir);
  if (!known.includes(id)) {
    throw new UsageError(
      `no run "${id}" in ${dir} (${known.length === 0 ? 'it holds none: record one with npm run load' : `known: ${known.slice(-5).join(', ')}`})`,
    );
  }
  const file = join(dir, `${id}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `run ${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = runSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(
      `run ${file} is not a recorded run: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** Shorter than this, Prometheus's rates over the window hold one or two scrapes: nothing to judge. */
export const MIN_SINCE_SECONDS = 30;

/**
 * `--since`: an ISO time, or the id of a recorded run (its start). The window is from then to `now`, in whole
 * seconds; for a run that broke an objective (a stress run), to the end of the step that broke it (`at`), and
 * at least MIN_SINCE_SECONDS.
 */
export function resolveSince(
  value: string,
  dir: string,
  now: Date = new Date(),
): { readonly start: Date; readonly window: string; readonly run?: RecordedRun; readonly at?: Date } {
  let start: Date;
  let run: RecordedRun | undefined;
  if (RUN_ID.test(value)) {
    run = readRun(dir, value);
    start = new Date(run.start);
  } else {
    start = new Date(value);
    if (Number.isNaN(start.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) {
      throw new UsageError(
        `--since "${value}" is neither a time like 2026-12-04T20:05:00Z nor a run id like load-20261204T200500Z`,
      );
    }
  }
  const breaking = run?.breaking_point;
  if (run !== undefined && breaking !== undefined) {
    const at = new Date(breaking.end);
    const upTo = Math.round((at.getTime() - start.getTime()) / 1000);
    return { start, window: `${Math.max(MIN_SINCE_SECONDS, upTo)}s`, run, at };
  }
  const seconds = Math.floor((now.getTime() - start.getTime()) / 1000);
  if (seconds < MIN_SINCE_SECONDS) {
    throw new UsageError(
      `--since ${value} is ${seconds < 0 ? 'in the future' : `only ${seconds} s ago`}: the window needs at least ${MIN_SINCE_SECONDS} s of data`,
    );
  }
  return { start, window: `${seconds}s`, ...(run === undefined ? {} : { run }) };
}
