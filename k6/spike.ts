// k6 run k6/spike.ts — the "spike" profile (see k6/lib/profiles.ts), thresholds from slo.yaml.
import { handleSummaryFor, optionsFor } from './lib/options.ts';

export { setup, visit as default } from './lib/shop.ts';
export const options = optionsFor('spike');
export const handleSummary = handleSummaryFor('spike');
