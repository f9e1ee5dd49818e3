import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isWrapped } from '@opentelemetry/instrumentation';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { endWaitSpan, endWhenSettled, poolName, stack, startWaitSpan, unstack } from './pool-wait.ts';

const require = createRequire(import.meta.url);
/** instrumentation-pg's own naming function, to prove the names agree (not exported: found beside its entry). */
const { getPoolName } = require(
  join(dirname(require.resolve('@opentelemetry/instrumentation-pg')), 'utils.cjs'),
) as {
  getPoolName: (options: Record<string, unknown>) => string;
};

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return {
    tracer: provider.getTracer('test'),
    /** The simple processor exports asynchronously: flush before looking. */
    finished: async () => {
      await provider.forceFlush();
      return exporter.getFinishedSpans();
    },
  };
}

/** What shimmer's wrap does, as instrumentation-pg calls it: unwrap anything marked, then wrap and mark. */
function shimmerWrap(target: { connect: () => string[] }, tag: string): void {
  const current = target.connect as (() => string[]) & { __unwrap?: () => void };
  if (isWrapped(current)) current.__unwrap?.();
  const original = target.connect;
  const wrapped = Object.assign(() => [tag, ...original()], {
    __original: original,
    __wrapped: true,
    __unwrap: () => {
      target.connect = original;
    },
  });
  target.connect = wrapped;
}

const ours = (original: (...args: never[]) => unknown) => () => ['hotpath', ...(original() as string[])];

describe('poolName', () => {
  it.each<[Record<string, unknown>]>([
    [{ host: 'db', port: 5432, database: 'shop' }],
    [{ host: 'db', database: 'shop' }],
    [{ port: 5432 }],
    [{ host: '', port: 0, database: '' }],
    [{}],
  ])('names %o exactly as instrumentation-pg does', (options) => {
    expect(poolName(options.host, options.port, options.database)).toBe(getPoolName(options));
  });
});

describe('the wait span', () => {
  it('is an INTERNAL child of the given context with the system and pool name', async () => {
    const { finished, tracer } = tracing();
    const parent = tracer.startSpan('request');
    endWaitSpan(startWaitSpan(tracer, 'db:5432/shop', trace.setSpan(ROOT_CONTEXT, parent)), undefined);
    const [span] = await finished();
    expect(span?.name).toBe('db.client.connection.wait');
    expect(span?.kind).toBe(SpanKind.INTERNAL);
    expect(span?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span?.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.client.connection.pool.name': 'db:5432/shop',
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('has error status and error.type when the pool could not hand out a connection', async () => {
    const { finished, tracer } = tracing();
    const failing = Promise.reject(new TypeError('timeout exceeded when trying to connect'));
    endWhenSettled(startWaitSpan(tracer, 'p', ROOT_CONTEXT), failing);
    await expect(failing).rejects.toThrow('timeout exceeded');
    const [span] = await finished();
    expect(span?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'timeout exceeded when trying to connect',
    });
    expect(span?.attributes['error.type']).toBe('TypeError');
  });

  it('ends when a promise resolves and leaves the app its own promise', async () => {
    const { finished, tracer } = tracing();
    const client = Promise.resolve('client');
    endWhenSettled(startWaitSpan(tracer, 'p', ROOT_CONTEXT), client);
    expect(await client).toBe('client');
    expect(await finished()).toHaveLength(1);
  });
});

describe('stack', () => {
  it('survives instrumentation-pg patching after it (its unwrap only sees its own wrapper)', () => {
    const target = { connect: () => ['original'] };
    stack(target, 'connect', ours);
    shimmerWrap(target, 'pg');
    expect(target.connect()).toEqual(['pg', 'hotpath', 'original']);
  });

  it('stacks on top of instrumentation-pg when patching after it, without unwrapping it', () => {
    const target = { connect: () => ['original'] };
    shimmerWrap(target, 'pg');
    stack(target, 'connect', ours);
    expect(target.connect()).toEqual(['hotpath', 'pg', 'original']);
  });

  it('wraps once, even when a module reaches it through both loaders', () => {
    const target = { connect: () => ['original'] };
    stack(target, 'connect', ours);
    shimmerWrap(target, 'pg');
    stack(target, 'connect', ours);
    expect(target.connect()).toEqual(['pg', 'hotpath', 'original']);
  });

  it('unstacks only when it is the outermost wrapper', () => {
    const target = { connect: () => ['original'] };
    stack(target, 'connect', ours);
    unstack(target, 'connect');
    expect(target.connect()).toEqual(['original']);
    stack(target, 'connect', ours);
    shimmerWrap(target, 'pg');
    unstack(target, 'connect');
    expect(target.connect()).toEqual(['pg', 'hotpath', 'original']);
  });
});
