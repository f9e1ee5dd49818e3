/**
 * Load profiles, one per k6 script (k6/<name>.ts). Pure data: no k6 imports, so they are unit-tested under Node.
 * Executor options: https://grafana.com/docs/k6/latest/using-k6/scenarios/executors/
 */

export type ProfileName = 'benchmark' | 'load' | 'stress' | 'soak' | 'spike';

export interface Stage {
  readonly duration: string;
  readonly target: number;
}

export type Scenario =
  | { readonly executor: 'constant-vus'; readonly vus: number; readonly duration: string }
  | {
      readonly executor: 'ramping-vus';
      readonly startVUs: number;
      readonly stages: readonly Stage[];
      readonly gracefulRampDown: string;
    };

export const PROFILES: Readonly<
  Record<ProfileName, { readonly description: string; readonly scenario: Scenario }>
> = {
  benchmark: {
    description: 'one user, one minute: the best case, the baseline every other profile is compared with',
    scenario: { executor: 'constant-vus', vus: 1, duration: '1m' },
  },
  load: {
    description: 'ramp to the expected peak (20 users), hold 5 minutes, ramp down',
    scenario: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '1m', target: 20 },
        { duration: '5m', target: 20 },
        { duration: '1m', target: 0 },
      ],
      gracefulRampDown: '30s',
    },
  },
  stress: {
    description: 'climb past the expected peak (to 100 users) to find where the SLOs break',
    scenario: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '2m', target: 20 },
        { duration: '2m', target: 50 },
        { duration: '2m', target: 100 },
        { duration: '2m', target: 0 },
      ],
      gracefulRampDown: '30s',
    },
  },
  soak: {
    description: 'the expected load for an hour: leaks and slow degradation show up here',
    scenario: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '2m', target: 20 },
        { duration: '56m', target: 20 },
        { duration: '2m', target: 0 },
      ],
      gracefulRampDown: '30s',
    },
  },
  spike: {
    description: 'a sudden burst (5 → 100 users in 10 s) and back: does the service recover?',
    scenario: {
      executor: 'ramping-vus',
      startVUs: 5,
      stages: [
        { duration: '1m', target: 5 },
        { duration: '10s', target: 100 },
        { duration: '1m', target: 100 },
        { duration: '10s', target: 5 },
        { duration: '2m', target: 5 },
      ],
      gracefulRampDown: '30s',
    },
  },
};

/** `30s`, `5m`, `1h` in seconds. */
export function durationSeconds(d: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(d);
  if (m === null) throw new Error(`bad duration ${d}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

/** Total planned duration of a profile in seconds (for CI time budgets). */
export function profileSeconds(name: ProfileName): number {
  const scenario = PROFILES[name].scenario;
  return scenario.executor === 'constant-vus'
    ? durationSeconds(scenario.duration)
    : scenario.stages.reduce((sum, s) => sum + durationSeconds(s.duration), 0);
}

/** A constant stretch of a profile as the local driver runs it: `users` concurrent visitors for `seconds`. */
export interface Step {
  readonly seconds: number;
  readonly users: number;
}

/**
 * The profile as constant steps, for a driver that cannot ramp (autocannon): a k6 ramp from a to b users is cut
 * into steps of at most `maxStepSeconds`, each at the ramp's value at its middle, as k6's ramping-vus executor
 * moves linearly between stage targets. `scale` shortens (or lengthens) every duration alike.
 */
export function profileSteps(
  name: ProfileName,
  options: { readonly scale?: number; readonly maxStepSeconds?: number } = {},
): Step[] {
  const scale = options.scale ?? 1;
  const maxStep = options.maxStepSeconds ?? 10;
  const scenario = PROFILES[name].scenario;
  if (scenario.executor === 'constant-vus') {
    return [{ seconds: durationSeconds(scenario.duration) * scale, users: scenario.vus }];
  }
  const steps: Step[] = [];
  let from = scenario.startVUs;
  for (const stage of scenario.stages) {
    const seconds = durationSeconds(stage.duration) * scale;
    const n = Math.max(1, Math.ceil(seconds / maxStep));
    for (let i = 0; i < n; i++) {
      const users = Math.round(from + ((stage.target - from) * (i + 0.5)) / n);
      steps.push({ seconds: seconds / n, users });
    }
    from = stage.target;
  }
  return steps;
}
