/**
 * Runs `hotpath serve` as a child process under `--import @hotpath/instrumentation/register` (pull mode, scraped
 * by the local Prometheus as `hotpath-analyzer`), with a fresh HS256 secret, and mints tokens for it.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { REPO_ROOT } from './demo.ts';
import { freePort, type ManagedProcess, startProcess, waitFor } from './process.ts';
import { addScrapeTarget } from './prometheus.ts';

const CLI = join(REPO_ROOT, 'analyzer', 'src', 'cli.ts');

export interface StartAnalyzerOptions {
  readonly storeUrl: string;
  readonly prometheusUrl: string;
  readonly appDatabaseUrl?: string;
  /** The Prometheus job the app database belongs to. */
  readonly databaseService?: string;
  readonly interval?: string;
  readonly window?: string;
  readonly port?: number;
  readonly scrapeTargetsDir?: string;
  readonly service?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface AnalyzerProcess {
  readonly url: string;
  /** Base URL of its OTLP/HTTP trace receiver: point an app's OTLP traces exporter here. */
  readonly otlpUrl: string;
  /** Its `service.name`, and so its Prometheus job. */
  readonly service: string;
  readonly process: ManagedProcess;
  /** A signed token for the API. */
  token(role: 'viewer' | 'operator' | 'admin', subject?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startAnalyzer(options: StartAnalyzerOptions): Promise<AnalyzerProcess> {
  const port = options.port ?? (await freePort());
  const metricsPort = await freePort();
  const otlpPort = await freePort();
  const secret = randomBytes(32).toString('base64url');
  const service = options.service ?? 'hotpath-analyzer';
  const child = startProcess(
    `hotpath serve`,
    process.execPath,
    ['--import', '@hotpath/instrumentation/register', CLI, 'serve'],
    {
      cwd: REPO_ROOT,
      env: {
        ...(process.env as Record<string, string>),
        HOTPATH_DATABASE_URL: options.storeUrl,
        PROMETHEUS_URL: options.prometheusUrl,
        ...(options.appDatabaseUrl === undefined ? {} : { APP_DATABASE_URL: options.appDatabaseUrl }),
        ...(options.databaseService === undefined
          ? {}
          : { HOTPATH_DATABASE_SERVICE: options.databaseService }),
        HOTPATH_JWT_SECRET: secret,
        HOTPATH_INTERVAL: options.interval ?? '30s',
        HOTPATH_WINDOW: options.window ?? '5m',
        HOST: '127.0.0.1',
        PORT: String(port),
        HOTPATH_OTLP_PORT: String(otlpPort),
        OTEL_SERVICE_NAME: service,
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        HOTPATH_IGNORE_INCOMING_PATHS: '/healthz,/readyz',
        ...options.env,
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor('hotpath serve', 60_000, child, async () => (await fetch(`${url}/healthz`)).ok);
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  }
  const unregister =
    options.scrapeTargetsDir === undefined
      ? () => {}
      : addScrapeTarget(options.scrapeTargetsDir, service, { address: `127.0.0.1:${metricsPort}`, service });
  return {
    url,
    otlpUrl: `http://127.0.0.1:${otlpPort}`,
    service,
    process: child,
    token: (role, subject = 'demo') =>
      new SignJWT({ role })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime('30d')
        .sign(new TextEncoder().encode(secret)),
    async stop() {
      unregister();
      await child.stop('SIGTERM');
    },
  };
}
