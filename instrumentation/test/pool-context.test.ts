/**
 * pg.Pool and knex pools under contention, in real apps (ESM and CommonJS) started with
 * `--import @hotpath/instrumentation/register` against the real PostgreSQL: every query span stays in the trace
 * of the request that issued it, waiting for a pooled connection is a `db.client.connection.wait` span, and
 * knex pools report the catalogued pool metrics. A control run with the stock instrumentation-pg setup shows
 * the misattribution the test would catch.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/lib/demo.ts';
import { freePort, type ManagedProcess, startProcess, waitFor } from '../../scripts/lib/process.ts';
import { type CapturedSpan, emptyDatabase, eventually, startOtlpCapture } from '../../test/harness.ts';
import { pullName } from '../src/prometheus-names.ts';
import { ATTR, LEGACY_ATTR, METRICS, SPAN_NAMES } from '../src/semconv.ts';

const TESTDATA = join(import.meta.dirname, 'testdata');
const SERVER = 2;
const INTERNAL = 1;
/** Statements per request of the `/pg` and `/knex` routes (knex's transaction adds BEGIN and COMMIT). */
const PG_STATEMENTS = 7;
const KNEX_STATEMENTS = 7;
const CONCURRENCY = 20;

interface App {
  readonly url: string;
  readonly metricsUrl: string;
  readonly proc: ManagedProcess;
  spans(): CapturedSpan[];
  close(): Promise<void>;
}

let databaseUrl: string;
let tightDatabaseUrl: string;
/** How the pools of the app are named (`host:port/database`). */
let poolName: string;
let tightPoolName: string;
beforeAll(async () => {
  databaseUrl = await emptyDatabase('pools');
  tightDatabaseUrl = await emptyDatabase('tight');
  const name = (raw: string) => {
    const url = new URL(raw);
    return `${url.hostname}:${url.port}/${url.pathname.slice(1)}`;
  };
  poolName = name(databaseUrl);
  tightPoolName = name(tightDatabaseUrl);
});

async function startApp(file: string, register: string): Promise<App> {
  const capture = await startOtlpCapture();
  const [port, metricsPort] = [await freePort(), await freePort()];
  const proc = startProcess(file, process.execPath, ['--import', register, join(TESTDATA, file)], {
    cwd: REPO_ROOT,
    env: {
      ...(process.env as Record<string, string>),
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      TIGHT_DATABASE_URL: tightDatabaseUrl,
      OTEL_SERVICE_NAME: file,
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${capture.url}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
  });
  await waitFor(file, 30_000, proc, async () => proc.output().includes('ready'));
  return {
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    proc,
    spans: () => capture.spans(),
    close: async () => {
      await proc.stop('SIGKILL');
      await capture.close();
    },
  };
}

async function get(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Sends requests `ids` all at once; returns each response body by id. */
async function burst(app: App, route: string, ids: readonly number[], query = '') {
  const bodies = await Promise.all(ids.map((i) => get(`${app.url}/${route}/${i}${query}`)));
  return new Map(ids.map((id, n) => [id, bodies[n] ?? {}]));
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, n) => from + n);
}

function path(span: CapturedSpan): string | undefined {
  const raw = span.attributes[ATTR.urlPath] ?? span.attributes[LEGACY_ATTR.httpTarget];
  return typeof raw === 'string' ? raw.split('?', 1)[0] : undefined;
}

/** The server span of each request `/route/<id>`, once every one of them has been exported. */
async function serverSpans(
  app: App,
  route: string,
  ids: readonly number[],
): Promise<Map<number, CapturedSpan>> {
  return eventually(async () => {
    const byId = new Map<number, CapturedSpan>();
    for (const span of app.spans()) {
      const match = span.kind === SERVER ? /^\/([a-z-]+)\/(\d+)$/.exec(path(span) ?? '') : null;
      if (match?.[1] === route && ids.includes(Number(match[2]))) byId.set(Number(match[2]), span);
    }
    if (byId.size !== ids.length) throw new Error(`${byId.size} of ${ids.length} server spans exported`);
    return byId;
  }, 20_000);
}

