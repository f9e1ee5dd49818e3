// k6 run k6/stress.ts — the "stress" profile (see k6/lib/profiles.ts), thresholds from slo.yaml.
import { handleSummaryFor, optionsFor } from './lib/options.ts';

export { setup, visit as default } from './lib/shop.ts';
export const options = optionsFor('stress');
export const handleSummary = handleSummaryFor('stress');
