/**
 * Runs the demo shop as a child process under `--import @hotpath/instrumentation/register`, in pull mode
 * (`OTEL_METRICS_EXPORTER=prometheus`) and, when asked, registered as a Prometheus scrape target
 * (`instrumented-app.ts`), with its scenario switches.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInstrumentedApp } from './instrumented-app.ts';
import type { ManagedProcess } from './process.ts';

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
  /** Push wall and heap profiles to this base URL (`…/ingest`): Pyroscope or `hotpath serve`. Default: none. */
  readonly profilesEndpoint?: string;
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
  const app = await startInstrumentedApp({
    name: 'demo',
    main: DEMO_MAIN,
    cwd: REPO_ROOT,
    service: options.service,
    ...(options.port === undefined ? {} : { port: options.port }),
    appEnv: { DATABASE_URL: options.databaseUrl, DEMO_SCENARIOS: (options.scenarios ?? []).join(',') },
    // Readiness polls and scenario switches are not shop traffic.
    ignoredPaths: '/healthz,/admin/*',
    ...(options.scrapeTargetsDir === undefined ? {} : { scrapeTargetsDir: options.scrapeTargetsDir }),
    ...(options.otlpEndpoint === undefined ? {} : { otlpEndpoint: options.otlpEndpoint }),
    ...(options.profilesEndpoint === undefined ? {} : { profilesEndpoint: options.profilesEndpoint }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.log === undefined ? {} : { log: options.log }),
    // The first start seeds the shop.
    readyTimeoutMs: 120_000,
  });
  return {
    ...app,
    setScenario: (name, on) =>
      adminCall(`${app.url}/admin/scenarios/${encodeURIComponent(name)}`, 'POST', { on }),
    setScenarios: (names) => adminCall(`${app.url}/admin/scenarios`, 'PUT', { on: names }),
  };
}
