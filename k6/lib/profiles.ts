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

/** Total planned duration of a profile in seconds (for CI time budgets). */
export function profileSeconds(name: ProfileName): number {
  const toSeconds = (d: string): number => {
    const m = /^(\d+)(s|m|h)$/.exec(d);
    if (m === null) throw new Error(`bad duration ${d}`);
    return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
  };
  const scenario = PROFILES[name].scenario;
  return scenario.executor === 'constant-vus'
    ? toSeconds(scenario.duration)
    : scenario.stages.reduce((sum, s) => sum + toSeconds(s.duration), 0);
}
