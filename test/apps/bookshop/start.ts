/**
 * Runs the bookshop as a child process under `--import @hotpath/instrumentation/register`, in pull mode
 * (`OTEL_METRICS_EXPORTER=prometheus`), with the same conventions as the demo's `startDemo`. Its shipping
 * carrier runs as a second, uninstrumented process, so the carrier's requests are not the bookshop's traffic.
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../../../scripts/lib/demo.ts';
import { freePort, type ManagedProcess, startProcess, waitFor } from '../../../scripts/lib/process.ts';
import { addScrapeTarget } from '../../../scripts/lib/prometheus.ts';
import type { Fault } from './config.ts';

const MAIN = join(import.meta.dirname, 'main.ts');
const CARRIER = join(import.meta.dirname, 'carrier.ts');

export interface StartBookshopOptions {
  readonly databaseUrl: string;
  /** `service.name`, and so the Prometheus `job` label. */
  readonly service: string;
  readonly faults?: readonly Fault[];
  /** Register the bookshop's `/metrics` here (a Prometheus `file_sd` directory). */
  readonly scrapeTargetsDir?: string;
  /** Send traces over OTLP/HTTP JSON to this base URL (`…/v1/traces` is appended). Default: no traces. */
  readonly otlpEndpoint?: string;
  /** Extra or overriding environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  readonly log?: NodeJS.WritableStream;
}

export interface BookshopProcess {
  /** Base URL of the shop. */
  readonly url: string;
  /** `host:port` of its Prometheus exporter. */
  readonly metricsAddress: string;
  readonly service: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startBookshop(options: StartBookshopOptions): Promise<BookshopProcess> {
  const carrierPort = await freePort();
  const carrier = startProcess(`carrier(${options.service})`, process.execPath, [CARRIER], {
    cwd: REPO_ROOT,
    env: { ...(process.env as Record<string, string>), PORT: String(carrierPort) },
  });
  try {
    await waitFor('the sandbox carrier', 15_000, carrier, async () => carrier.output().includes('listening'));
    // As in startDemo: a port found free can be taken before the exporter binds it. Try other ports.
    for (let attempt = 1; ; attempt++) {
      try {
        const shop = await startOnce(options, `http://127.0.0.1:${carrierPort}`);
        return {
          ...shop,
          async stop() {
            await shop.stop();
            await carrier.stop('SIGTERM');
          },
        };
      } catch (error) {
        if (!(error instanceof MetricsPortTaken) || attempt === 3) throw error;
      }
    }
  } catch (error) {
    await carrier.stop('SIGKILL');
    throw error;
  }
}

class MetricsPortTaken extends Error {}

async function startOnce(options: StartBookshopOptions, carrierUrl: string): Promise<BookshopProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: options.databaseUrl,
    CARRIER_URL: carrierUrl,
    BOOKSHOP_FAULTS: (options.faults ?? []).join(','),
    OTEL_SERVICE_NAME: options.service,
    OTEL_METRICS_EXPORTER: 'prometheus',
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
    OTEL_TRACES_EXPORTER: options.otlpEndpoint === undefined ? 'none' : 'otlp',
    OTEL_LOGS_EXPORTER: 'none',
    // Readiness polls are not shop traffic.
    HOTPATH_IGNORE_INCOMING_PATHS: '/healthz',
    ...(options.otlpEndpoint === undefined
      ? {}
      : {
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${options.otlpEndpoint}/v1/traces`,
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
          OTEL_BSP_SCHEDULE_DELAY: '200',
        }),
    ...options.env,
  };
  const child = startProcess(
    `bookshop(${options.service})`,
    process.execPath,
    ['--import', '@hotpath/instrumentation/register', MAIN],
    { cwd: REPO_ROOT, env, ...(options.log === undefined ? {} : { log: options.log }) },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      `bookshop ${options.service}`,
      60_000,
      child,
      async () => (await fetch(`${url}/healthz`)).ok,
    );
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  }
  const metricsAddress = `127.0.0.1:${metricsPort}`;
  const metricsUp = await waitFor(
    'the bookshop metrics exporter',
    3_000,
    child,
    async () => (await fetch(`http://${metricsAddress}/metrics`)).ok,
  ).then(
    () => true,
    () => false,
  );
  if (!metricsUp) {
    await child.stop('SIGKILL');
    throw new MetricsPortTaken(`the bookshop's metrics exporter did not listen on ${metricsAddress}`);
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
