/** k6 options for a profile: its scenario and the SLO thresholds. Runs in k6's init context. */
import { PROFILES, type ProfileName } from './profiles.ts';
import { type K6Slo, thresholdsFromSlo } from './thresholds.ts';

// Generated from slo.yaml by `npm run generate` (k6 reads no YAML).
const slo = JSON.parse(open(import.meta.resolve('./slo.json'))) as K6Slo;

export function optionsFor(name: ProfileName) {
  return {
    scenarios: { [name]: PROFILES[name].scenario },
    thresholds: thresholdsFromSlo(slo),
    tags: { profile: name, synthetic: 'true' },
  };
}
