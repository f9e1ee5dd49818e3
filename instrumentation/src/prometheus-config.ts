/**
 * Prometheus configuration for pull mode (`OTEL_METRICS_EXPORTER=prometheus`): scraped series get the names
 * and the `job` label they would have had if they had arrived over OTLP, so dashboards, alerts and the analyzer
 * work unchanged whichever way metrics come in. The result is a plain object; YAML is a superset of JSON, so
 * `JSON.stringify` output is a valid `prometheus.yml`.
 */
import { relabelRules } from './prometheus-names.ts';
import { ALL_METRICS, type MetricSpec } from './semconv.ts';

/** An app exposing `/metrics` through the SDK's Prometheus exporter. */
export interface ScrapeTarget {
  /** `host:port` of the exporter (default port 9464). */
  readonly address: string;
  /** The app's `service.name`. */
  readonly service: string;
  /** The app's `service.namespace`, if any. */
  readonly namespace?: string;
}

export interface PrometheusConfigOptions {
  /** Apps to scrape, listed in the config (`static_configs`). */
  readonly targets?: readonly ScrapeTarget[];
  /** Files of targets that Prometheus watches (`file_sd_configs`); write them with `fileSdEntry`. */
  readonly fileSdPaths?: readonly string[];
  /** Default `10s`, matching the instrumentation's metric export interval. */
  readonly scrapeInterval?: string;
  /** Default `hotpath-apps`; the `job` label is set per target, so this name shows up nowhere in queries. */
  readonly jobName?: string;
  /** Metrics to rename (default: the whole catalogue). */
  readonly metrics?: readonly MetricSpec[];
}

/** The `job` label the OTLP path derives from the resource: `service.namespace/service.name`. */
export function jobLabel(service: string, namespace?: string): string {
  return namespace === undefined || namespace === '' ? service : `${namespace}/${service}`;
}

/** One entry of a `file_sd_configs` file. */
export function fileSdEntry(target: ScrapeTarget): { targets: string[]; labels: Record<string, string> } {
  // A target label named `job` takes precedence over the scrape job's name (Prometheus only fills in `job`
  // when the target does not carry one).
  return { targets: [target.address], labels: { job: jobLabel(target.service, target.namespace) } };
}

/** One `scrape_configs` entry for instrumented apps. */
export function scrapeConfig(options: PrometheusConfigOptions = {}): Record<string, unknown> {
  const config: Record<string, unknown> = {
    job_name: options.jobName ?? 'hotpath-apps',
    scrape_interval: options.scrapeInterval ?? '10s',
    metrics_path: '/metrics',
  };
  if (options.targets !== undefined && options.targets.length > 0) {
    config.static_configs = options.targets.map(fileSdEntry);
  }
  if (options.fileSdPaths !== undefined && options.fileSdPaths.length > 0) {
    config.file_sd_configs = [{ files: [...options.fileSdPaths], refresh_interval: '5s' }];
  }
  config.metric_relabel_configs = relabelRules(options.metrics ?? ALL_METRICS);
  return config;
}

/** A complete `prometheus.yml` for scraping instrumented apps. */
export function prometheusConfig(options: PrometheusConfigOptions = {}): Record<string, unknown> {
  const interval = options.scrapeInterval ?? '10s';
  return {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: [scrapeConfig(options)],
  };
}
