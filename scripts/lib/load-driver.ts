/**
 * The local load driver: a k6 profile (`k6/lib/profiles.ts`) and the k6 visit (`k6/lib/visit.ts`) run with
 * autocannon, for machines without k6. Each user is one autocannon connection that sends one visit's requests a
 * second (k6's visit then `sleep(1)`); a k6 ramp runs as constant steps (`profileSteps`). The run is judged on
 * the thresholds k6 uses (`k6/lib/slo.json`, from slo.yaml) and recorded, so `hotpath` can name it later.
 */
import autocannon from 'autocannon';
import { type RecordedRun, runId, writeRun } from '../../analyzer/src/runs.ts';
import { type ProfileName, profileSteps, type Step } from '../../k6/lib/profiles.ts';
import type { K6Slo } from '../../k6/lib/thresholds.ts';
import { drawIds, SYNTHETIC_HEADERS, VISIT } from '../../k6/lib/visit.ts';

export interface LoadOptions {
  /** Base URL of the app. */
  readonly target: string;
  readonly profile: ProfileName;
  /** Every duration of the profile times this (default 1). */
  readonly scale?: number;
  /** Called before each step, for progress. */
  readonly onStep?: (progress: StepProgress) => void;
  /** Called after each step: true ends the run there (k6's `abortOnFail`). */
  readonly stopAfter?: (step: StepResult) => boolean;
}

export interface StepProgress {
  readonly index: number;
  readonly steps: number;
  readonly step: Step;
  /** Requests answered so far, and of them the ones with another status than a healthy shop's. */
  readonly requests: number;
  readonly unexpected: number;
}

export interface RequestCounts {
  readonly name: string;
  readonly method: string;
  readonly requests: number;
  /** Answers with another status than the one a healthy shop gives. */
  readonly unexpected: number;
  readonly statuses: Readonly<Record<string, number>>;
}

export interface LoadResult {
  readonly profile: ProfileName;
  readonly target: string;
  readonly scale: number;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly requests: number;
  readonly unexpected: number;
  /** Connection errors and timeouts: no answer at all. */
  readonly errors: number;
  /** Milliseconds over every answered request. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly max: number;
  };
  readonly byRequest: readonly RequestCounts[];
  /** Each step as it ran: what a stress run's breaking point is read from. */
  readonly steps: readonly StepResult[];
}

export interface StepResult {
  readonly index: number;
  readonly users: number;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly requests: number;
  /** Answers with another status than a healthy shop's, plus requests without an answer. */
  readonly failed: number;
  /** Over the step's answered requests, 0 when none. */
  readonly p95Ms: number;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The value at quantile `q` of sorted `values` (nearest rank), 0 when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

function runStep(
  target: string,
  step: Step,
  counts: Map<string, { requests: number; unexpected: number; statuses: Record<string, number> }>,
  latencies: number[],
): Promise<number> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: target,
        connections: step.users,
        // One visit a second per user: k6's VU sends the visit, then sleeps a second.
        connectionRate: VISIT.length,
        duration: step.seconds,
        timeout: 30,
        requests: VISIT.map((r) => {
          const count = counts.get(r.name) as {
            requests: number;
            unexpected: number;
            statuses: Record<string, number>;
          };
          const headers = {
            ...SYNTHETIC_HEADERS,
            ...(r.body === undefined ? {} : { 'content-type': 'application/json' }),
          };
          return {
            method: r.method,
            headers,
            ...(r.body === undefined ? {} : { body: r.body(drawIds()) }),
            setupRequest: (request: autocannon.Request) => {
              const ids = drawIds();
              return {
                ...request,
                path: r.path(ids),
                ...(r.body === undefined ? {} : { body: r.body(ids) }),
              };
            },
            onResponse: (status: number) => {
              count.requests += 1;
              if (status !== r.status) {
                count.unexpected += 1;
                count.statuses[status] = (count.statuses[status] ?? 0) + 1;
              }
            },
          };
        }),
      },
      (error, result) => (error ? reject(error) : resolve(result.errors + result.timeouts)),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
    });
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const scale = options.scale ?? 1;
  const steps = profileSteps(options.profile, { scale });
  const counts = new Map(
    VISIT.map((r) => [r.name, { requests: 0, unexpected: 0, statuses: {} as Record<string, number> }]),
  );
  const latencies: number[] = [];
  let errors = 0;
  const startedAt = new Date();
  const stepResults: StepResult[] = [];
  const totals = () => {
    const all = [...counts.values()];
    return {
      requests: all.reduce((n, c) => n + c.requests, 0),
      unexpected: all.reduce((n, c) => n + c.unexpected, 0),
    };
  };
  for (const [index, step] of steps.entries()) {
    const before = { ...totals(), errors, latencies: latencies.length, at: new Date() };
    options.onStep?.({ index, steps: steps.length, step, ...totals() });
    if (step.users === 0) await new Promise((r) => setTimeout(r, step.seconds * 1000));
    else errors += await runStep(options.target, step, counts, latencies);
    const after = totals();
    const own = latencies.slice(before.latencies).sort((a, b) => a - b);
    const result: StepResult = {
      index,
      users: step.users,
      startedAt: before.at,
      endedAt: new Date(),
      requests: after.requests - before.requests,
      failed: after.unexpected - before.unexpected + (errors - before.errors),
      p95Ms: round(quantile(own, 0.95)),
    };
    stepResults.push(result);
    if (options.stopAfter?.(result)) break;
  }
  const endedAt = new Date();
  latencies.sort((a, b) => a - b);
  const byRequest: RequestCounts[] = VISIT.map((r) => {
    const c = counts.get(r.name) as {
      requests: number;
      unexpected: number;
      statuses: Record<string, number>;
    };
    return {
      name: r.name,
      method: r.method,
      requests: c.requests,
      unexpected: c.unexpected,
      statuses: c.statuses,
    };
  });
  return {
    profile: options.profile,
    target: options.target,
    scale,
    startedAt,
    endedAt,
    requests: byRequest.reduce((n, c) => n + c.requests, 0),
    unexpected: byRequest.reduce((n, c) => n + c.unexpected, 0),
    errors,
    // To a hundredth of a millisecond: autocannon's times are floats from the high-resolution clock.
    latencyMs: {
      p50: round(quantile(latencies, 0.5)),
      p95: round(quantile(latencies, 0.95)),
      p99: round(quantile(latencies, 0.99)),
      max: round(latencies.at(-1) ?? 0),
    },
    byRequest,
    steps: stepResults,
  };
}