function queryText(span: CapturedSpan): string | undefined {
  const text = span.attributes[ATTR.dbQueryText] ?? span.attributes[LEGACY_ATTR.dbStatement];
  return typeof text === 'string' ? text : undefined;
}

/** The request a statement was issued by, from its `/* req=<i> step=<n> *\/` tag. */
function requestOf(span: CapturedSpan): number | undefined {
  const match = /req=(\d+) step=/.exec(queryText(span) ?? '');
  return match === null ? undefined : Number(match[1]);
}

/**
 * Waits until every request's tagged statements are exported, then counts the query spans that landed in
 * another trace than their request's, and the request traces whose number of query spans is off (which also
 * catches untagged statements such as BEGIN/COMMIT landing elsewhere).
 */
async function misattribution(
  app: App,
  route: string,
  ids: readonly number[],
  perRequest: number,
  tagged: number,
) {
  const servers = await serverSpans(app, route, ids);
  const traceOf = new Map([...servers].map(([id, span]) => [id, span.traceId]));
  const spans = await eventually(async () => {
    const all = app.spans().filter((s) => queryText(s) !== undefined);
    const mine = all.filter((s) => ids.includes(requestOf(s) ?? -1));
    if (mine.length < ids.length * tagged) throw new Error(`${mine.length} tagged query spans so far`);
    return all;
  }, 20_000);
  const misattributed = spans.filter((s) => {
    const id = requestOf(s);
    return id !== undefined && ids.includes(id) && s.traceId !== traceOf.get(id);
  }).length;
  const traces = new Set(traceOf.values());
  const perTrace = new Map<string, number>();
  for (const s of spans) {
    if (traces.has(s.traceId)) perTrace.set(s.traceId, (perTrace.get(s.traceId) ?? 0) + 1);
  }
  const offTraces = [...traces].filter((t) => (perTrace.get(t) ?? 0) !== perRequest).length;
  const mine = spans.filter((s) => ids.includes(requestOf(s) ?? -1));
  // The pool each query span names (the client it ran on was handed out by that pool).
  const pools = [...new Set(mine.map((s) => String(s.attributes[ATTR.dbClientConnectionPoolName])))];
  return { misattributed, offTraces, total: mine.length, pools };
}

function waitSpans(app: App, traces: ReadonlySet<string>): CapturedSpan[] {
  return app.spans().filter((s) => s.name === SPAN_NAMES.connectionWait && traces.has(s.traceId));
}

const ms = (ns: bigint) => Number(ns) / 1e6;

