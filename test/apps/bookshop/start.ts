/**
 * Runs the bookshop as a child process under `--import @hotpath/instrumentation/register`, in pull mode
 * (`scripts/lib/instrumented-app.ts`, as the demo runs). Its shipping carrier runs as a second, uninstrumented
 * process, so the carrier's requests are not the bookshop's traffic.
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../../../scripts/lib/demo.ts';
import { startInstrumentedApp } from '../../../scripts/lib/instrumented-app.ts';
import { freePort, type ManagedProcess, startProcess, waitFor } from '../../../scripts/lib/process.ts';
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
  /** Push wall and heap profiles to this base URL (`…/ingest`): Pyroscope or `hotpath serve`. Default: none. */
  readonly profilesEndpoint?: string;
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
    const shop = await startInstrumentedApp({
      name: 'bookshop',
      main: MAIN,
      cwd: REPO_ROOT,
      service: options.service,
      appEnv: {
        DATABASE_URL: options.databaseUrl,
        CARRIER_URL: `http://127.0.0.1:${carrierPort}`,
        BOOKSHOP_FAULTS: (options.faults ?? []).join(','),
      },
      // Readiness polls are not shop traffic.
      ignoredPaths: '/healthz',
      ...(options.scrapeTargetsDir === undefined ? {} : { scrapeTargetsDir: options.scrapeTargetsDir }),
      ...(options.otlpEndpoint === undefined ? {} : { otlpEndpoint: options.otlpEndpoint }),
      ...(options.profilesEndpoint === undefined ? {} : { profilesEndpoint: options.profilesEndpoint }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.log === undefined ? {} : { log: options.log }),
      readyTimeoutMs: 60_000,
    });
    return {
      ...shop,
      async stop() {
        await shop.stop();
        await carrier.stop('SIGTERM');
      },
    };
  } catch (error) {
    await carrier.stop('SIGKILL');
    throw error;
  }
}
