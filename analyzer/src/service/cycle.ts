/**
 * One analysis cycle of `hotpath serve`: wait for the cycle lock (a PostgreSQL advisory lock, so replicas never
 * run cycles at the same time), analyze, reconcile the findings with the store and record the run — failed runs
 * too, with the reason, so a person can see when and why the analyzer could not look.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { analyze, type ProfileCoverage, type TraceCoverage } from '../analyze.ts';
import { needsOf, services as serviceList } from '../detectors/index.ts';
import type { ProfileSource } from '../profiles/source.ts';
import type { SloFile } from '../slo.ts';
import type { PrometheusClient } from '../sources/prometheus.ts';
import { type CycleChanges, openCounts, recordCycle } from '../store/findings.ts';
import { HOTPATH_LOCK_CLASS } from '../store/migrate.ts';
import {
  type AnalysisRun,
  failAbandonedRuns,
  getRun,
  markFailed,
  markRunning,
  markSucceeded,
} from '../store/runs.ts';
import { statementHistory } from '../store/statements.ts';
import type { TraceSource } from '../traces/source.ts';
import type { Finding, Snapshot } from '../types.ts';
import type { AnalyzerTelemetry } from './telemetry.ts';

/** `pg_advisory_lock(HOTPATH_LOCK_CLASS, CYCLE_LOCK)`: held for the whole cycle. */
export const CYCLE_LOCK = 2;

export interface CycleDeps {
  readonly store: pg.Pool;
  readonly prometheus: PrometheusClient;
  readonly slo: SloFile;
  readonly window: string;
  readonly appDatabaseUrl?: string | undefined;
  readonly databaseService?: string | undefined;
  readonly traces?: TraceSource | undefined;
  readonly profiles?: ProfileSource | undefined;
  readonly autoResolveAfter: number;
  readonly telemetry: AnalyzerTelemetry;
  readonly log: Logger;
}

/**
 * Whether the cycle looked at a finding's service and at every source its kind needs (the detector registry's
 * `needs`), so that not seeing it means it is gone. A trace finding counts as looked at only when this cycle read
 * traces of one of its routes (`route`, or `routes` one per line, in its evidence values).
 */
export function coverage(
  snapshot: Snapshot,
  traces: Pick<TraceCoverage, 'read' | 'routes'>,
): (finding: {
  kind: string;
  service: string;
  subject: string;
  values?: Readonly<Record<string, number | string>> | null;
}) => boolean {
  const services = new Set(serviceList(snapshot));
  const statementsRead = snapshot.queries.statements !== undefined;
  const traced = new Set(traces.read ? traces.routes : []);
  return (f) => {
    if (!services.has(f.service)) return false;
    const needs = needsOf(f.kind);
    if (needs.includes('statements') && !statementsRead) return false;
    if (!needs.includes('traces')) return true;
    const v = f.values ?? {};
    const routes = [
      ...(typeof v.routes === 'string' ? v.routes.split('\n') : []),
      ...(typeof v.route === 'string' ? [v.route] : []),
    ];
    return routes.some((r) => traced.has(`${f.service}\0${r}`));
  };
}

/** How long a cycle waits for another one (on any replica) to finish before it gives up. */
export const LOCK_WAIT = '10min';

