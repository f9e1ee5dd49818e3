/**
 * The knex wrapper on a stand-in Client class (real knex under real contention is in test/pool-context.test.ts):
 * pool names, when it records a wait span, how pools are summed into metrics, and that it never throws.
 */
import { type DiagLogger, DiagLogLevel, diag, SpanStatusCode } from '@opentelemetry/api';
import { type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KnexPoolInstrumentation, knexPoolName } from './knex-pool-instrumentation.ts';

/** tarn's counters as knex's `KnexPool` exposes them. */
class StandInTarn {
  readonly free: number;
  readonly used: number;
  readonly pending: number;
  readonly max: number;
  constructor(free: number, used = 0, pending = 0, max = 2) {
    this.free = free;
    this.used = used;
    this.pending = pending;
    this.max = max;
  }
  numFree() {
    return this.free;
  }
  numUsed() {
    return this.used;
  }
  numPendingAcquires() {
    return this.pending;
  }
}

/** knex's `Client` contract: `initializePool` sets `pool`, `acquireConnection` is async. */
class StandInClient {
  declare pool: unknown;
  declare readonly dialect: string;
  declare readonly driverName: string;
  readonly connectionSettings: unknown;
  readonly tarn: unknown;
  readonly outcome: 'connection' | 'timeout';
  constructor(connectionSettings: unknown, tarn: unknown, outcome: 'connection' | 'timeout' = 'connection') {
    this.connectionSettings = connectionSettings;
    this.tarn = tarn;
    this.outcome = outcome;
    this.initializePool();
  }
  initializePool() {
    this.pool = this.tarn;
  }
  async acquireConnection() {
    if (this.outcome === 'timeout')
      throw Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' });
    return 'connection';
  }
}

class StandInMysqlClient extends StandInClient {}
// On the prototype, as knex puts them (`Object.assign(Client_PG.prototype, …)`): known while the constructor runs.
Object.assign(StandInClient.prototype, { dialect: 'postgresql', driverName: 'pg' });
Object.assign(StandInMysqlClient.prototype, { dialect: 'mysql', driverName: 'mysql2' });

class Reader extends MetricReader {
  protected override async onShutdown() {}
  protected override async onForceFlush() {}
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const reader = new Reader();
const instrumentation = new KnexPoolInstrumentation();
instrumentation.setTracerProvider(tracerProvider);
instrumentation.setMeterProvider(new MeterProvider({ readers: [reader] }));
instrumentation.getModuleDefinitions()[0]?.files[0]?.patch(StandInClient);
afterAll(() => instrumentation.disable());

async function finished() {
  await tracerProvider.forceFlush();
  const spans = [...exporter.getFinishedSpans()];
  exporter.reset();
  return spans;
}

/** The observed points of `name` as `pool/state → value`. */
async function points(name: string): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  const out: Record<string, number> = {};
  for (const point of (metric?.dataPoints ?? []) as DataPoint<number>[]) {
    const key = [
      point.attributes['db.client.connection.pool.name'],
      point.attributes['db.client.connection.state'],
    ]
      .filter((part) => part !== undefined)
      .join('/');
    out[key] = point.value;
  }
  return out;
}

describe('knexPoolName', () => {
  it.each([
    ['postgres://app:secret@db.internal:6432/shop?sslmode=require', 'db.internal:6432/shop'],
    ['postgres://db.internal/shop', 'db.internal:unknown_port/shop'],
    [{ host: 'db', port: 5432, database: 'shop', user: 'app' }, 'db:5432/shop'],
    [{ connectionString: 'postgres://cs:1/from_string', host: 'db', database: 'shop' }, 'cs:1/from_string'],
    [{ host: 'db' }, 'db:unknown_port/unknown_database'],
    ['not a url', 'unknown_host:unknown_port/unknown_database'],
    [undefined, 'unknown_host:unknown_port/unknown_database'],
  ])('names %o %s', (settings, name) => {
    expect(knexPoolName(settings)).toBe(`${name} (knex)`);
  });
});

describe('KnexPoolInstrumentation', () => {
  afterEach(() => diag.disable());

  it('records a wait span only when tarn has no free connection', async () => {
    expect(await new StandInClient('postgres://db/a', new StandInTarn(1)).acquireConnection()).toBe(
      'connection',
    );
    expect(await finished()).toEqual([]);
    await new StandInClient('postgres://db/a', new StandInTarn(0)).acquireConnection();
    const [span, ...rest] = await finished();
    expect(rest).toEqual([]);
    expect(span?.name).toBe('db.client.connection.wait');
    expect(span?.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.client.connection.pool.name': 'db:unknown_port/a (knex)',
    });
  });

  it('leaves other dialects and external (non-tarn) pools alone', async () => {
    await new StandInMysqlClient('mysql://db/a', new StandInTarn(0)).acquireConnection();
    await new StandInClient('postgres://db/a', { acquire() {} }).acquireConnection();
    expect(await finished()).toEqual([]);
  });

  it('gives the app its own error when the acquire times out, and marks the wait span', async () => {
    await expect(
      new StandInClient('postgres://db/a', new StandInTarn(0), 'timeout').acquireConnection(),
    ).rejects.toThrow('Timeout acquiring a connection');
    const [span] = await finished();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe('KnexTimeoutError');
  });

  it('reports each pool by name at collection time, summing pools that share one', async () => {
    const keep = [
      new StandInClient('postgres://metrics:1/one', new StandInTarn(1, 1, 3, 2)),
      new StandInClient({ host: 'metrics', port: 1, database: 'one' }, new StandInTarn(2, 0, 0, 5)),
      new StandInClient('postgres://metrics:2/two', new StandInTarn(0, 4, 0, 4)),
    ];
    expect(await points('db.client.connection.count')).toMatchObject({
      'metrics:1/one (knex)/idle': 3,
      'metrics:1/one (knex)/used': 1,
      'metrics:2/two (knex)/idle': 0,
      'metrics:2/two (knex)/used': 4,
    });
    expect(await points('db.client.connection.pending_requests')).toMatchObject({
      'metrics:1/one (knex)': 3,
      'metrics:2/two (knex)': 0,
    });
    expect(await points('db.client.connection.max')).toMatchObject({
      'metrics:1/one (knex)': 7,
      'metrics:2/two (knex)': 4,
    });
    expect(keep).toHaveLength(3);
  });

  it('never throws into the app: a pool it cannot read still hands out connections, and a warning says why', async () => {
    const warnings: string[] = [];
    const record = (message: string) => {
      warnings.push(message);
    };
    const logger: DiagLogger = { error: record, warn: record, info: record, debug: record, verbose: record };
    diag.setLogger(logger, DiagLogLevel.WARN);
    const unreadable = Object.assign(new StandInTarn(0), {
      numFree(): number {
        throw new Error('unreadable');
      },
    });
    expect(await new StandInClient('postgres://db/a', unreadable).acquireConnection()).toBe('connection');
    expect(await points('db.client.connection.count')).toBeDefined();
    expect(warnings).toEqual([
      '@hotpath/instrumentation: knex acquire instrumentation failed (telemetry only; the app is unaffected)',
      '@hotpath/instrumentation: reading knex pool state failed (telemetry only; the app is unaffected)',
    ]);
  });
});
