/**
 * Slow statement: a statement shape (libpg-query fingerprint) whose p95 is over the database objective.
 * pg_stat_statements keeps no percentiles, so p95 is estimated from its mean and standard deviation.
 */

import type { Draft } from '../facts.ts';
import {
  draft,
  evidenceQueries,
  findingId,
  formatNumber,
  formatRate,
  formatSeconds,
  isNumber,
  severityFor,
  shortSql,
} from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import type { Snapshot, StatementStats } from '../types.ts';

/** One-sided 95 % quantile of a normal distribution: p95 ≈ mean + 1.645 σ. */
const Z95 = 1.645;
/** Fewer calls than this is a one-off (a seed, a report run once), not a pattern users wait on. */
export const MIN_CALLS = 10;
/** Schema changes and maintenance run by migrations and operators: no user waits on them. */
const MAINTENANCE =
  /^\s*(?:CREATE|ALTER|DROP|VACUUM|ANALYZE|REINDEX|CLUSTER|REFRESH|COMMENT|GRANT|REVOKE|TRUNCATE|EXPLAIN|SET|RESET|SHOW|LOCK)\b/i;

/** Whether a statement is maintenance (DDL, VACUUM, SET …) rather than a query users wait on. */
export function isMaintenance(sql: string): boolean {
  return MAINTENANCE.test(sql);
}

/** Below this many calls σ says more about the first, cold-cache executions than about the statement. */
export const MIN_CALLS_FOR_SPREAD = 100;

/**
 * p95 in milliseconds, estimated from pg_stat_statements' mean and standard deviation; with few calls, the mean
 * alone (one cold first execution would otherwise make a 30 ms statement look like a 100 ms one).
 */
export function estimatedP95Ms(s: Pick<StatementStats, 'meanMs' | 'stddevMs' | 'calls'>): number {
  if (!isNumber(s.calls) || s.calls < MIN_CALLS_FOR_SPREAD) return s.meanMs;
  return s.meanMs + Z95 * (isNumber(s.stddevMs) && s.stddevMs > 0 ? s.stddevMs : 0);
}

export function detect(snapshot: Snapshot, limits: DetectorLimits): Draft<'slow-statement'>[] {
  const limitMs = limits.slowStatement.p95Seconds * 1000;
  const findings: Draft<'slow-statement'>[] = [];
  for (const s of snapshot.statements) {
    if (!isNumber(s.meanMs) || !isNumber(s.calls) || s.calls < MIN_CALLS) continue;
    if (isMaintenance(s.query)) continue;
    const p95Ms = estimatedP95Ms(s);
    if (p95Ms <= limitMs) continue;
    const known = isNumber(s.callsPerSecond);
    // Unknown statistics' age: take every call to fall in this window, an upper bound for ranking.
    const rate = known
      ? (s.callsPerSecond ?? 0)
      : snapshot.windowSeconds > 0
        ? s.calls / snapshot.windowSeconds
        : 0;
    // Impact: each call waits its (estimated) p95 excess over the objective, p95 standing in for its latency as
    // on routes.
    const impact = (rate * (p95Ms - limitMs)) / 1000;
    const frequency = known ? ` at ${formatRate(s.callsPerSecond ?? 0, 'calls/s')}` : '';
    findings.push(
      draft({
        id: findingId('slow-statement', s.service, s.fingerprint),
        kind: 'slow-statement',
        layer: 'database',
        service: s.service,
        subject: s.fingerprint,
        severity: severityFor(p95Ms, limitMs),
        impact,
        title: `Slow statement on ${s.service}: p95 ≈ ${formatSeconds(p95Ms / 1000)} vs the ${formatSeconds(limits.slowStatement.p95Seconds)} objective${frequency}: ${shortSql(s.query, 70)}`,
        summary:
          `In database ${s.database}, this statement ran ${formatNumber(s.calls)} times ` +
          (s.scope === 'window'
            ? `over the last ${snapshot.window}`
            : 'since pg_stat_statements was last reset (no earlier sample to take a delta from)') +
          ` with a mean of ` +
          `${formatSeconds(s.meanMs / 1000)} (σ ${formatSeconds((isNumber(s.stddevMs) ? s.stddevMs : 0) / 1000)}), so ` +
          `about 5 % of calls take longer than ${formatSeconds(p95Ms / 1000)}, over the ` +
          `${formatSeconds(limits.slowStatement.p95Seconds)} objective` +
          (rate > 0 ? `; that costs about ${impact.toFixed(2)} s of waiting per second` : '') +
          `. Statement: ${shortSql(s.query, 200)}`,
        facts: {
          fingerprint: s.fingerprint,
          statement: s.query,
          database: s.database,
          p95_estimate_ms: p95Ms,
          mean_ms: s.meanMs,
          stddev_ms: isNumber(s.stddevMs) ? s.stddevMs : 0,
          limit_p95_ms: limitMs,
          calls: s.calls,
          total_ms: isNumber(s.totalMs) ? s.totalMs : s.calls * s.meanMs,
          ...(isNumber(s.rowsPerCall) ? { rows_per_call: s.rowsPerCall } : {}),
          ...(known ? { calls_per_s: s.callsPerSecond ?? 0 } : {}),
          scope: s.scope,
          // Filled by `correlate` from the traces: the routes that ran it.
          routes: [],
        },
        evidence: {
          window: snapshot.window,
          queries: evidenceQueries(snapshot, ['statements']),
        },
      }),
    );
  }
  return findings;
}
