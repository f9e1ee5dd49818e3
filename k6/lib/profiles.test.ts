import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILES, type ProfileName, profileSeconds, profileSteps } from './profiles.ts';
import { type K6Slo, thresholdsFromSlo } from './thresholds.ts';

describe('k6 profiles', () => {
  it('has one script per profile, each using its own profile', () => {
    for (const name of Object.keys(PROFILES) as ProfileName[]) {
      const script = readFileSync(join(import.meta.dirname, '..', `${name}.ts`), 'utf8');
      expect(script).toContain(`optionsFor('${name}')`);
    }
  });

  it('shapes each profile as its name says', () => {
    const peak = (name: ProfileName) => {
      const s = PROFILES[name].scenario;
      return s.executor === 'constant-vus' ? s.vus : Math.max(...s.stages.map((x) => x.target));
    };
    expect(peak('benchmark')).toBe(1);
    expect(peak('stress')).toBeGreaterThan(peak('load'));
    expect(profileSeconds('soak')).toBeGreaterThanOrEqual(3600);
    expect(profileSeconds('load')).toBeLessThan(profileSeconds('soak'));
    const spike = PROFILES.spike.scenario;
    expect(spike.executor).toBe('ramping-vus');
    if (spike.executor === 'ramping-vus') {
      // The jump itself is fast: at least 10× the users within 10 s.
      const jump = spike.stages.find((s) => s.target >= 10 * spike.startVUs);
      expect(jump?.duration).toBe('10s');
    }
  });
});

describe('the local driver’s steps', () => {
  it('run each profile for its planned time, ramps cut into steps at their midpoint value', () => {
    for (const name of Object.keys(PROFILES) as ProfileName[]) {
      const total = profileSteps(name).reduce((sum, s) => sum + s.seconds, 0);
      expect(total, name).toBeCloseTo(profileSeconds(name), 6);
    }
    // load: 0 → 20 over 1 m (6 steps of 10 s), 20 for 5 m, 20 → 0 over 1 m.
    const load = profileSteps('load');
    expect(load.slice(0, 6).map((s) => s.users)).toEqual([2, 5, 8, 12, 15, 18]);
    expect(load.slice(6, 36).every((s) => s.users === 20)).toBe(true);
    expect(load.slice(36).map((s) => s.users)).toEqual([18, 15, 12, 8, 5, 2]);
    expect(profileSteps('benchmark')).toEqual([{ seconds: 60, users: 1 }]);
  });

  it('scale every duration alike', () => {
    const short = profileSteps('spike', { scale: 0.1 });
    expect(short.reduce((sum, s) => sum + s.seconds, 0)).toBeCloseTo(profileSeconds('spike') * 0.1, 6);
    expect(Math.max(...short.map((s) => s.users))).toBe(100);
  });
});

describe('k6 thresholds', () => {
  it('are the SLOs, in k6 syntax', () => {
    const slo: K6Slo = { service: 'x', api: { latency_p95_ms: 250, error_rate_percent: 2 } };
    const t = thresholdsFromSlo(slo);
    expect(t.http_req_duration).toEqual(['p(95)<250']);
    expect(t.http_req_failed).toEqual(['rate<0.02']);
  });
});
