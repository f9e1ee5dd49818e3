import type { IncomingMessage } from 'node:http';
import { DiagConsoleLogger, DiagLogLevel, diag, metrics, trace } from '@opentelemetry/api';
import { OTLPMetricExporter as OtlpGrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HostMetricsInstrumentation } from '@opentelemetry/instrumentation-host-metrics';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationType,
  ConsoleMetricExporter,
  type IMetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { type MetricsExporterName, resolveConfig, type TelemetryConfig } from './config.ts';
import { RateLimitedDiagLogger } from './diag-logger.ts';
import { HttpServerInstrumentation } from './http-server-instrumentation.ts';
import { KnexPoolInstrumentation } from './knex-pool-instrumentation.ts';
import { PgPoolInstrumentation } from './pg-pool-instrumentation.ts';
import { poolOfQuery } from './pool-wait.ts';
import { profilingConfig, startProfiling } from './profiling.ts';
import { RuntimeLimitsInstrumentation } from './runtime-limits-instrumentation.ts';
import { ALL_METRICS, ATTR } from './semconv.ts';
import { syntheticAttributes } from './synthetic.ts';
import type { TelemetryHandle, TelemetryOptions } from './types.ts';

/** One SDK per process, whether started by `register` or by the app: a second call returns the first handle. */
const HANDLE = Symbol.for('@hotpath/instrumentation.handle');
type GlobalWithHandle = typeof globalThis & { [HANDLE]?: TelemetryHandle };

function metricExporter(config: TelemetryConfig): PushMetricExporter {
  switch (config.metricsProtocol) {
    case 'grpc':
      return new OtlpGrpcMetricExporter();
    case 'http/json':
      return new OtlpJsonMetricExporter();
    case 'http/protobuf':
      return new OtlpProtoMetricExporter();
  }
}

function metricReader(config: TelemetryConfig, name: MetricsExporterName): IMetricReader {
  switch (name) {
    case 'prometheus':
      // The exporter serves /metrics from its own server; its requests are kept out of app traffic below.
      return new PrometheusExporter({ host: config.prometheusHost, port: config.prometheusPort });
    case 'console':
      return new PeriodicExportingMetricReader({
        exporter: new ConsoleMetricExporter(),
        exportIntervalMillis: config.metricExportIntervalMillis,
        exportTimeoutMillis: config.metricExportTimeoutMillis,
      });
    case 'otlp':
      return new PeriodicExportingMetricReader({
        exporter: metricExporter(config),
        exportIntervalMillis: config.metricExportIntervalMillis,
        exportTimeoutMillis: config.metricExportTimeoutMillis,
      });
  }
}

/** Bucket boundaries from the catalogue, so SLO thresholds fall on bucket edges. */
export function catalogueViews(): ViewOptions[] {
  return ALL_METRICS.flatMap((spec) =>
    spec.buckets === undefined
      ? []
      : [
          {
            instrumentName: spec.name,
            aggregation: {
              type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
              options: { boundaries: [...spec.buckets] },
            },
          },
        ],
  );
}

function isIgnoredIncoming(config: TelemetryConfig, request: IncomingMessage): boolean {
  // The Prometheus exporter's own server: scrapes are not app traffic.
  if (config.metricsExporters.includes('prometheus') && request.socket?.localPort === config.prometheusPort) {
    return true;
  }
  if (config.ignoreIncomingPaths.length === 0) return false;
  const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
  return config.ignoreIncomingPaths.some((p) => (typeof p === 'string' ? p === path : p.test(path)));
}

function instrumentations(config: TelemetryConfig) {
  return [
    // Inbound requests: Hotpath's own server span and duration metric (http-server-instrumentation.ts), a third
    // of instrumentation-http's per-request cost; instrumentation-http keeps the outbound `http.request` calls.
    new HttpServerInstrumentation({
      ignore: (request) => isIgnoredIncoming(config, request),
      // Load-test requests say so on their server span (synthetic.ts).
      startAttributes: (request) => syntheticAttributes(request.headers),
    }),
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
    // The route template still reaches the server span and the duration metric: the express instrumentation
    // records it before it checks whether a layer is ignored. A span per layer costs a large share of the
    // per-request overhead and says little (`npm run bench` compares with the stock setup).
    new ExpressInstrumentation({
      ignoreLayersType: [
        ExpressLayerType.MIDDLEWARE,
        ExpressLayerType.ROUTER,
        ExpressLayerType.REQUEST_HANDLER,
      ],
    }),
    withoutPoolMetrics(
      new PgInstrumentation({
        ignoreConnectSpans: true,
        // instrumentation-pg puts db.operation.name on its duration metric but not on the span; the analyzer
        // joins the two, so the span gets the same value, derived the same way (first keyword, upper case).
        requestHook: (span, { query }) => {
          const operation = sqlOperationName(query.text);
          if (operation !== undefined) span.setAttribute(ATTR.dbOperationName, operation);
          // Which pool handed out the client (pool-wait.ts `tagClient`): what a saturated pool's holders are.
          const pool = poolOfQuery();
          if (pool !== undefined) span.setAttribute(ATTR.dbClientConnectionPoolName, pool);
        },
      }),
    ),
    // With connect spans off, instrumentation-pg leaves pg-pool's connect callback unbound and queued queries
    // land in the trace of whoever released the connection; this binds it and adds the pool wait span. Listed
    // after PgInstrumentation, though its wrapper stacks correctly in either order (see pool-wait.ts `stack`).
    new PgPoolInstrumentation(),
    // knex pools (tarn, not pg-pool): the same wait span, and pool metrics under instrumentation-pg's names.
    new KnexPoolInstrumentation(),
    new UndiciInstrumentation(),
    new RuntimeNodeInstrumentation(),
    // The heap's ceiling, which runtime-node does not report: a leak's time to exhaustion needs it.
    new RuntimeLimitsInstrumentation(),
    new HostMetricsInstrumentation({ metricGroups: ['process.cpu', 'process.memory'] }),
  ];
}

