/** k6 options for a profile: its scenario and the SLO thresholds. Runs in k6's init context. */
import { PROFILES, type ProfileName } from './profiles.ts';
import { BASE_URL } from './shop.ts';
import { SUMMARY_TREND_STATS, summaryFor } from './summary.ts';
import { type K6Slo, thresholdsFromSlo } from './thresholds.ts';

// Generated from slo.yaml by `npm run generate` (k6 reads no YAML).
const slo = JSON.parse(open(import.meta.resolve('./slo.json'))) as K6Slo;

export function optionsFor(name: ProfileName) {
  return {
    scenarios: { [name]: PROFILES[name].scenario },
    thresholds: thresholdsFromSlo(slo),
    tags: { profile: name, synthetic: 'true' },
    summaryTrendStats: SUMMARY_TREND_STATS,
  };
}

/** Each script's handleSummary: the run recorded where `hotpath` finds it (RUNS_DIR, default .hotpath/runs). */
export function handleSummaryFor(name: ProfileName) {
  return summaryFor(name, BASE_URL, __ENV.RUNS_DIR ?? '.hotpath/runs');
}