/** Where a run first broke an objective: the step, its arrival rate and which threshold. */
export interface BreakingPoint {
  readonly step: StepResult;
  /** Requests answered per second in that step. */
  readonly ratePerSecond: number;
  readonly reason: string;
}

/**
 * The first step that broke one of k6's thresholds (slo.yaml) on its own requests: the breaking point of a
 * stress run. Null when every step held.
 */
export function breakingPoint(result: LoadResult, slo: K6Slo): BreakingPoint | null {
  for (const step of result.steps) {
    const reasons = stepBreaks(step, slo);
    const seconds = (step.endedAt.getTime() - step.startedAt.getTime()) / 1000;
    if (reasons.length > 0)
      return { step, ratePerSecond: seconds > 0 ? step.requests / seconds : 0, reason: reasons.join('; ') };
  }
  return null;
}

/** The thresholds one step broke on its own requests (none for an idle step). */
export function stepBreaks(step: StepResult, slo: K6Slo): string[] {
  if (step.users === 0 || step.requests === 0) return [];
  const failed = step.failed / step.requests;
  const reasons: string[] = [];
  if (step.p95Ms >= slo.api.latency_p95_ms)
    reasons.push(`p95 ${step.p95Ms} ms is not under the ${slo.api.latency_p95_ms} ms objective`);
  if (failed >= slo.api.error_rate_percent / 100)
    reasons.push(
      `${(failed * 100).toFixed(2)} % of requests failed, not under the ${slo.api.error_rate_percent} % objective`,
    );
  return reasons;
}

/** The SLO thresholds k6 applies (`thresholds.ts`), on the driver's numbers: one line per broken objective. */
export function brokenThresholds(result: LoadResult, slo: K6Slo): string[] {
  const broken: string[] = [];
  if (result.latencyMs.p95 >= slo.api.latency_p95_ms)
    broken.push(`p95 ${result.latencyMs.p95} ms is not under the ${slo.api.latency_p95_ms} ms objective`);
  const failed =
    result.requests + result.errors === 0
      ? 0
      : (result.unexpected + result.errors) / (result.requests + result.errors);
  if (failed >= slo.api.error_rate_percent / 100)
    broken.push(
      `${(failed * 100).toFixed(2)} % of requests failed, not under the ${slo.api.error_rate_percent} % objective`,
    );
  return broken;
}

/** Records the run under `dir` (`analyzer/src/runs.ts`): `hotpath analyze --since <id>` judges it. */
export function recordRun(
  dir: string,
  result: LoadResult,
  statements?: RecordedRun['statements'],
  breaking?: BreakingPoint | null,
): { run: RecordedRun; file: string } {
  const run: RecordedRun = {
    id: runId(result.profile, result.startedAt),
    profile: result.profile,
    target: result.target,
    scale: result.scale,
    start: result.startedAt.toISOString(),
    end: result.endedAt.toISOString(),
    requests: result.requests,
    unexpected: result.unexpected,
    errors: result.errors,
    latency_ms: result.latencyMs,
    ...(statements === undefined ? {} : { statements }),
    ...(breaking === undefined || breaking === null
      ? {}
      : {
          breaking_point: {
            step: breaking.step.index,
            users: breaking.step.users,
            rate_per_s: Math.round(breaking.ratePerSecond * 100) / 100,
            start: breaking.step.startedAt.toISOString(),
            end: breaking.step.endedAt.toISOString(),
            reason: breaking.reason,
          },
        }),
  };
  return { run, file: writeRun(dir, run) };
}
