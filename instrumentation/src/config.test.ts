import { describe, expect, it } from 'vitest';
import { DEFAULT_METRIC_EXPORT_INTERVAL_MS, resolveConfig } from './config.ts';

describe('resolveConfig', () => {
  it('exports metrics over OTLP every 10 s by default, with the timeout clamped to the interval', () => {
    const config = resolveConfig({}, {});
    expect(config.metricsExporters).toEqual(['otlp']);
    expect(config.metricExportIntervalMillis).toBe(DEFAULT_METRIC_EXPORT_INTERVAL_MS);
    expect(config.metricExportTimeoutMillis).toBe(DEFAULT_METRIC_EXPORT_INTERVAL_MS);
    expect(config.metricsProtocol).toBe('http/protobuf');
    expect(config.warnings).toEqual([]);
  });

  it('lets standard OTEL_* variables win over code options', () => {
    const config = resolveConfig(
      { metricExportIntervalMillis: 5000 },
      {
        OTEL_METRIC_EXPORT_INTERVAL: '2000',
        OTEL_METRICS_EXPORTER: 'prometheus, otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_PROMETHEUS_PORT: '9999',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      },
    );
    expect(config.metricExportIntervalMillis).toBe(2000);
    expect(config.metricsExporters).toEqual(['prometheus', 'otlp']);
    expect(config.metricsProtocol).toBe('grpc');
    expect(config.prometheusPort).toBe(9999);
    expect(config.prometheusHost).toBe('127.0.0.1');
  });

  it('turns metrics off with none, and the SDK off with OTEL_SDK_DISABLED', () => {
    expect(resolveConfig({}, { OTEL_METRICS_EXPORTER: 'otlp,none' }).metricsExporters).toEqual([]);
    expect(resolveConfig({}, { OTEL_SDK_DISABLED: 'true' }).disabled).toBe(true);
  });

  it('reports every bad value as a warning and falls back, never throws', () => {
    const config = resolveConfig(
      {},
      {
        OTEL_METRIC_EXPORT_INTERVAL: 'soon',
        OTEL_METRICS_EXPORTER: 'statsd',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon',
      },
    );
    expect(config.metricExportIntervalMillis).toBe(DEFAULT_METRIC_EXPORT_INTERVAL_MS);
    expect(config.warnings).toHaveLength(3);
    for (const bad of ['OTEL_METRIC_EXPORT_INTERVAL="soon"', '"statsd"', '"carrier-pigeon"']) {
      expect(
        config.warnings.some((w) => w.includes(bad)),
        bad,
      ).toBe(true);
    }
  });

  it('fills the resource from options, npm and NODE_ENV', () => {
    const config = resolveConfig(
      { serviceNamespace: 'shop' },
      { npm_package_name: 'checkout', npm_package_version: '1.2.3', NODE_ENV: 'production' },
    );
    expect(config.resourceAttributes).toEqual({
      'service.name': 'checkout',
      'service.version': '1.2.3',
      'service.namespace': 'shop',
      'deployment.environment.name': 'production',
    });
  });

  it('reads ignored paths: exact, or a prefix with *', () => {
    const { ignoreIncomingPaths } = resolveConfig(
      {},
      { HOTPATH_IGNORE_INCOMING_PATHS: '/healthz, /admin/*' },
    );
    const matches = (path: string) =>
      ignoreIncomingPaths.some((p) => (typeof p === 'string' ? p === path : p.test(path)));
    expect(matches('/healthz')).toBe(true);
    expect(matches('/healthz/deep')).toBe(false);
    expect(matches('/admin')).toBe(true);
    expect(matches('/admin/scenarios/x')).toBe(true);
    expect(matches('/administrator')).toBe(false);
    expect(matches('/api/products')).toBe(false);
  });
});
