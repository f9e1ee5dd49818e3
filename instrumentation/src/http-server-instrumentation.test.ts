/**
 * The inbound HTTP instrumentation on a real `node:http` server in this process: the span and the duration
 * metric it records, the context a handler runs in (after `await`, and inside a request body's `end` listener as
 * a body parser calls it), the route template a framework writes into the RPC metadata (instrumentation-express's
 * contract), 5xx, a client that goes away, and ignored requests. Under Express, end to end, the same is covered
 * by test/pool-context.test.ts and the register tests.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { getRPCMetadata, isTracingSuppressed, W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpServerInstrumentation } from './http-server-instrumentation.ts';
import { ATTR, METRICS } from './semconv.ts';

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const reader = new TestReader();
const meterProvider = new MeterProvider({ readers: [reader] });
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const instrumentation = new HttpServerInstrumentation({
  ignore: (request) => request.url === '/healthz',
  startAttributes: (request) => (request.headers['x-test'] === undefined ? {} : { 'test.marker': true }),
});
instrumentation.setTracerProvider(tracerProvider);
instrumentation.setMeterProvider(meterProvider);

/** What the handler saw: the active span's id (or none) after an await and in the body's `end` listener. */
const seen: { afterAwait?: string | undefined; inEnd?: string | undefined; suppressedInEnd?: boolean } = {};

async function handler(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const route = request.url?.split('?')[0];
  if (route?.startsWith('/items/')) {
    // What instrumentation-express does once the router matched.
    const rpc = getRPCMetadata(context.active());
    if (rpc !== undefined) rpc.route = '/items/:id';
  }
  if (route === '/fail') {
    response.writeHead(503).end();
    return;
  }
  if (route === '/hang') return; // never answers: the client gives up
  await new Promise((r) => setTimeout(r, 1));
  seen.afterAwait = trace.getActiveSpan()?.spanContext().spanId;
  // As body-parser reads a body: the handler runs in the request's `end` listener.
  request.on('data', () => {});
  request.on('end', () => {
    seen.inEnd = trace.getActiveSpan()?.spanContext().spanId;
    seen.suppressedInEnd = isTracingSuppressed(context.active());
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
}

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  instrumentation.disable();
  contextManager.disable();
});
afterEach(() => {
  exporter.reset();
  delete seen.afterAwait;
  delete seen.inEnd;
  delete seen.suppressedInEnd;
});

async function spans(count: number) {
  for (let i = 0; i < 100 && exporter.getFinishedSpans().length < count; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return [...exporter.getFinishedSpans()];
}

async function durationPoints() {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === METRICS.httpServerRequestDuration.name);
  return (metric?.dataPoints ?? []) as { attributes: Record<string, unknown>; value: { count: number } }[];
}

describe('HttpServerInstrumentation', () => {
  it('records a server span under the propagated parent, with the route, and the handler runs in it', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    // The body arrives 30 ms after the headers, in a later read of the socket, as a slow client sends it: its
    // `end` event comes from the socket's callback, not from anything the handler started.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(
        `${base}/items/7?q=secret`,
        {
          method: 'POST',
          headers: {
            traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
            'user-agent': 'k6/1.0',
            'x-test': '1',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        },
      );
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => req.end('{"a":1}'), 30);
    });
    expect(status).toBe(200);
    const [span] = await spans(1);
    expect(span?.name).toBe('POST /items/:id');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.spanContext().traceId).toBe(traceId);
    expect(span?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(span?.attributes).toMatchObject({
      [ATTR.httpRequestMethod]: 'POST',
      [ATTR.httpRoute]: '/items/:id',
      [ATTR.httpResponseStatusCode]: 200,
      [ATTR.urlPath]: '/items/7',
      [ATTR.urlScheme]: 'http',
      [ATTR.serverAddress]: '127.0.0.1',
      [ATTR.userAgentOriginal]: 'k6/1.0',
      'test.marker': true,
    });
    // The query string can carry secrets and no detector reads it.
    expect(JSON.stringify(span?.attributes)).not.toContain('secret');
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(seen.afterAwait).toBe(span?.spanContext().spanId);
    expect(seen.inEnd).toBe(span?.spanContext().spanId);
    const point = (await durationPoints()).find((p) => p.attributes[ATTR.httpRoute] === '/items/:id');
    expect(point?.attributes).toEqual({
      [ATTR.httpRequestMethod]: 'POST',
      [ATTR.urlScheme]: 'http',
      [ATTR.networkProtocolVersion]: '1.1',
      [ATTR.httpRoute]: '/items/:id',
      [ATTR.httpResponseStatusCode]: 200,
    });
    expect(point?.value.count).toBe(1);
  });

  it('marks a 5xx as an error on the span and the metric', async () => {
    expect((await fetch(`${base}/fail`)).status).toBe(503);
    const [span] = await spans(1);
    expect(span?.name).toBe('GET');
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes[ATTR.errorType]).toBe('503');
    const point = (await durationPoints()).find((p) => p.attributes[ATTR.httpResponseStatusCode] === 503);
    expect(point?.attributes[ATTR.errorType]).toBe('503');
  });

  it('ends the span of a request whose client went away', async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${base}/hang`);
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    const [span] = await spans(1);
    expect(span?.attributes[ATTR.urlPath]).toBe('/hang');
  });

  it('records nothing for an ignored request, and its handler runs with tracing suppressed', async () => {
    expect((await fetch(`${base}/healthz`, { method: 'POST', body: 'x' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(seen.inEnd).toBeUndefined();
    // The handler ran (its `end` listener did), in a context where nothing it calls records a span.
    expect(seen.suppressedInEnd).toBe(true);
  });

  it('names a method the conventions do not know _OTHER, keeping the original', async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${base}/items/1`, { method: 'PURGE' }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.end();
    });
    const [span] = await spans(1);
    expect(span?.attributes[ATTR.httpRequestMethod]).toBe('_OTHER');
    expect(span?.attributes[ATTR.httpRequestMethodOriginal]).toBe('PURGE');
    expect(span?.name).toBe('HTTP /items/:id');
  });

  it.each([
    [
      { host: 'api.example.com', 'x-forwarded-for': '203.0.113.1:4711, 10.0.0.1' },
      'api.example.com',
      80,
      '203.0.113.1',
    ],
    [
      { host: '[2001:db8::2]:8443', forwarded: 'for="[2001:db8::1]:4711";proto=https' },
      '2001:db8::2',
      8443,
      '2001:db8::1',
    ],
    [{ host: 'shop.test:8080', 'x-forwarded-for': '2001:db8::7' }, 'shop.test', 8080, '2001:db8::7'],
  ])('reads server and client from %j', async (headers, address, port, client) => {
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${base}/items/2`, { headers }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.end();
    });
    const [span] = await spans(1);
    expect(span?.attributes).toMatchObject({
      [ATTR.serverAddress]: address,
      [ATTR.serverPort]: port,
      [ATTR.clientAddress]: client,
    });
  });
});
