import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILES, type ProfileName, profileSeconds } from './profiles.ts';
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

describe('k6 thresholds', () => {
  it('are the SLOs, in k6 syntax', () => {
    const slo: K6Slo = { service: 'x', api: { latency_p95_ms: 250, error_rate_percent: 2 } };
    const t = thresholdsFromSlo(slo);
    expect(t.http_req_duration).toEqual(['p(95)<250']);
    expect(t.http_req_failed).toEqual(['rate<0.02']);
  });
});
