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
import { ConfigError, where } from '../errors.ts';
import { EmbeddedProfileSource, PYROSCOPE_INGEST_PATH, pyroscopeIngestRouter } from '../profiles/embedded.ts';
import { PyroscopeClient } from '../profiles/pyroscope.ts';
import type { ProfileSource } from '../profiles/source.ts';
import { loadSlo } from '../slo.ts';
import { PrometheusClient } from '../sources/prometheus.ts';
import { parseWindow } from '../sources/snapshot.ts';
import { openCounts } from '../store/findings.ts';
import { migrate, schemaVersion } from '../store/migrate.ts';
import {
  type AnalysisRun,
  claimQueuedRun,
  claimScheduledRun,
  failRunsOfPreviousStart,
  findUnclaimedRun,
  queueRun,
} from '../store/runs.ts';
import { EmbeddedTraceSource } from '../traces/embedded.ts';
import { OTLP_TRACES_PATH, otlpTracesRouter } from '../traces/otlp-receiver.ts';
import type { TraceSource } from '../traces/source.ts';
import { TempoClient } from '../traces/tempo.ts';
import { redactedConfig, type ServiceConfig } from './config.ts';
import { runCycle } from './cycle.ts';
import { createApp, type Readiness, type UpstreamCheck } from './http/app.ts';
import { authenticator } from './http/auth.ts';
import { analyzerTelemetry } from './telemetry.ts';

/** How long a /readyz answer is reused. */
const READINESS_TTL_MS = 2_000;
/** How often a replica looks for analyses queued through another replica's API (it claims its own at once). */
const QUEUE_POLL_MS = 2_000;
/** How long `stop` waits for a running cycle. */
const STOP_GRACE_MS = 30_000;

