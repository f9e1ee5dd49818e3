/**
 * The analysis runs aggregate: every cycle is a row, succeeded or failed, so a person can see when the analyzer
 * last looked and why it could not.
 */
import type pg from 'pg';
import { NotFoundError } from '../errors.ts';
import type { CycleChanges } from './findings.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export type RunTrigger = 'schedule' | 'api' | 'cli';

export interface AnalysisRun {
  readonly id: number;
  readonly status: RunStatus;
  readonly trigger: RunTrigger;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly windowSeconds: number;
  readonly findings: number;
  readonly error: string | null;
  readonly slot: number | null;
  readonly replica: string | null;
  readonly requestedBy: string | null;
  readonly changes: Partial<CycleChanges>;
  /** The sources a succeeded cycle went without (`traces`, `profiles`), each with why. */
  readonly skipped: Readonly<Record<string, string>>;
}

interface RunRow {
  id: string;
  status: RunStatus;
  trigger: RunTrigger;
  started_at: Date;
  finished_at: Date | null;
  window_s: number;
  findings: number;
  error: string | null;
  slot: string | null;
  replica: string | null;
  requested_by: string | null;
  changes: Partial<CycleChanges>;
  skipped: Record<string, string>;
}

const COLUMNS =
  'id, status, trigger, started_at, finished_at, window_s, findings, error, slot, replica, requested_by, changes, skipped';

function toRun(row: RunRow): AnalysisRun {
  return {
    id: Number(row.id),
    status: row.status,
    trigger: row.trigger,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    windowSeconds: row.window_s,
    findings: row.findings,
    error: row.error,
    slot: row.slot === null ? null : Number(row.slot),
    replica: row.replica,
    requestedBy: row.requested_by,
    changes: row.changes,
    skipped: row.skipped,
  };
}

function only(rows: RunRow[]): AnalysisRun {
  const row = rows[0];
  if (row === undefined) throw new Error('expected one analysis run row');
  return toRun(row);
}

/**
 * Claims the scheduled cycle of `slot` (epoch ÷ interval) for this replica; `null` when another replica already
 * has it, which is how replicas on the same schedule never run the same cycle twice.
 */
export async function claimScheduledRun(
  db: Queryable,
  run: { readonly slot: number; readonly windowSeconds: number; readonly replica: string },
): Promise<AnalysisRun | null> {
  const { rows } = await db.query<RunRow>(
    `INSERT INTO analysis_runs (status, trigger, window_s, slot, replica)
     VALUES ('queued', 'schedule', $1, $2, $3)
     ON CONFLICT (slot) WHERE trigger = 'schedule' DO NOTHING
     RETURNING ${COLUMNS}`,
    [run.windowSeconds, run.slot, run.replica],
  );
  return rows[0] === undefined ? null : toRun(rows[0]);
}

/**
 * A run asked for through the API or the CLI; it waits as `queued` until the cycle lock is free. An API run is
 * queued for no replica in particular (`replica` null): whichever replica claims it first runs it
 * (`claimQueuedRun`), so a run asked of a replica that stops before running it is not stranded.
 */
