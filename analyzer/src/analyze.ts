/**
 * One analysis, the same for `hotpath analyze` (one shot, CI gates) and every cycle of `hotpath serve`:
 * sources → snapshot → detectors (pure, typed facts) → correlate (causes absorb symptoms) → recommend (from the
 * facts) → rank. Nothing else happens here.
 */
import { type AdvisorCoverage, advise } from './advisor/advisor.ts';
import { correlate } from './correlate.ts';
import { detectAll } from './detectors/index.ts';
import type { Draft } from './facts.ts';
import { rank, serviceNameOf } from './findings.ts';
import { limitsFor } from './limits.ts';
import type { ProfileSource } from './profiles/source.ts';
import { batchedStatement, plannable } from './recommend/batched.ts';
import { withRecommendations } from './recommend.ts';
import { objectivesFor, type SloFile } from './slo.ts';
import { readProfiles } from './sources/profiles.ts';
import type { PrometheusClient } from './sources/prometheus.ts';
import { type TakeSnapshotOptions, takeSnapshot } from './sources/snapshot.ts';
import { readTraces } from './sources/traces.ts';
import type { TraceSource } from './traces/source.ts';
import type { Finding, Snapshot } from './types.ts';

export interface AnalysisOptions extends Omit<TakeSnapshotOptions, 'prometheus'> {
  readonly prometheus: PrometheusClient;
  readonly slo: SloFile;
  /** Where traces come from (Tempo, or the analyzer's own OTLP receiver); no trace detectors without it. */
  readonly traces?: TraceSource;
  /** Where wall profiles come from (Pyroscope, or the analyzer's own ingest endpoint); no hot code without it. */
  readonly profiles?: ProfileSource;
  /** The database advisor (on whenever the app database is given); `false` skips it. */
  readonly advisor?: false | { readonly statementTimeoutMs?: number };
}

/** What the trace step read: `read` is false when there is no trace source (or it failed: `error`). */
export interface TraceCoverage {
  readonly read: boolean;
  readonly traces: number;
  /** The routes whose traces were read, as `service\0METHOD /route`. */
  readonly routes: readonly string[];
  readonly error?: string;
  /** The error itself (an `UpstreamError` naming the source, usually). */
  readonly cause?: unknown;
}

/** What the profile step read: `read` is false when there is no profile source (or it failed: `error`). */
export interface ProfileCoverage {
  readonly read: boolean;
  /** Services with a wall profile in the window. */
  readonly services: number;
  /** Routes with samples of their own (span-labelled profiles). */
  readonly routes: number;
  readonly error?: string;
}

export interface Analysis {
  readonly snapshot: Snapshot;
  readonly findings: readonly Finding[];
  readonly traces: TraceCoverage;
  readonly profiles: ProfileCoverage;
  /** What the database advisor did; undefined when it did not run (no app database, or switched off). */
  readonly advisor?: AdvisorCoverage;
}

export async function analyze(options: AnalysisOptions): Promise<Analysis> {
  let snapshot = await takeSnapshot(options);
  let traces: TraceCoverage = { read: false, traces: 0, routes: [] };
  if (options.traces !== undefined) {
    try {
      const data = await readTraces(snapshot, {
        source: options.traces,
        ...(options.at === undefined ? {} : { until: options.at }),
      });
      snapshot = { ...snapshot, traces: data };
      traces = { read: true, traces: data.traces.length, routes: data.routes };
    } catch (error) {
      // Metric findings stand on their own: a trace source that fails costs the trace findings of this cycle only.
      traces = {
        read: false,
        traces: 0,
        routes: [],
        error: error instanceof Error ? error.message : String(error),
        cause: error,
      };
    }
  }
  let profiles: ProfileCoverage = { read: false, services: 0, routes: 0 };
  if (options.profiles !== undefined) {
    try {
      const data = await readProfiles(snapshot, { source: options.profiles });
      snapshot = { ...snapshot, profiles: data };
      profiles = { read: true, services: data.services.size, routes: data.routes.size };
    } catch (error) {
      // Profiles only name the code behind a finding: without them the findings stand, with less detail.
      profiles = {
        read: false,
        services: 0,
        routes: 0,
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }
  // Each service is judged against its own objectives (slo.yaml overrides).
  const limits = (service: string) => limitsFor(objectivesFor(options.slo, serviceNameOf(service)));
  const drafts: Draft[] = detectAll(snapshot, limits);
  let advisor: AdvisorCoverage | undefined;
  if (options.databaseUrl !== undefined && options.advisor !== false) {
    const advice = await advise(snapshot, {
      databaseUrl: options.databaseUrl,
      limits,
      ...(options.advisor?.statementTimeoutMs === undefined
        ? {}
        : { statementTimeoutMs: options.advisor.statementTimeoutMs }),
    });
    drafts.push(...advice.drafts);
    advisor = advice.coverage;
  }
  const causes = await withBatchedStatements(correlate(drafts, snapshot), options.databaseUrl);
  return {
    snapshot,
    findings: rank(causes.map((d) => withRecommendations(d, snapshot))),
    traces,
    profiles,
    ...(advisor === undefined ? {} : { advisor }),
  };
}

/**
 * The one-round-trip statement of each N+1, from the statement's AST, and — when the app database is known —
 * whether PostgreSQL plans it (read-only, never executed). The I/O before the pure `recommend`.
 */
async function withBatchedStatements(drafts: Draft[], databaseUrl: string | undefined): Promise<Draft[]> {
  return Promise.all(
    drafts.map(async (d) => {
      if (d.kind !== 'n-plus-one') return d;
      const b = await batchedStatement(d.facts.statement);
      if (b === null) return d;
      const check = databaseUrl === undefined ? null : await plannable(databaseUrl, b.statement);
      return {
        ...d,
        facts: {
          ...d.facts,
          batched: {
            statement: b.statement,
            parameter: b.parameter,
            shape: b.shape,
            notes: b.notes,
            planned: check === null ? null : check.ok,
            ...(check !== null && !check.ok ? { plan_error: check.error } : {}),
          },
        },
      };
    }),
  );
}
