// k6 run k6/benchmark.ts — the "benchmark" profile (see k6/lib/profiles.ts), thresholds from slo.yaml.
import { handleSummaryFor, optionsFor } from './lib/options.ts';

export { setup, visit as default } from './lib/shop.ts';
export const options = optionsFor('benchmark');
export const handleSummary = handleSummaryFor('benchmark');
