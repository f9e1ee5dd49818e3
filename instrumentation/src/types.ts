import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';

/** Options of `startTelemetry`. Every one is optional; standard `OTEL_*` variables override them. */
export interface TelemetryOptions {
  /** `service.name` when `OTEL_SERVICE_NAME` is unset (default: the npm package name, if run by npm). */
  serviceName?: string;
  /** `service.version` (default: the npm package version, if run by npm). */
  serviceVersion?: string;
  /** `service.namespace`; with it, Prometheus's `job` label becomes `namespace/name`. */
  serviceNamespace?: string;
  /** `deployment.environment.name` (default: `NODE_ENV`, else `development`). */
  environment?: string;
  /** Metric export interval when `OTEL_METRIC_EXPORT_INTERVAL` is unset (default 10 000 ms). */
  metricExportIntervalMillis?: number;
  /** Request paths that are not app traffic (health checks): no span, no metric. Strings match exactly. */
  ignoreIncomingPaths?: readonly (string | RegExp)[];
  /** Upper bound for flushing on shutdown/SIGTERM (default 5 000 ms); the app never waits longer. */
  shutdownTimeoutMillis?: number;
  /** Extra metric readers, e.g. an in-memory reader in tests. Added to those chosen by `OTEL_METRICS_EXPORTER`. */
  metricReaders?: IMetricReader[];
  /** Replace the span processors chosen by `OTEL_TRACES_EXPORTER`, e.g. with an in-memory exporter in tests. */
  spanProcessors?: SpanProcessor[];
  /** Flush telemetry on SIGTERM (default true). */
  handleSigterm?: boolean;
}

/** What `startTelemetry` returns. */
export interface TelemetryHandle {
  /** Flushes and stops every exporter; resolves within the shutdown timeout, never rejects. */
  shutdown(): Promise<void>;
  /** Forces an export of pending spans and metrics (bounded like `shutdown`). */
  flush(): Promise<void>;
}