describe.each([
  ['pool-app.mjs', 'an ESM app importing pg-pool, pg and knex'],
  ['pool-app.cjs', 'a CommonJS app requiring them'],
])('%s (%s) under --import @hotpath/instrumentation/register', (file) => {
  let app: App;
  beforeAll(async () => {
    app = await startApp(file, '@hotpath/instrumentation/register');
    // Open both connections of each pool (and run knex's one-off version query) before measuring.
    await burst(app, 'pg', [1, 2]);
    await burst(app, 'pg-pool', [1, 2]);
    await burst(app, 'knex', [1, 2]);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('keeps every pg.Pool query span in its own request trace (20 concurrent requests, pool max 2)', async () => {
    const ids = range(1000, CONCURRENCY);
    await burst(app, 'pg', ids);
    const result = await misattribution(app, 'pg', ids, PG_STATEMENTS, PG_STATEMENTS);
    expect(result.pools).toEqual([poolName]);
    console.log(
      `[${file}] pg.Pool: ${result.misattributed} of ${result.total} query spans in another request's trace`,
    );
    expect(result).toMatchObject({ misattributed: 0, offTraces: 0, total: CONCURRENCY * PG_STATEMENTS });
  });

  it('keeps every query span of a pg-pool the app loaded itself in its own request trace', async () => {
    const ids = range(1500, CONCURRENCY);
    await burst(app, 'pg-pool', ids);
    const result = await misattribution(app, 'pg-pool', ids, PG_STATEMENTS, PG_STATEMENTS);
    expect(result).toEqual({
      misattributed: 0,
      offTraces: 0,
      total: CONCURRENCY * PG_STATEMENTS,
      pools: [poolName],
    });
  });

  it('keeps every knex query span in its own request trace (20 concurrent requests, pool max 2)', async () => {
    const ids = range(2000, CONCURRENCY);
    await burst(app, 'knex', ids);
    const result = await misattribution(app, 'knex', ids, KNEX_STATEMENTS, 5);
    console.log(
      `[${file}] knex: ${result.misattributed} of ${result.total} query spans in another request's trace`,
    );
    // knex's pool is not the pg.Pool on the same database: its spans and metrics name it apart.
    expect(result).toEqual({
      misattributed: 0,
      offTraces: 0,
      total: CONCURRENCY * 5,
      pools: [`${poolName} (knex)`],
    });
  });

  it.each([
    ['pg-sleep', 3000],
    ['knex-sleep', 4000],
  ])(
    '%s: under contention, wait spans are children of the request and add up to the queueing time',
    async (route, from) => {
      const ids = range(from, CONCURRENCY);
      const seconds = 0.1;
      const bodies = await burst(app, route, ids, `?s=${seconds}`);
      const servers = await serverSpans(app, route, ids);
      const traces = new Set([...servers.values()].map((s) => s.traceId));
      const queries = await eventually(async () => {
        const found = app.spans().filter((s) => ids.includes(requestOf(s) ?? -1));
        if (found.length < ids.length) throw new Error(`${found.length} query spans so far`);
        return new Map(found.map((s) => [s.traceId, s]));
      }, 20_000);
      const waits = waitSpans(app, traces);

      // The two idle connections serve the first two requests at once; every later one queues.
      expect(waits.length).toBeGreaterThanOrEqual(CONCURRENCY - 2);
      expect(waits.length).toBeLessThanOrEqual(CONCURRENCY);
      const gaps: number[] = [];
      for (const wait of waits) {
        const server = [...servers.values()].find((s) => s.traceId === wait.traceId);
        const query = queries.get(wait.traceId);
        expect(wait.kind).toBe(INTERNAL);
        expect(wait.parentSpanId).toBe(server?.spanId);
        expect(wait.attributes).toMatchObject({
          [ATTR.dbSystemName]: 'postgresql',
          [ATTR.dbClientConnectionPoolName]: route.startsWith('knex') ? `${poolName} (knex)` : poolName,
        });
        // The wait ends as the request gets its connection, right before its statement starts, not after it.
        // (The SDK anchors each span's start on Date.now(), so timestamps of different spans compare to about a
        // millisecond; and a busy 2-core runner can deschedule the app for a few ms between the two.)
        expect(query).toBeDefined();
        gaps.push(ms((query?.startNs ?? 0n) - wait.endNs));
      }
      console.log(
        `[${file}] ${route}: wait end → statement start ${Math.min(...gaps).toFixed(2)}…${Math.max(...gaps).toFixed(2)} ms`,
      );
      expect(Math.min(...gaps)).toBeGreaterThan(-2);
      expect(Math.max(...gaps)).toBeLessThan((seconds * 1000) / 2);

      // Queueing time measured independently: what each caller waited in all, minus its statement's own time.
      let queued = 0;
      for (const [id, server] of servers) {
        const query = queries.get(server.traceId);
        queued += Number(bodies.get(id)?.elapsedMs) - ms((query?.endNs ?? 0n) - (query?.startNs ?? 0n));
      }
      const waited = waits.reduce((sum, w) => sum + ms(w.endNs - w.startNs), 0);
      console.log(
        `[${file}] ${route}: ${waits.length} wait spans, ${waited.toFixed(0)} ms in all; callers queued ${queued.toFixed(0)} ms`,
      );
      expect(Math.abs(waited - queued)).toBeLessThan(0.1 * queued + 60);
      // Two connections, 20 callers of 100 ms each: the k-th caller waits about floor(k/2) × 100 ms, 9 s in all.
      expect(waited / 1000).toBeGreaterThan(0.6 * 90 * seconds);
      expect(waited / 1000).toBeLessThan(1.4 * 90 * seconds);
    },
  );

  it.each([
    ['pg-sleep', 5000],
    ['knex-sleep', 6000],
  ])('%s: sequential statements on a warm pool record no wait span', async (route, from) => {
    const ids = range(from, 10);
    await get(`${app.url}/${route}/${from - 1}?s=0.001`);
    for (const id of ids) await get(`${app.url}/${route}/${id}?s=0.001`);
    const servers = await serverSpans(app, route, ids);
    await eventually(async () => {
      const found = app.spans().filter((s) => ids.includes(requestOf(s) ?? -1));
      if (found.length < ids.length) throw new Error(`${found.length} query spans so far`);
    }, 20_000);
    expect(waitSpans(app, new Set([...servers.values()].map((s) => s.traceId)))).toEqual([]);
  });

  it.each([
    // A pg.Pool configured by connection string: named from the string (pg-pool-instrumentation.ts), as a pool
    // configured field by field is by instrumentation-pg, not `unknown_host:unknown_port/unknown_database`.
    ['pg-timeout', 8000, 'pg', 'Error'],
    ['knex-timeout', 8100, 'knex', 'KnexTimeoutError'],
  ])(
    '%s: a caller that times out waiting gets its own error, and its wait span records the failure',
    async (route, id, name, errorType) => {
      const body = await get(`${app.url}/${route}/${id}`);
      expect(body).toMatchObject({ held: 'fulfilled', starved: 'rejected' });
      expect(body.error).toMatch(/timeout/i);
      const server = (await serverSpans(app, route, [id])).get(id);
      const waits = await eventually(async () => {
        const found = waitSpans(app, new Set([server?.traceId ?? '']));
        if (found.length < 2) throw new Error(`${found.length} wait spans so far`);
        return found;
      }, 20_000);
      // The first caller found the pool empty (a connection had to open); the second queued behind it.
      const failed = waits.filter((w) => w.attributes[ATTR.errorType] !== undefined);
      expect(failed).toHaveLength(1);
      expect(failed[0]?.attributes).toMatchObject({
        [ATTR.errorType]: errorType,
        [ATTR.dbClientConnectionPoolName]: name === 'pg' ? tightPoolName : `${tightPoolName} (knex)`,
      });
      expect(ms((failed[0]?.endNs ?? 0n) - (failed[0]?.startNs ?? 0n))).toBeGreaterThanOrEqual(45);
      expect(waits.every((w) => w.parentSpanId === server?.spanId)).toBe(true);
    },
  );

  it('reports the knex pool on the Prometheus exporter under the catalogued names, read at collection time', async () => {
    const series = async () => {
      const text = await (await fetch(app.metricsUrl)).text();
      const value = (name: string, labels: Record<string, string>) => {
        const line = text
          .split('\n')
          .find(
            (l) =>
              l.startsWith(`${name}{`) &&
              l.includes('otel_scope_name="@hotpath/instrumentation/knex"') &&
              Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
          );
        return line === undefined ? undefined : Number(line.split(' ').at(-1));
      };
      const pool = { db_client_connection_pool_name: `${poolName} (knex)` };
      return {
        idle: value(pullName(METRICS.dbClientConnectionCount), {
          ...pool,
          db_client_connection_state: 'idle',
        }),
        used: value(pullName(METRICS.dbClientConnectionCount), {
          ...pool,
          db_client_connection_state: 'used',
        }),
        pending: value(pullName(METRICS.dbClientConnectionPendingRequests), pool),
        max: value(pullName(METRICS.dbClientConnectionMax), pool),
      };
    };

    const holding = burst(app, 'knex-sleep', range(7000, 6), '?s=1.5');
    try {
      // While six callers hold or queue for two connections: both used, four pending.
      await eventually(
        async () => expect(await series()).toEqual({ idle: 0, used: 2, pending: 4, max: 2 }),
        1_200,
        50,
      );
    } finally {
      await holding;
    }
    expect(await series()).toEqual({ idle: 2, used: 0, pending: 0, max: 2 });
  });

  it('reports each pg.Pool under its own name, read at collection time, and nothing from instrumentation-pg', async () => {
    await get(`${app.url}/pg-timeout/8200`); // the tight pool, built from a connection string, has connected
    const series = async () => {
      const lines = (await (await fetch(app.metricsUrl)).text()).split('\n');
      const value = (name: string, labels: Record<string, string>) => {
        const line = lines.find(
          (l) =>
            l.startsWith(`${name}{`) &&
            l.includes('otel_scope_name="@hotpath/instrumentation/pg-pool"') &&
            Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
        );
        return line === undefined ? undefined : Number(line.split(' ').at(-1));
      };
      const of = (pool: string) => ({
        used: value(pullName(METRICS.dbClientConnectionCount), {
          db_client_connection_pool_name: pool,
          db_client_connection_state: 'used',
        }),
        pending: value(pullName(METRICS.dbClientConnectionPendingRequests), {
          db_client_connection_pool_name: pool,
        }),
        max: value(pullName(METRICS.dbClientConnectionMax), { db_client_connection_pool_name: pool }),
      });
      const upstream = lines.filter(
        (l) =>
          /^db_client_connection_(count|max|pending_requests)/.test(l) &&
          l.includes('otel_scope_name="@opentelemetry/instrumentation-pg"'),
      );
      return { main: of(poolName), tight: of(tightPoolName), upstream };
    };

    // Six callers on the main pool (max 2): two hold, four wait; the tight pool's numbers must not move. With
    // instrumentation-pg's counters (one set of deltas for all pools), each pool's events were counted against
    // the other's last state.
    const holding = burst(app, 'pg-sleep', range(8300, 6), '?s=1.5');
    try {
      await eventually(
        async () =>
          expect(await series()).toMatchObject({
            main: { used: 2, pending: 4 },
            tight: { used: 0, pending: 0, max: 1 },
            upstream: [],
          }),
        1_200,
        50,
      );
    } finally {
      await holding;
    }
    expect(await series()).toMatchObject({ main: { used: 0, pending: 0 }, tight: { used: 0, max: 1 } });
  });
});

describe('control: the stock instrumentation-pg setup (connect spans off, nothing of Hotpath)', () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp('pool-app.mjs', join(TESTDATA, 'stock-register.mjs'));
    await burst(app, 'pg', [1, 2]);
    await burst(app, 'knex', [1, 2]);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('puts pg.Pool query spans in other requests traces, which the test above would catch', async () => {
    const ids = range(1000, CONCURRENCY);
    await burst(app, 'pg', ids);
    const result = await misattribution(app, 'pg', ids, PG_STATEMENTS, PG_STATEMENTS);
    console.log(
      `[stock] pg.Pool: ${result.misattributed} of ${result.total} query spans in another request's trace`,
    );
    expect(result.misattributed).toBeGreaterThan(0);
  });

  it('keeps knex query spans in their own traces even without help (tarn hands connections over by promise)', async () => {
    const ids = range(2000, CONCURRENCY);
    await burst(app, 'knex', ids);
    const result = await misattribution(app, 'knex', ids, KNEX_STATEMENTS, 5);
    console.log(
      `[stock] knex: ${result.misattributed} of ${result.total} query spans in another request's trace`,
    );
    expect(result).toMatchObject({ misattributed: 0, offTraces: 0 });
  });
});
