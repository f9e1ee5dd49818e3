/**
 * `hotpath serve` assembled: the store pool, the scheduler of cycles (one per time slot across all replicas),
 * analyses asked for through the API, readiness of each upstream, and the HTTP API. `startService` returns a
 * handle whose `stop` finishes the running cycle and closes everything.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pg from 'pg';
import type { Logger } from 'pino';
import { loadSlo } from '../slo.ts';
import { PrometheusClient } from '../sources/prometheus.ts';
import { parseWindow } from '../sources/snapshot.ts';
import { openCounts } from '../store/findings.ts';
import { migrate } from '../store/migrate.ts';
import { type AnalysisRun, claimScheduledRun, listRuns, queueRun } from '../store/runs.ts';
import { EmbeddedTraceSource } from '../traces/embedded.ts';
import { OTLP_TRACES_PATH, otlpTracesRouter } from '../traces/otlp-receiver.ts';
import type { TraceSource } from '../traces/source.ts';
import { TempoClient } from '../traces/tempo.ts';
import { redactedConfig, type ServiceConfig } from './config.ts';
import { runCycle } from './cycle.ts';
import { createApp, type Readiness, type UpstreamCheck } from './http/app.ts';
import { authenticator } from './http/auth.ts';
import { analyzerTelemetry } from './telemetry.ts';

export interface ServiceHandle {
  /** Base URL the API listens on. */
  readonly url: string;
  /** Base URL of the OTLP/HTTP trace receiver (`…/v1/traces`), when traces are embedded. */
  readonly otlpUrl: string | undefined;
  /** Resolves when the cycles in flight have finished (tests and shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Where a URL points, without credentials. */
function target(url: string): string {
  const u = new URL(url);
  return `${u.hostname}${u.port === '' ? '' : `:${u.port}`}${u.pathname === '/' ? '' : u.pathname}`;
}

