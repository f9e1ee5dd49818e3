export type { BrowserCollectorOptions, RejectReason } from './browser-collector.ts';
export {
  assetTemplate,
  browserCollector,
  NAVIGATION_EVENT,
  OTHER_ROUTE,
  pageRouter,
  RESOURCE_EVENT,
} from './browser-collector.ts';
export { BROWSER_SCRIPT_PATH, traceparentMeta } from './browser-script.ts';
export { RateLimitedDiagLogger } from './diag-logger.ts';
export type { PrometheusConfigOptions, ScrapeTarget } from './prometheus-config.ts';
export { fileSdEntry, jobLabel, prometheusConfig, scrapeConfig } from './prometheus-config.ts';
export type { HistogramSeries, RelabelRule } from './prometheus-names.ts';
export {
  HISTOGRAM_SERIES,
  prometheusName,
  prometheusSeries,
  pullName,
  relabelRules,
} from './prometheus-names.ts';
export type { RecordingRule, RuleGroup } from './recording-rules.ts';
export { RECORDED, RULE_WINDOW, recordingRuleGroups, recordingRulesFile } from './recording-rules.ts';
export type { Instrument, MetricKey, MetricSpec } from './semconv.ts';
export { ALL_METRICS, ATTR, LEGACY_ATTR, METRICS, PROMETHEUS_SERIES, SPAN_NAMES } from './semconv.ts';
export { catalogueViews, startTelemetry } from './telemetry.ts';
export type { TelemetryHandle, TelemetryOptions } from './types.ts';
