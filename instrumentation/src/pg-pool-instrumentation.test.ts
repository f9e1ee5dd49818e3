/**
 * The pg-pool wrapper on a stand-in Pool class (the real pool under real contention is in
 * test/pool-context.test.ts): when it records a wait span, and that it never throws into the app.
 */
import { type DiagLogger, DiagLogLevel, diag, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PgPoolInstrumentation } from './pg-pool-instrumentation.ts';

type Callback = (error: unknown, client?: unknown, release?: () => void) => void;

/** pg-pool's `connect` contract: callback or promise; `idleCount` and `options` as instrumentation-pg reads them. */
class StandInPool {
  readonly options = { host: 'db', port: 5432, database: 'shop' };
  readonly idle: number;
  readonly outcome: 'client' | 'error' | 'throw';
  constructor(idle: number, outcome: 'client' | 'error' | 'throw' = 'client') {
    this.idle = idle;
    this.outcome = outcome;
  }
  get idleCount(): number {
    return this.idle;
  }
  connect(callback?: Callback): Promise<unknown> | undefined {
    if (this.outcome === 'throw') throw new Error('pool is broken');
    const error = this.outcome === 'error' ? new Error('timeout exceeded when trying to connect') : undefined;
    if (callback === undefined)
      return error === undefined ? Promise.resolve('client') : Promise.reject(error);
    setImmediate(() => callback(error, error === undefined ? 'client' : undefined, () => {}));
    return undefined;
  }
}

/** A pool whose state cannot be read: the instrumentation's own work fails, the app's must not. */
class UnreadablePool extends StandInPool {
  override get idleCount(): number {
    throw new Error('unreadable');
  }
}

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const instrumentation = new PgPoolInstrumentation();
instrumentation.setTracerProvider(provider);
instrumentation.getModuleDefinitions()[0]?.patch?.(StandInPool);
afterAll(() => instrumentation.disable());

async function finished() {
  await provider.forceFlush();
  const spans = [...exporter.getFinishedSpans()];
  exporter.reset();
  return spans;
}

function connect(pool: StandInPool): Promise<{ error: unknown; client: unknown }> {
  return new Promise((resolve) => pool.connect((error, client) => resolve({ error, client })));
}

describe('PgPoolInstrumentation', () => {
  afterEach(() => diag.disable());

  it('records no wait span when an idle client is there', async () => {
    expect(await connect(new StandInPool(1))).toEqual({ error: undefined, client: 'client' });
    expect(await new StandInPool(1).connect()).toBe('client');
    expect(await finished()).toEqual([]);
  });

  it('records a wait span named after the pool when no idle client is there, callback or promise', async () => {
    await connect(new StandInPool(0));
    await new StandInPool(0).connect();
    const spans = await finished();
    expect(spans.map((s) => [s.name, s.attributes['db.client.connection.pool.name'], s.status.code])).toEqual(
      [
        ['db.client.connection.wait', 'db:5432/shop', SpanStatusCode.UNSET],
        ['db.client.connection.wait', 'db:5432/shop', SpanStatusCode.UNSET],
      ],
    );
  });

  it('gives the app its own error when the pool cannot hand out a client, and marks the wait span', async () => {
    const { error } = await connect(new StandInPool(0, 'error'));
    expect(error).toEqual(new Error('timeout exceeded when trying to connect'));
    await expect(new StandInPool(0, 'error').connect()).rejects.toThrow('timeout exceeded');
    const spans = await finished();
    expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR]);
    expect(() => new StandInPool(0, 'throw').connect()).toThrow('pool is broken');
    expect((await finished()).map((s) => s.attributes['error.type'])).toEqual(['Error']);
  });

  it('never throws into the app: a pool it cannot read still connects, and a warning says why', async () => {
    const warnings: string[] = [];
    const record = (message: string) => {
      warnings.push(message);
    };
    const logger: DiagLogger = { error: record, warn: record, info: record, debug: record, verbose: record };
    diag.setLogger(logger, DiagLogLevel.WARN);
    expect(await connect(new UnreadablePool(0))).toEqual({ error: undefined, client: 'client' });
    expect(await new UnreadablePool(0).connect()).toBe('client');
    expect(warnings).toEqual([
      '@hotpath/instrumentation: pg-pool connect instrumentation failed (telemetry only; the app is unaffected)',
      '@hotpath/instrumentation: pg-pool connect instrumentation failed (telemetry only; the app is unaffected)',
    ]);
  });
});
