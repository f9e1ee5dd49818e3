/**
 * Runs the demo shop as a child process under `--import @hotpath/instrumentation/register`, in pull mode
 * (`OTEL_METRICS_EXPORTER=prometheus`) and, when asked, registered as a Prometheus scrape target.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type ManagedProcess, startProcess, waitFor } from './process.ts';
import { addScrapeTarget } from './prometheus.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEMO_MAIN = join(REPO_ROOT, 'demo', 'src', 'main.ts');

export interface StartDemoOptions {
  readonly databaseUrl: string;
  /** `service.name`, and so the Prometheus `job` label. */
  readonly service: string;
  readonly scenarios?: readonly string[];
  /** Register the demo's `/metrics` here (a Prometheus `file_sd` directory). */
  readonly scrapeTargetsDir?: string;
  /** Send traces over OTLP/HTTP JSON to this base URL (`…/v1/traces` is appended). Default: no traces. */
  readonly otlpEndpoint?: string;
  /** Extra or overriding environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  readonly log?: NodeJS.WritableStream;
  /** HTTP port of the shop (default: a free one). */
  readonly port?: number;
}

export interface DemoProcess {
  /** Base URL of the shop. */
  readonly url: string;
  /** `host:port` of its Prometheus exporter. */
  readonly metricsAddress: string;
  readonly service: string;
  readonly process: ManagedProcess;
  setScenario(name: string, on: boolean): Promise<void>;
  setScenarios(names: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

async function adminCall(url: string, method: string, body: unknown): Promise<void> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
}

export async function startDemo(options: StartDemoOptions): Promise<DemoProcess> {
  // A port found free can be taken before the demo binds it (an outgoing connection gets it as its local port):
  // the exporter then fails quietly, as telemetry must, and the demo would run unscraped. Try other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDemoOnce(options);
    } catch (error) {
      if (!(error instanceof MetricsPortTaken) || attempt === 3) throw error;
    }
  }
}

class MetricsPortTaken extends Error {}

async function startDemoOnce(options: StartDemoOptions): Promise<DemoProcess> {
  const port = options.port ?? (await freePort());
  const metricsPort = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: options.databaseUrl,
    DEMO_SCENARIOS: (options.scenarios ?? []).join(','),
    OTEL_SERVICE_NAME: options.service,
    OTEL_METRICS_EXPORTER: 'prometheus',
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
    OTEL_TRACES_EXPORTER: options.otlpEndpoint === undefined ? 'none' : 'otlp',
    OTEL_LOGS_EXPORTER: 'none',
    // Readiness polls and scenario switches are not shop traffic.
    HOTPATH_IGNORE_INCOMING_PATHS: '/healthz,/admin/*',
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
    `demo(${options.service})`,
    process.execPath,
    ['--import', '@hotpath/instrumentation/register', DEMO_MAIN],
    { cwd: REPO_ROOT, env, ...(options.log === undefined ? {} : { log: options.log }) },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`demo ${options.service}`, 120_000, child, async () => (await fetch(`${url}/healthz`)).ok);
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  }
  const metricsAddress = `127.0.0.1:${metricsPort}`;
  const metricsUp = await waitFor(
    'the demo metrics exporter',
    3_000,
    child,
    async () => (await fetch(`http://${metricsAddress}/metrics`)).ok,
  ).then(
    () => true,
    () => false,
  );
  if (!metricsUp) {
    await child.stop('SIGKILL');
    throw new MetricsPortTaken(`the demo's metrics exporter did not listen on ${metricsAddress}`);
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
    setScenario: (name, on) =>
      adminCall(`${url}/admin/scenarios/${encodeURIComponent(name)}`, 'POST', { on }),
    setScenarios: (names) => adminCall(`${url}/admin/scenarios`, 'PUT', { on: names }),
    async stop() {
      unregister();
      await child.stop('SIGTERM');
    },
  };
}