export async function queueRun(
  db: Queryable,
  run: {
    readonly trigger: Exclude<RunTrigger, 'schedule'>;
    readonly windowSeconds: number;
    readonly replica: string | null;
    readonly requestedBy: string | null;
  },
): Promise<AnalysisRun> {
  const { rows } = await db.query<RunRow>(
    `INSERT INTO analysis_runs (status, trigger, window_s, replica, requested_by)
     VALUES ('queued', $1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [run.trigger, run.windowSeconds, run.replica, run.requestedBy],
  );
  return only(rows);
}

/** The oldest API run still waiting for a replica with this window, to hand back instead of queueing another. */
export async function findUnclaimedRun(db: Queryable, windowSeconds: number): Promise<AnalysisRun | null> {
  const { rows } = await db.query<RunRow>(
    `SELECT ${COLUMNS} FROM analysis_runs
     WHERE status = 'queued' AND trigger = 'api' AND replica IS NULL AND window_s = $1
     ORDER BY id LIMIT 1`,
    [windowSeconds],
  );
  return rows[0] === undefined ? null : toRun(rows[0]);
}

/**
 * Claims the oldest API run no replica has taken, for `replica`, or returns null. `FOR UPDATE SKIP LOCKED`: two
 * replicas claiming at once get different runs (or one gets none) and neither waits for the other.
 */
export async function claimQueuedRun(db: Queryable, replica: string): Promise<AnalysisRun | null> {
  const { rows } = await db.query<RunRow>(
    `UPDATE analysis_runs SET replica = $1
     WHERE id = (SELECT id FROM analysis_runs
                 WHERE status = 'queued' AND trigger = 'api' AND replica IS NULL
                 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
     RETURNING ${COLUMNS}`,
    [replica],
  );
  return rows[0] === undefined ? null : toRun(rows[0]);
}

export async function markRunning(db: Queryable, id: number): Promise<void> {
  await db.query(`UPDATE analysis_runs SET status = 'running', started_at = now() WHERE id = $1`, [id]);
}

export async function markSucceeded(
  db: Queryable,
  id: number,
  result: {
    readonly findings: number;
    readonly changes: CycleChanges;
    readonly skipped?: Readonly<Record<string, string>>;
  },
): Promise<void> {
  await db.query(
    `UPDATE analysis_runs SET status = 'succeeded', finished_at = now(), findings = $2, changes = $3, skipped = $4
     WHERE id = $1`,
    [id, result.findings, JSON.stringify(result.changes), JSON.stringify(result.skipped ?? {})],
  );
}

export async function markFailed(db: Queryable, id: number, error: string): Promise<void> {
  await db.query(
    // Only an unfinished run: a run that succeeded stays succeeded, whatever fails after it.
    `UPDATE analysis_runs SET status = 'failed', finished_at = now(), error = $2
     WHERE id = $1 AND status IN ('queued', 'running')`,
    [id, error],
  );
}

/**
 * Runs left `running` by a replica that died mid-cycle. Called while holding the cycle lock: no other run can
 * be running then, so any such row is abandoned.
 */
export async function failAbandonedRuns(db: Queryable, current: number): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE analysis_runs SET status = 'failed', finished_at = now(),
       error = 'abandoned: the replica stopped before the run finished'
     WHERE status = 'running' AND id <> $1`,
    [current],
  );
  return rowCount ?? 0;
}

/**
 * Runs a replica of the same name left unfinished (queued or running) when it stopped: called at start, before
 * this process queues anything, so none of them can still be waiting here.
 */
export async function failRunsOfPreviousStart(db: Queryable, replica: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE analysis_runs SET status = 'failed', finished_at = now(),
       error = 'abandoned: the replica restarted before the run finished'
     WHERE replica = $1 AND status IN ('queued', 'running')`,
    [replica],
  );
  return rowCount ?? 0;
}

export async function getRun(db: Queryable, id: number): Promise<AnalysisRun> {
  const { rows } = await db.query<RunRow>(`SELECT ${COLUMNS} FROM analysis_runs WHERE id = $1`, [id]);
  const row = rows[0];
  if (row === undefined) throw new NotFoundError(`analysis ${id} does not exist`);
  return toRun(row);
}

export async function listRuns(
  db: Queryable,
  filter: { readonly status?: readonly RunStatus[] | undefined; readonly limit: number },
): Promise<AnalysisRun[]> {
  const { rows } = await db.query<RunRow>(
    `SELECT ${COLUMNS} FROM analysis_runs WHERE ($1::text[] IS NULL OR status = ANY($1))
     ORDER BY id DESC LIMIT $2`,
    [filter.status ?? null, filter.limit],
  );
  return rows.map(toRun);
}