async function check(targetName: string, probe: () => Promise<void>): Promise<UpstreamCheck> {
  const started = performance.now();
  try {
    await probe();
    return { status: 'up', target: targetName, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      status: 'down',
      target: targetName,
      latencyMs: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

async function probeDatabase(url: string): Promise<void> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 3_000,
    statement_timeout: 3_000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startService(config: ServiceConfig, log: Logger): Promise<ServiceHandle> {
  const slo = loadSlo(config.sloFile);
  const store = new pg.Pool({
    connectionString: config.storeUrl,
    application_name: 'hotpath-analyzer',
    max: 8,
    connectionTimeoutMillis: 5_000,
  });
  // A dropped idle connection (the store restarting) must not crash the process; the next query reconnects.
  store.on('error', (error) => log.warn({ err: error.message }, 'store connection lost'));
  if (config.migrate) {
    const { applied, version } = await migrate(store, { progress: (line) => log.info(line) });
    log.info({ applied, version }, 'store schema up to date');
  }
  const prometheus = new PrometheusClient({ url: config.prometheusUrl });
  const embedded = config.traces.kind === 'embedded' ? new EmbeddedTraceSource() : undefined;
  const traces: TraceSource =
    config.traces.kind === 'tempo'
      ? new TempoClient({ url: config.traces.url })
      : (embedded as EmbeddedTraceSource);
  const telemetry = analyzerTelemetry();
  const refreshOpen = () =>
    openCounts(store)
      .then((counts) => telemetry.setOpenFindings(counts))
      .catch((error: unknown) => log.warn({ err: String(error) }, 'could not count open findings'));
  await refreshOpen();

  const cycleDeps = {
    store,
    prometheus,
    slo,
    window: config.window,
    appDatabaseUrl: config.appDatabaseUrl,
    databaseService: config.databaseService,
    traces,
    autoResolveAfter: config.autoResolveAfter,
    telemetry,
    log,
  };
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => {});
    return promise;
  };

  // Scheduled cycles: slot = epoch ÷ interval. Every replica tries each slot; the store lets one claim it.
  const intervalMs = config.intervalSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  const tick = async () => {
    const slot = Math.floor(Date.now() / intervalMs);
    try {
      const run = await claimScheduledRun(store, {
        slot,
        windowSeconds: config.windowSeconds,
        replica: config.replica,
      });
      if (run === null) {
        log.debug({ slot }, 'another replica has this cycle');
        return;
      }
      await runCycle(cycleDeps, run);
    } catch (error) {
      // The store itself is unreachable: nothing can be recorded; the next slot tries again.
      log.error(
        { err: error instanceof Error ? error.message : String(error), slot },
        'scheduled cycle skipped',
      );
    }
  };
  const schedule = () => {
    if (stopping) return;
    const next = (Math.floor(Date.now() / intervalMs) + 1) * intervalMs;
    timer = setTimeout(() => {
      void track(tick()).finally(schedule);
    }, next - Date.now());
  };
  void track(tick()).finally(schedule);

  // Analyses asked for through the API run one after another in this replica (the lock orders replicas).
  let queue: Promise<unknown> = Promise.resolve();
  const requestAnalysis = async (request: { window?: string | undefined; requestedBy: string }) => {
    const [pending] = await listRuns(store, { status: ['queued'], limit: 50 }).then((runs) =>
      runs.filter((r) => r.trigger === 'api' && r.replica === config.replica),
    );
    if (pending !== undefined && request.window === undefined) return { run: pending, created: false };
    const window = request.window ?? config.window;
    const run = await queueRun(store, {
      trigger: 'api',
      windowSeconds: parseWindow(window),
      replica: config.replica,
      requestedBy: request.requestedBy,
    });
    const job = queue.then(() => runCycle({ ...cycleDeps, window }, run));
    queue = job.catch(() => {});
    void track(job).catch((error: unknown) =>
      log.error({ err: String(error), run: run.id }, 'analysis failed'),
    );
    return { run, created: true };
  };

  const readiness = async (): Promise<Readiness> => {
    const checks: Record<string, Promise<UpstreamCheck>> = {
      store: check(target(config.storeUrl), async () => {
        await store.query('SELECT 1');
      }),
      prometheus: check(target(config.prometheusUrl), async () => {
        if (!(await prometheus.ready()))
          throw new Error(`${config.prometheusUrl}/-/ready did not answer 200`);
      }),
    };
    if (config.appDatabaseUrl !== undefined) {
      const url = config.appDatabaseUrl;
      checks.appDatabase = check(target(url), () => probeDatabase(url));
    }
    if (config.tempoUrl !== undefined) {
      const url = config.tempoUrl.replace(/\/+$/, '');
      checks.tempo = check(target(url), async () => {
        const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3_000) });
        if (!response.ok) throw new Error(`${url}/ready answered ${response.status}`);
      });
    }
    const entries = await Promise.all(Object.entries(checks).map(async ([k, v]) => [k, await v] as const));
    return {
      ready: entries.every(([, c]) => c.status === 'up'),
      checks: Object.fromEntries(entries),
      ...(embedded === undefined ? {} : { traces: { source: 'embedded', ...embedded.stats() } }),
    };
  };

  const app = createApp({
    store,
    authenticate: authenticator(config.auth),
    rateLimitPerMinute: config.rateLimitPerMinute,
    log,
    readiness,
    requestAnalysis,
    config: () => redactedConfig(config),
    findingsChanged: () => void refreshOpen(),
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const base = (s: Server) =>
    `http://${host.includes(':') ? `[${host}]` : host}:${(s.address() as AddressInfo).port}`;
  const url = base(server);
  // The OTLP receiver has its own port, like a collector's: exporters are configured with a base URL and no
  // token, and their traffic must not share the API's rate limits.
  let otlpServer: Server | undefined;
  if (embedded !== undefined && config.traces.kind === 'embedded') {
    const receiver = express();
    receiver.disable('x-powered-by');
    receiver.use(otlpTracesRouter({ source: embedded, log }));
    receiver.use((req, res) => {
      res
        .status(404)
        .json({ error: `no route ${req.method} ${req.path}; OTLP traces go to POST ${OTLP_TRACES_PATH}` });
    });
    const port = config.traces.otlpPort;
    otlpServer = await new Promise<Server>((resolve, reject) => {
      const s = receiver.listen(port, config.host, (error?: Error) => (error ? reject(error) : resolve(s)));
    });
  }
  const otlpUrl = otlpServer === undefined ? undefined : base(otlpServer);
  log.info(
    { url, interval: `${config.intervalSeconds}s`, window: config.window, replica: config.replica },
    'hotpath serve: listening',
  );

  const idle = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  return {
    url,
    otlpUrl,
    idle,
    async stop() {
      stopping = true;
      if (timer !== undefined) clearTimeout(timer);
      if (otlpServer !== undefined) {
        otlpServer.closeIdleConnections();
        await new Promise<void>((resolve) => otlpServer?.close(() => resolve()));
      }
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await idle();
      await store.end();
    },
  };
}

export type { AnalysisRun };
