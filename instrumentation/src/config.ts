/**
 * Everything `startTelemetry` needs, resolved once from options and `process.env`. Standard `OTEL_*` variables
 * win over code options (an operator overrides what the app author chose); anything unset falls back to a
 * default tuned for Hotpath (10 s metric export).
 */
import type { TelemetryOptions } from './types.ts';

export const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 10_000;
/** The spec's default timeout; clamped to the interval so a slow export never overlaps the next one. */
export const DEFAULT_METRIC_EXPORT_TIMEOUT_MS = 30_000;
/** `@opentelemetry/exporter-prometheus` defaults. */
export const DEFAULT_PROMETHEUS_HOST = '0.0.0.0';
export const DEFAULT_PROMETHEUS_PORT = 9464;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;

export type MetricsExporterName = 'otlp' | 'prometheus' | 'console';
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

export interface TelemetryConfig {
  readonly disabled: boolean;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly metricsExporters: readonly MetricsExporterName[];
  readonly metricsProtocol: OtlpProtocol;
  readonly metricExportIntervalMillis: number;
  readonly metricExportTimeoutMillis: number;
  readonly prometheusHost: string;
  readonly prometheusPort: number;
  readonly ignoreIncomingPaths: readonly (string | RegExp)[];
  readonly shutdownTimeoutMillis: number;
  /** Problems found while reading the environment; logged, never thrown (telemetry must not stop the app). */
  readonly warnings: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function list(value: string | undefined): string[] | undefined {
  const items = nonEmpty(value)
    ?.split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  return items === undefined || items.length === 0 ? undefined : items;
}

/** `/healthz` matches exactly; `/admin/*` matches `/admin` and everything under it. */
function pathPattern(raw: string): string | RegExp {
  const path = raw.trim();
  if (!path.endsWith('*')) return path;
  const prefix = path.slice(0, -1).replace(/\/$/, '');
  return new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/.*)?$`);
}

export function resolveConfig(options: TelemetryOptions = {}, env: Env = process.env): TelemetryConfig {
  const warnings: string[] = [];

  const number = (name: string, fallback: number, min = 0): number => {
    const raw = nonEmpty(env[name]);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) {
      warnings.push(`${name}=${JSON.stringify(raw)} is not a number >= ${min}; using ${fallback}`);
      return fallback;
    }
    return n;
  };

  const exporters: MetricsExporterName[] = [];
  for (const name of list(env.OTEL_METRICS_EXPORTER) ?? ['otlp']) {
    if (name === 'none') {
      exporters.length = 0;
      break;
    }
    if (name === 'otlp' || name === 'prometheus' || name === 'console') {
      if (!exporters.includes(name)) exporters.push(name);
    } else {
      warnings.push(
        `OTEL_METRICS_EXPORTER contains unsupported "${name}" (supported: otlp, prometheus, console, none)`,
      );
    }
  }

  const rawProtocol =
    nonEmpty(env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL);
  let metricsProtocol: OtlpProtocol = 'http/protobuf';
  if (rawProtocol === 'http/json' || rawProtocol === 'grpc' || rawProtocol === 'http/protobuf') {
    metricsProtocol = rawProtocol;
  } else if (rawProtocol !== undefined) {
    warnings.push(`unsupported OTLP protocol "${rawProtocol}"; using http/protobuf`);
  }

  const interval = number(
    'OTEL_METRIC_EXPORT_INTERVAL',
    options.metricExportIntervalMillis ?? DEFAULT_METRIC_EXPORT_INTERVAL_MS,
    1,
  );
  const timeout = Math.min(
    number('OTEL_METRIC_EXPORT_TIMEOUT', DEFAULT_METRIC_EXPORT_TIMEOUT_MS, 1),
    interval,
  );

  // Code options are the app author's defaults; OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME override them
  // later, inside the SDK's resource detection.
  const resourceAttributes: Record<string, string> = {};
  const serviceName = options.serviceName ?? nonEmpty(env.npm_package_name);
  if (serviceName !== undefined) resourceAttributes['service.name'] = serviceName;
  const serviceVersion = options.serviceVersion ?? nonEmpty(env.npm_package_version);
  if (serviceVersion !== undefined) resourceAttributes['service.version'] = serviceVersion;
  if (options.serviceNamespace !== undefined)
    resourceAttributes['service.namespace'] = options.serviceNamespace;
  resourceAttributes['deployment.environment.name'] =
    options.environment ?? nonEmpty(env.NODE_ENV) ?? 'development';

  const disabledRaw = nonEmpty(env.OTEL_SDK_DISABLED)?.toLowerCase();

  return Object.freeze({
    disabled: disabledRaw === 'true',
    resourceAttributes: Object.freeze(resourceAttributes),
    metricsExporters: Object.freeze(exporters),
    metricsProtocol,
    metricExportIntervalMillis: interval,
    metricExportTimeoutMillis: timeout,
    prometheusHost: nonEmpty(env.OTEL_EXPORTER_PROMETHEUS_HOST) ?? DEFAULT_PROMETHEUS_HOST,
    prometheusPort: number('OTEL_EXPORTER_PROMETHEUS_PORT', DEFAULT_PROMETHEUS_PORT),
    ignoreIncomingPaths: Object.freeze([
      ...(options.ignoreIncomingPaths ?? []),
      ...(nonEmpty(env.HOTPATH_IGNORE_INCOMING_PATHS)?.split(',') ?? [])
        .map(pathPattern)
        .filter((p) => p !== ''),
    ]),
    shutdownTimeoutMillis: options.shutdownTimeoutMillis ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    warnings: Object.freeze(warnings),
  });
}
