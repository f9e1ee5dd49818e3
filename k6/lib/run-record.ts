/** A k6 run's summary data as the run record `analyzer/src/runs.ts` stores. Pure: no k6 imports. */
import type { ProfileName } from './profiles.ts';

/** The part of k6's summary data (handleSummary's argument) the run record reads. */
export interface K6SummaryData {
  readonly state: { readonly testRunDurationMs: number };
  readonly metrics: Readonly<
    Record<string, { readonly type: string; readonly values: Readonly<Record<string, number>> }>
  >;
}

/** The run as `analyzer/src/runs.ts` stores it (its zod schema checks this shape in `summary.test.ts`). */
export interface RunRecord {
  readonly id: string;
  readonly profile: ProfileName;
  readonly target: string;
  readonly scale: number;
  readonly start: string;
  readonly end: string;
  readonly requests: number;
  readonly unexpected: number;
  readonly errors: number;
  readonly latency_ms: {
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly max: number;
  };
}

/** The trend stats the summary keeps: k6's defaults plus the p99 the run record holds. */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

const round = (ms: number | undefined) => Math.round((ms ?? 0) * 100) / 100;

/** `load-20261204T200501Z`, as `runId` in analyzer/src/runs.ts. */
export function runIdOf(profile: ProfileName, start: Date): string {
  return `${profile}-${start
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

export function runRecord(data: K6SummaryData, profile: ProfileName, target: string, end: Date): RunRecord {
  const start = new Date(end.getTime() - Math.round(data.state.testRunDurationMs));
  const m = data.metrics;
  const duration = m.http_req_duration?.values ?? {};
  return {
    id: runIdOf(profile, start),
    profile,
    // k6 has no URL global: the scheme and authority, as URL.origin gives them.
    target: /^https?:\/\/[^/?#]+/i.exec(target)?.[0].toLowerCase() ?? target,
    scale: 1,
    start: start.toISOString(),
    end: end.toISOString(),
    requests: m.http_reqs?.values.count ?? 0,
    // A failed check is an answer another than a healthy shop's; a failed request got no good answer at all.
    unexpected: m.checks?.values.fails ?? 0,
    errors: m.http_req_failed?.values.passes ?? 0,
    latency_ms: {
      p50: round(duration.med),
      p95: round(duration['p(95)']),
      p99: round(duration['p(99)']),
      max: round(duration.max),
    },
  };
}