/** Runs the queued `run` to its end and returns it as recorded; never throws. */
export async function runCycle(deps: CycleDeps, run: AnalysisRun): Promise<AnalysisRun> {
  const log = deps.log.child({ run: run.id, trigger: run.trigger });
  let client: pg.PoolClient | undefined;
  // A checked-out client has no pool error listener: without this one, the store dropping the connection
  // mid-cycle would be an unhandled 'error' event and end the process.
  const onError = (error: Error) =>
    log.warn({ err: error.message }, 'store connection lost during the cycle');
  let locked = false;
  let started = performance.now();
  try {
    client = await deps.store.connect();
    client.on('error', onError);
    // Bounded: a cycle stuck on a dead connection elsewhere must not stop this replica's schedule for good.
    await client.query(`SET lock_timeout = '${LOCK_WAIT}'`);
    const waitFrom = performance.now();
    await client.query('SELECT pg_advisory_lock($1, $2)', [HOTPATH_LOCK_CLASS, CYCLE_LOCK]);
    locked = true;
    // `markRunning` restarts the run's clock below, so a wait for another cycle shows only here.
    const waitedS = (performance.now() - waitFrom) / 1000;
    if (waitedS >= 1) log.info({ waitedS: Number(waitedS.toFixed(1)) }, 'waited for another cycle to finish');
    await client.query('RESET lock_timeout');
    await markRunning(client, run.id);
    const abandoned = await failAbandonedRuns(client, run.id);
    if (abandoned > 0) log.warn({ abandoned }, 'marked runs of a stopped replica as failed');
    started = performance.now();
    let findings: readonly Finding[];
    let snapshot: Snapshot;
    let traces: TraceCoverage;
    let profiles: ProfileCoverage;
    try {
      ({ findings, snapshot, traces, profiles } = await analyze({
        prometheus: deps.prometheus,
        slo: deps.slo,
        window: deps.window,
        ...(deps.appDatabaseUrl === undefined ? {} : { databaseUrl: deps.appDatabaseUrl }),
        ...(deps.databaseService === undefined ? {} : { databaseService: deps.databaseService }),
        ...(deps.traces === undefined ? {} : { traces: deps.traces }),
        ...(deps.profiles === undefined ? {} : { profiles: deps.profiles }),
        statementHistory: statementHistory(client),
      }));
      if (traces.error !== undefined) log.warn({ err: traces.error }, 'traces not read this cycle');
      if (profiles.error !== undefined) log.warn({ err: profiles.error }, 'profiles not read this cycle');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await markFailed(client, run.id, message);
      deps.telemetry.cycleFinished('failed', (performance.now() - started) / 1000);
      log.error({ err: message }, 'analysis failed');
      return await getRun(client, run.id);
    }
    let changes: CycleChanges;
    const skipped = {
      ...(traces.error === undefined ? {} : { traces: traces.error }),
      ...(profiles.error === undefined ? {} : { profiles: profiles.error }),
    };
    await client.query('BEGIN');
    try {
      changes = await recordCycle(client, findings, {
        runId: run.id,
        autoResolveAfter: deps.autoResolveAfter,
        // Only the schedule, with the configured window, counts clean cycles: an analysis asked for through the
        // API (any window, any number in a row) may open and refresh findings but never resolve them.
        covered: run.trigger === 'schedule' ? coverage(snapshot, traces) : () => false,
      });
      await markSucceeded(client, run.id, { findings: findings.length, changes, skipped });
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
    deps.telemetry.cycleFinished('succeeded', (performance.now() - started) / 1000);
    log.info({ findings: findings.length, ...changes }, 'analysis succeeded');
    try {
      deps.telemetry.setOpenFindings(await openCounts(client));
      return await getRun(client, run.id);
    } catch {
      // Recorded and committed: a failure to read it back does not make the cycle a failure.
      return { ...run, status: 'succeeded', findings: findings.length, changes, skipped };
    }
  } catch (error) {
    // The store itself failed (unreachable, connection lost, the lock wait ran out): record it if it answers.
    const message = `store: ${error instanceof Error ? error.message : String(error)}`;
    log.error({ err: message }, 'analysis cycle failed');
    deps.telemetry.cycleFinished('failed', (performance.now() - started) / 1000);
    await markFailed(deps.store, run.id, message).catch(() => {});
    return await getRun(deps.store, run.id).catch(
      () => ({ ...run, status: 'failed', error: message }) as AnalysisRun,
    );
  } finally {
    if (client !== undefined) {
      if (locked) {
        await client
          .query('SELECT pg_advisory_unlock($1, $2)', [HOTPATH_LOCK_CLASS, CYCLE_LOCK])
          .catch(() => {});
      }
      client.off('error', onError);
      client.release();
    }
  }
}