/**
 * instrumentation-pg without its pool metrics, which PgPoolInstrumentation reports instead (its module comment
 * says why: 0.78's counts mix pools). Its spans and `db.client.operation.duration` stay. The pool listeners are
 * set up by a method of the instance; an own property of the same name switches them off. Should an upgrade rename
 * it, both packages would report the pools and the sums would double: `pool-context.test.ts` checks that no
 * pool series comes from instrumentation-pg's scope.
 */
function withoutPoolMetrics(instrumentation: PgInstrumentation): PgInstrumentation {
  const target = instrumentation as unknown as Record<string, unknown>;
  if (typeof target._setPoolConnectEventListeners !== 'function') {
    diag.warn(
      '@hotpath/instrumentation: instrumentation-pg has no pool listeners to switch off; pool metrics may be doubled',
    );
  }
  Object.defineProperty(target, '_setPoolConnectEventListeners', {
    value: () => {},
    configurable: true,
    writable: true,
  });
  return instrumentation;
}

/** The statement's first keyword, as instrumentation-pg derives `db.operation.name` for its metric. */
export function sqlOperationName(text: string | undefined): string | undefined {
  const first = text?.trim().split(/\s+/, 1)[0]?.toUpperCase().replace(/;$/, '');
  return first === undefined || first === '' ? undefined : first;
}

/** Resolves when `work` settles or after `ms`, whichever is first; never rejects. */
async function bounded(work: Promise<unknown>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      diag.warn(`@hotpath/instrumentation: ${what} did not finish within ${ms} ms; giving up`);
      resolve();
    }, ms);
    timer.unref();
  });
  try {
    await Promise.race([
      work.then(
        () => undefined,
        (error: unknown) => diag.warn(`@hotpath/instrumentation: ${what} failed`, error),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts OpenTelemetry for this process: traces and metrics over OTLP (or Prometheus pull), instrumentations
 * for http, Express, pg (and pg.Pool / knex pools: trace context and wait spans), fetch/undici, the Node runtime
 * and process CPU/memory. Never throws into the app: a failure to start is logged and telemetry stays off.
 */
export function startTelemetry(options: TelemetryOptions = {}): TelemetryHandle {
  const global = globalThis as GlobalWithHandle;
  const existing = global[HANDLE];
  if (existing !== undefined) return existing;

  const config = resolveConfig(options);
  if (process.env.OTEL_LOG_LEVEL === undefined) {
    // Without a logger the SDK swallows export errors silently; with the console one it repeats them every
    // few seconds while a collector is down. Warn, and say each distinct problem at most once a minute.
    diag.setLogger(new RateLimitedDiagLogger(new DiagConsoleLogger()), DiagLogLevel.WARN);
  }
  for (const warning of config.warnings) diag.warn(`@hotpath/instrumentation: ${warning}`);

  // Profiles have their own switch (HOTPATH_PROFILING) and server, and run whether or not the SDK does.
  const profiling = startProfiling(profilingConfig(config.resourceAttributes['service.name']));
  const stopProfiling = () => bounded(profiling.stop(), config.shutdownTimeoutMillis, 'profiling stop');
  const noop: TelemetryHandle = { shutdown: stopProfiling, flush: async () => {} };
  if (config.disabled) {
    global[HANDLE] = noop;
    return noop;
  }

  let sdk: NodeSDK;
  try {
    sdk = new NodeSDK({
      resource: defaultResource().merge(resourceFromAttributes(config.resourceAttributes)),
      metricReaders: [
        ...config.metricsExporters.map((name) => metricReader(config, name)),
        ...(options.metricReaders ?? []),
      ],
      views: catalogueViews(),
      instrumentations: instrumentations(config),
      ...(options.spanProcessors === undefined ? {} : { spanProcessors: options.spanProcessors }),
      ...(profiling.contextManager === undefined ? {} : { contextManager: profiling.contextManager }),
    });
    sdk.start();
  } catch (error) {
    diag.error(
      '@hotpath/instrumentation: could not start OpenTelemetry; the app runs without telemetry',
      error,
    );
    global[HANDLE] = noop;
    return noop;
  }

  let stopping: Promise<void> | undefined;
  const handle: TelemetryHandle = {
    shutdown() {
      stopping ??= Promise.all([
        bounded(sdk.shutdown(), config.shutdownTimeoutMillis, 'shutdown'),
        stopProfiling(),
      ]).then(() => undefined);
      return stopping;
    },
    flush() {
      const tracerProvider = trace.getTracerProvider() as { getDelegate?: () => unknown };
      const delegate = (tracerProvider.getDelegate?.() ?? tracerProvider) as {
        forceFlush?: () => Promise<void>;
      };
      const meterProvider = metrics.getMeterProvider() as { forceFlush?: () => Promise<void> };
      return bounded(
        Promise.all([delegate.forceFlush?.(), meterProvider.forceFlush?.()]),
        config.shutdownTimeoutMillis,
        'flush',
      );
    },
  };
  global[HANDLE] = handle;

  if (options.handleSigterm ?? true) {
    process.once('SIGTERM', () => {
      // Adding a listener disables Node's default "exit on SIGTERM". If the app has no handler of its own,
      // re-raise the signal after the flush so the process still ends the way it would have without us.
      const appHandlesSigterm = process.listenerCount('SIGTERM') > 0;
      void handle.shutdown().then(() => {
        if (!appHandlesSigterm) process.kill(process.pid, 'SIGTERM');
      });
    });
  }
  return handle;
}