export interface ServiceHandle {
  /** Base URL the API listens on. */
  readonly url: string;
  /**
   * Base URL of the receiver, when traces or profiles are embedded: OTLP/HTTP traces (`…/v1/traces`) and the
   * Pyroscope SDK's pushes (`…/ingest`).
   */
  readonly otlpUrl: string | undefined;
  /** Resolves when the cycles in flight have finished (tests and shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
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
  client.on('error', () => {}); // reported through the failed query below, never as an unhandled event
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
    // A connection that died silently (a failover without a reset) is noticed instead of waited on forever.
    keepAlive: true,
  });
  // A dropped idle connection (the store restarting) must not crash the process; the next query reconnects.
  store.on('error', (error) => log.warn({ err: error.message }, 'store connection lost'));
  try {
    if (config.migrate) {
      const { applied, version } = await migrate(store, { progress: (line) => log.info(line) });
      log.info({ applied, version }, 'store schema up to date');
    } else {
      // Also without migrations: an unreachable store fails the start, it is not found out cycle by cycle.
      log.info({ version: await schemaVersion(store) }, 'store schema (not migrated: HOTPATH_MIGRATE=false)');
    }
    const abandoned = await failRunsOfPreviousStart(store, config.replica);
    if (abandoned > 0) log.warn({ abandoned }, 'runs left unfinished by the previous start marked failed');
  } catch (error) {
    await store.end().catch(() => {});
    throw error;
  }
  const prometheus = new PrometheusClient({ url: config.prometheusUrl });
  const embedded = config.traces.kind === 'embedded' ? new EmbeddedTraceSource() : undefined;
  const traces: TraceSource =
    config.traces.kind === 'tempo'
      ? new TempoClient({ url: config.traces.url })
      : (embedded as EmbeddedTraceSource);
  const embeddedProfiles = config.profiles.kind === 'embedded' ? new EmbeddedProfileSource() : undefined;
  const profiles: ProfileSource =
    config.profiles.kind === 'pyroscope'
      ? new PyroscopeClient({ url: config.profiles.url })
      : (embeddedProfiles as EmbeddedProfileSource);
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
    profiles,
    autoResolveAfter: config.autoResolveCycles,
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
  const intervalMs = (config.intervalSeconds ?? 0) * 1000;
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
    if (stopping || config.intervalSeconds === null) return;
    const next = (Math.floor(Date.now() / intervalMs) + 1) * intervalMs;
    timer = setTimeout(() => {
      void track(tick()).finally(schedule);
    }, next - Date.now());
  };

  // Analyses asked for through the API are queued in the store for any replica: each replica claims them one
  // at a time (FOR UPDATE SKIP LOCKED) when asked itself and every QUEUE_POLL_MS, so a run asked of a replica
  // that stops before running it is run by another. Claimed runs run one after another here; the cycle lock
  // orders replicas.
  let draining: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    draining ??= (async () => {
      try {
        for (;;) {
          if (stopping) return;
          const run = await claimQueuedRun(store, config.replica);
          if (run === null) return;
          log.info({ run: run.id, requestedBy: run.requestedBy }, 'claimed a queued analysis');
          await runCycle({ ...cycleDeps, window: `${run.windowSeconds}s` }, run).catch((error: unknown) =>
            log.error({ err: String(error), run: run.id }, 'analysis failed'),
          );
        }
      } catch (error) {
        log.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'could not claim queued analyses',
        );
      } finally {
        draining = undefined;
      }
    })();
    return track(draining);
  };
  const queuePoll = setInterval(() => void drain(), QUEUE_POLL_MS);
  queuePoll.unref();
  const requestAnalysis = async (request: { window?: string | undefined; requestedBy: string }) => {
    const window = request.window ?? config.window;
    if (request.window === undefined) {
      const pending = await findUnclaimedRun(store, parseWindow(window));
      if (pending !== null) return { run: pending, created: false };
    }
    const run = await queueRun(store, {
      trigger: 'api',
      windowSeconds: parseWindow(window),
      replica: null,
      requestedBy: request.requestedBy,
    });
    void drain();
    return { run, created: true };
  };

  // /readyz is public: probes are shared by concurrent callers and reused for a moment, so polling it cannot
  // open connection after connection to the app database.
  let lastReadiness: { at: number; result: Promise<Readiness> } | undefined;
  const readiness = (): Promise<Readiness> => {
    if (lastReadiness === undefined || Date.now() - lastReadiness.at > READINESS_TTL_MS) {
      lastReadiness = { at: Date.now(), result: probeReadiness() };
    }
    return lastReadiness.result;
  };
  const probeReadiness = async (): Promise<Readiness> => {
    const checks: Record<string, Promise<UpstreamCheck>> = {
      store: check(where(config.storeUrl), async () => {
        await store.query('SELECT 1');
      }),
      prometheus: check(where(config.prometheusUrl), async () => {
        if (!(await prometheus.ready()))
          throw new Error(`${config.prometheusUrl}/-/ready did not answer 200`);
      }),
    };
    if (config.appDatabaseUrl !== undefined) {
      const url = config.appDatabaseUrl;
      checks.appDatabase = check(where(url), () => probeDatabase(url));
    }
    if (config.tempoUrl !== undefined) {
      const url = config.tempoUrl.replace(/\/+$/, '');
      checks.tempo = check(where(url), async () => {
        const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3_000) });
        if (!response.ok) throw new Error(`${url}/ready answered ${response.status}`);
      });
    }
    if (config.profiles.kind === 'pyroscope') {
      const url = config.profiles.url.replace(/\/+$/, '');
      checks.pyroscope = check(where(url), async () => {
        const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3_000) });
        if (!response.ok) throw new Error(`${url}/ready answered ${response.status}`);
      });
    }
    const entries = await Promise.all(Object.entries(checks).map(async ([k, v]) => [k, await v] as const));
    return {
      ready: entries.every(([, c]) => c.status === 'up'),
      checks: Object.fromEntries(entries),
      ...(embedded === undefined ? {} : { traces: { source: 'embedded', ...embedded.stats() } }),
      ...(embeddedProfiles === undefined
        ? {}
        : { profiles: { source: 'embedded', ...embeddedProfiles.stats() } }),
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
  const listen = (handler: express.Express, port: number) =>
    new Promise<Server>((resolve, reject) => {
      const s = handler.listen(port, config.host, (error?: Error) => (error ? reject(error) : resolve(s)));
    });
  const close = async (s: Server | undefined) => {
    if (s === undefined || !s.listening) return;
    s.closeIdleConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  let server: Server | undefined;
  // The OTLP receiver has its own port, like a collector's: exporters are configured with a base URL and no
  // token, and their traffic must not share the API's rate limits.
  let otlpServer: Server | undefined;
  try {
    server = await listen(app, config.port);
    if (embedded !== undefined || embeddedProfiles !== undefined) {
      const receiver = express();
      receiver.disable('x-powered-by');
      const routes: string[] = [];
      if (embedded !== undefined) {
        receiver.use(otlpTracesRouter({ source: embedded, log }));
        routes.push(`OTLP traces go to POST ${OTLP_TRACES_PATH}`);
      }
      if (embeddedProfiles !== undefined) {
        receiver.use(pyroscopeIngestRouter({ source: embeddedProfiles, log }));
        routes.push(`Pyroscope profiles go to POST ${PYROSCOPE_INGEST_PATH}`);
      }
      receiver.use((req, res) => {
        res.status(404).json({ error: `no route ${req.method} ${req.path}; ${routes.join(', ')}` });
      });
      otlpServer = await listen(receiver, config.receiverPort);
    }
  } catch (error) {
    // A port in use: nothing of this start may keep running (no half-started service without its API).
    await close(server);
    await store.end().catch(() => {});
    const port = server === undefined ? `PORT ${config.port}` : `HOTPATH_OTLP_PORT ${config.receiverPort}`;
    throw new ConfigError([
      `cannot listen (${port}): ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const base = (s: Server) =>
    `http://${host.includes(':') ? `[${host}]` : host}:${(s.address() as AddressInfo).port}`;
  const url = base(server);
  const otlpUrl = otlpServer === undefined ? undefined : base(otlpServer);
  log.info(
    {
      url,
      otlpUrl,
      interval: config.intervalSeconds === null ? 'off' : `${config.intervalSeconds}s`,
      window: config.window,
      replica: config.replica,
    },
    'hotpath serve: listening',
  );
  // The schedule starts last, once everything it reports through is up.
  if (config.intervalSeconds !== null) void track(tick()).finally(schedule);
  // Analyses queued while no replica was up are claimed now, not at the first poll.
  void drain();

  const idle = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  const api = server;
  return {
    url,
    otlpUrl,
    idle,
    async stop() {
      stopping = true;
      if (timer !== undefined) clearTimeout(timer);
      clearInterval(queuePoll);
      await close(otlpServer);
      await close(api);
      // A cycle stuck on a dead connection must not keep the process from stopping.
      await Promise.race([idle(), new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
      await store.end();
    },
  };
}

export type { AnalysisRun };
