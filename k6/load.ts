// k6 run k6/load.ts — the "load" profile (see k6/lib/profiles.ts), thresholds from slo.yaml.
import { handleSummaryFor, optionsFor } from './lib/options.ts';

export { setup, visit as default } from './lib/shop.ts';
export const options = optionsFor('load');
export const handleSummary = handleSummaryFor('load');
