/**
 * Runs a Node app as a child process under `--import @hotpath/instrumentation/register`, in pull mode
 * (`OTEL_METRICS_EXPORTER=prometheus`), optionally exporting traces over OTLP/HTTP JSON and registered as a
 * Prometheus scrape target: the way the demo and the test apps run in tests and in `npm run demo`.
 */
import { freePort, type ManagedProcess, startProcess, waitFor } from './process.ts';
import { addScrapeTarget } from './prometheus.ts';

export interface InstrumentedAppOptions {
  /** Names the app in logs and errors ("demo", "bookshop"). */
  readonly name: string;
  /** The entry file to run. */
  readonly main: string;
  readonly cwd: string;
  /** `service.name`, and so the Prometheus `job` label. */
  readonly service: string;
  /** HTTP port of the app (default: a free one); it gets `PORT` and `HOST=127.0.0.1`. */
  readonly port?: number;
  /** The app's own settings (database URL, faults, …). */
  readonly appEnv: Readonly<Record<string, string>>;
  /** `HOTPATH_IGNORE_INCOMING_PATHS`: readiness polls and admin calls are not app traffic. */
  readonly ignoredPaths: string;
  /** Register the app's `/metrics` here (a Prometheus `file_sd` directory). */
  readonly scrapeTargetsDir?: string;
  /** Send traces over OTLP/HTTP JSON to this base URL (`…/v1/traces` is appended). Default: no traces. */
  readonly otlpEndpoint?: string;
  /**
   * Push wall and heap profiles (`HOTPATH_PROFILING=on`, the Pyroscope SDK) to this base URL (`…/ingest`):
   * Pyroscope, or `hotpath serve`'s receiver. Default: no profiling.
   */
  readonly profilesEndpoint?: string;
  /** How often the SDK pushes (`PYROSCOPE_FLUSH_INTERVAL_MS`); default 10 s, so a one-minute window sees six. */
  readonly profilesFlushMs?: number;
  /** Extra or overriding environment variables, applied last. */
  readonly env?: Readonly<Record<string, string>>;
  readonly log?: NodeJS.WritableStream;
  /** How long the app may take to answer `/healthz` (it may seed its database first). */
  readonly readyTimeoutMs: number;
}

export interface InstrumentedApp {
  /** Base URL of the app. */
  readonly url: string;
  /** `host:port` of its Prometheus exporter. */
  readonly metricsAddress: string;
  readonly service: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

class MetricsPortTaken extends Error {}

export async function startInstrumentedApp(options: InstrumentedAppOptions): Promise<InstrumentedApp> {
  // A port found free can be taken before the app binds it (an outgoing connection gets it as its local port):
  // the exporter then fails quietly, as telemetry must, and the app would run unscraped; the app's own listen
  // fails with EADDRINUSE and it exits. Either way, try other ports (the app's only when it was picked here).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      const appPortTaken =
        options.port === undefined && error instanceof Error && error.message.includes('EADDRINUSE');
      if (!(error instanceof MetricsPortTaken || appPortTaken) || attempt === 3) throw error;
    }
  }
}

async function startOnce(options: InstrumentedAppOptions): Promise<InstrumentedApp> {
  const port = options.port ?? (await freePort());
  const metricsPort = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    HOST: '127.0.0.1',
    ...options.appEnv,
    OTEL_SERVICE_NAME: options.service,
    OTEL_METRICS_EXPORTER: 'prometheus',
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
    OTEL_TRACES_EXPORTER: options.otlpEndpoint === undefined ? 'none' : 'otlp',
    OTEL_LOGS_EXPORTER: 'none',
    HOTPATH_IGNORE_INCOMING_PATHS: options.ignoredPaths,
    ...(options.otlpEndpoint === undefined
      ? {}
      : {
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${options.otlpEndpoint}/v1/traces`,
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
          OTEL_BSP_SCHEDULE_DELAY: '200',
        }),
    ...(options.profilesEndpoint === undefined
      ? {}
      : {
          HOTPATH_PROFILING: 'on',
          PYROSCOPE_SERVER_ADDRESS: options.profilesEndpoint,
          PYROSCOPE_FLUSH_INTERVAL_MS: String(options.profilesFlushMs ?? 10_000),
        }),
    ...options.env,
  };
  const child = startProcess(
    `${options.name}(${options.service})`,
    process.execPath,
    ['--import', '@hotpath/instrumentation/register', options.main],
    { cwd: options.cwd, env, ...(options.log === undefined ? {} : { log: options.log }) },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      `${options.name} ${options.service}`,
      options.readyTimeoutMs,
      child,
      async () => (await fetch(`${url}/healthz`)).ok,
    );
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  }
  const metricsAddress = `127.0.0.1:${metricsPort}`;
  const metricsUp = await waitFor(
    `the ${options.name} metrics exporter`,
    3_000,
    child,
    async () => (await fetch(`http://${metricsAddress}/metrics`)).ok,
  ).then(
    () => true,
    () => false,
  );
  if (!metricsUp) {
    await child.stop('SIGKILL');
    throw new MetricsPortTaken(`the ${options.name}'s metrics exporter did not listen on ${metricsAddress}`);
  }
  const unregister =
    options.scrapeTargetsDir === undefined
      ? () => {}
      : addScrapeTarget(options.scrapeTargetsDir, options.service, {
          address: metricsAddress,
          service: options.service,
        });
  return {
    url,
    metricsAddress,
    service: options.service,
    process: child,
    async stop() {
      unregister();
      await child.stop('SIGTERM');
    },
  };
}
