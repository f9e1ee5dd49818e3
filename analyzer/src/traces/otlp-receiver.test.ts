import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { type HrTime, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedTraceSource, type EmbeddedTraceSourceOptions } from './embedded.ts';
import { dbQueryText, httpRoute, serviceJob } from './model.ts';
import { type OtlpReceiverOptions, otlpTracesRouter } from './otlp-receiver.ts';
import { BAD_REQUEST_TYPE_URL, decodeExportResponse, decodeRpcStatus } from './otlp-receiver-proto.ts';

// ---------------------------------------------------------------------------------------------------------------
// A receiver on a real port

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function startReceiver(
  options: Omit<OtlpReceiverOptions, 'source'> & EmbeddedTraceSourceOptions & { jsonFirst?: boolean } = {},
) {
  const source = new EmbeddedTraceSource(options);
  const app = express();
  /** `content-type content-encoding` of each request, to show what the exporters really sent. */
  const requests: string[] = [];
  app.use((req, _res, next) => {
    requests.push(`${req.headers['content-type']} ${req.headers['content-encoding'] ?? 'identity'}`);
    next();
  });
  // The analyzer's app parses JSON app-wide; one test mounts that parser first to show the receiver copes.
  if (options.jsonFirst === true) app.use(express.json({ limit: '64kb' }));
  app.use(otlpTracesRouter({ ...options, source }));
  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { source, url: `http://127.0.0.1:${port}/v1/traces`, requests };
}

function post(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers });
}

// ---------------------------------------------------------------------------------------------------------------
// Real spans from the real SDK

const RESOURCE = resourceFromAttributes({ 'service.name': 'shop', 'service.namespace': 'demo' });
const SCOPE = 'hotpath-receiver-test';
const SQL = 'SELECT * FROM order_items WHERE order_id = $1';

/**
 * One request of `GET /api/orders/:id` through `processor`: a 100 ms server span with six sequential 10 ms
 * queries under it, the fourth failing. Times are exact HrTimes near now, so durations come back exact.
 */
async function recordRequest(processor: SpanProcessor): Promise<{ traceId: string; serverSpanId: string }> {
  const provider = new TracerProvider({ resource: RESOURCE, spanProcessors: [processor] });
  const tracer = provider.getTracer(SCOPE, '1.0.0');
  const base = Math.floor(Date.now() / 1000) - 1;
  const at = (ms: number): HrTime => [base + Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
  const server = tracer.startSpan(
    'GET /api/orders/:id',
    {
      kind: SpanKind.SERVER,
      startTime: at(0),
      attributes: {
        'http.route': '/api/orders/:id',
        'http.request.method': 'GET',
        'http.response.status_code': 200,
      },
    },
    ROOT_CONTEXT,
  );
  const parent = trace.setSpan(ROOT_CONTEXT, server);
  for (let i = 0; i < 6; i++) {
    const start = 5 + i * 15;
    const query = tracer.startSpan(
      'SELECT shop.order_items',
      {
        kind: SpanKind.CLIENT,
        startTime: at(start),
        attributes: {
          'db.system.name': 'postgresql',
          'db.namespace': 'shop',
          'db.query.text': SQL,
          'db.response.returned_rows': i,
        },
      },
      parent,
    );
    if (i === 3)
      query.setStatus({ code: SpanStatusCode.ERROR, message: 'canceling statement due to timeout' });
    query.end(at(start + 10));
  }
  server.end(at(100));
  await provider.forceFlush();
  await provider.shutdown();
  const context = server.spanContext();
  return { traceId: context.traceId, serverSpanId: context.spanId };
}

async function expectRequestReceived(
  source: EmbeddedTraceSource,
  sent: { traceId: string; serverSpanId: string },
): Promise<void> {
  const received = await source.traceById(sent.traceId);
  expect(received?.spans).toHaveLength(7);
  const [server, ...queries] = received?.spans ?? [];
  expect(server).toMatchObject({
    spanId: sent.serverSpanId,
    name: 'GET /api/orders/:id',
    kind: 'server',
    service: 'shop',
    durationMs: 100,
    status: 'unset',
    scope: SCOPE,
    attributes: {
      'http.route': '/api/orders/:id',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
    },
  });
  expect(server?.parentSpanId).toBeUndefined();
  expect(server === undefined ? undefined : serviceJob(server)).toBe('demo/shop');
  expect(server === undefined ? undefined : httpRoute(server)).toBe('/api/orders/:id');
  expect(queries.map((q) => q.parentSpanId)).toEqual(Array(6).fill(sent.serverSpanId));
  expect(queries.map((q) => q.kind)).toEqual(Array(6).fill('client'));
  expect(queries.map((q) => q.durationMs)).toEqual(Array(6).fill(10));
  expect(queries.map((q) => q.attributes['db.response.returned_rows'])).toEqual([0, 1, 2, 3, 4, 5]);
  expect(queries.map(dbQueryText)).toEqual(Array(6).fill(SQL));
  expect(queries[3]).toMatchObject({ status: 'error', statusMessage: 'canceling statement due to timeout' });
  // Sequential queries: each starts exactly 5 ms after the previous one ended, to the nanosecond.
  const gaps = queries.slice(1).map((q, i) => q.startNs - (queries[i]?.endNs ?? 0n));
  expect(gaps).toEqual(Array(5).fill(5_000_000n));
  for (const s of received?.spans ?? []) {
    expect(s.resource).toMatchObject({ 'service.name': 'shop', 'service.namespace': 'demo' });
  }
}

/**
 * Spans recorded by the SDK into memory, for bodies the SDK's own serialisers build. (Not the SDK's
 * InMemorySpanExporter: it forgets its spans when the provider shuts down.)
 */
async function sdkSpans(): Promise<{ spans: ReadableSpan[]; traceId: string; serverSpanId: string }> {
  const spans: ReadableSpan[] = [];
  const memory: SpanExporter = {
    export: (batch, done) => {
      spans.push(...batch);
      done({ code: ExportResultCode.SUCCESS });
    },
    shutdown: async () => {},
  };
  const sent = await recordRequest(new SimpleSpanProcessor({ exporter: memory }));
  return { spans, ...sent };
}

/** Each exporter, and the `content-type content-encoding` it sends. */
const EXPORTERS: Readonly<Record<string, [(url: string) => SpanExporter, string]>> = {
  protobuf: [(url) => new ProtobufExporter({ url, keepAlive: false }), 'application/x-protobuf identity'],
  'protobuf, gzip': [
    (url) => new ProtobufExporter({ url, keepAlive: false, compression: CompressionAlgorithm.GZIP }),
    'application/x-protobuf gzip',
  ],
  json: [(url) => new HttpJsonExporter({ url, keepAlive: false }), 'application/json identity'],
  'json, gzip': [
    (url) => new HttpJsonExporter({ url, keepAlive: false, compression: CompressionAlgorithm.GZIP }),
    'application/json gzip',
  ],
};

describe('OTLP/HTTP receiver: spans from the OpenTelemetry SDK exporters', () => {
  for (const [name, [exporterFor, sends]] of Object.entries(EXPORTERS)) {
    it(`stores a request's trace sent span by span (${name}): parents, kinds, attributes, durations, service`, async () => {
      const { source, url, requests } = await startReceiver();
      const exporter = exporterFor(url);

      // SimpleSpanProcessor exports each span as it ends: seven requests that the source merges into one trace.
      const sent = await recordRequest(new SimpleSpanProcessor({ exporter }));

      expect(requests).toEqual(Array(7).fill(sends));
      await expectRequestReceived(source, sent);
      expect(source.stats()).toMatchObject({ traces: 1, spans: 7, rejectedBatches: 0 });
    });
  }

  it('stores a batch from the BatchSpanProcessor and finds it as a slow trace of its route', async () => {
    const { source, url } = await startReceiver();
    const exporter = new ProtobufExporter({ url, keepAlive: false });

    const sent = await recordRequest(new BatchSpanProcessor({ exporter }));

    await expectRequestReceived(source, sent);
    const [summary, ...rest] = await source.searchSlowTraces({
      service: 'demo/shop',
      route: '/api/orders/:id',
      method: 'GET',
      minDurationMs: 50,
    });
    expect(rest).toEqual([]);
    expect(summary).toMatchObject({
      traceId: sent.traceId,
      rootService: 'shop',
      rootName: 'GET /api/orders/:id',
      durationMs: 100,
      matchedSpans: [{ spanId: sent.serverSpanId, durationMs: 100 }],
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The protocol, request by request

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

/** An OTLP JSON body of `count` spans, each a trace of its own unless `traceId` is given. */
function jsonBody(count: number, options: { traceId?: string; from?: number } = {}): string {
  const from = options.from ?? 1;
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans = Array.from({ length: count }, (_, i) => ({
    traceId: options.traceId ?? (from + i).toString(16).padStart(32, '0'),
    spanId: (from + i).toString(16).padStart(16, '0'),
    name: 'GET /',
    kind: 2,
    startTimeUnixNano: String(now),
    endTimeUnixNano: String(now + 1_000_000n),
  }));
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
        scopeSpans: [{ scope: { name: 'test' }, spans }],
      },
    ],
  });
}

/** Minimal protobuf writing for bodies the SDK would never send. */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}
function lengthDelimited(field: number, bytes: readonly number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

describe('OTLP/HTTP receiver: responses', () => {
  it('answers a protobuf request with an empty protobuf ExportTraceServiceResponse', async () => {
    const { source, url } = await startReceiver();
    const { spans, traceId } = await sdkSpans();

    const response = await post(url, ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array, PROTOBUF);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await response.arrayBuffer()).byteLength).toBe(0);
    expect((await source.traceById(traceId))?.spans).toHaveLength(7);
  });

  it('answers a JSON request with {}', async () => {
    const { url } = await startReceiver();
    const { spans } = await sdkSpans();

    const response = await post(url, JsonTraceSerializer.serializeRequest(spans) as Uint8Array, JSON_TYPE);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({});
  });

  it('accepts a gzip body it was told about with Content-Encoding', async () => {
    const { source, url } = await startReceiver();

    const response = await post(url, gzipSync(jsonBody(3)), { ...JSON_TYPE, 'content-encoding': 'gzip' });

    expect(response.status).toBe(200);
    expect(source.stats()).toMatchObject({ traces: 3, spans: 3 });
  });

  it('treats an empty protobuf body as an empty request: a success', async () => {
    const { source, url } = await startReceiver();

    const response = await post(url, new Uint8Array(0), PROTOBUF);

    expect(response.status).toBe(200);
    expect(source.stats()).toMatchObject({ traces: 0, rejectedBatches: 0 });
  });

  it('reports spans the window refused as a partial success, in either encoding', async () => {
    const { source, url } = await startReceiver({ maxSpans: 3 });
    const traceId = 'ab'.repeat(16);

    const json = await post(url, jsonBody(5, { traceId }), JSON_TYPE);
    const protobuf = await post(
      url,
      ProtobufTraceSerializer.serializeRequest((await sdkSpans()).spans) as Uint8Array,
      PROTOBUF,
    );

    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({
      partialSuccess: { rejectedSpans: '2', errorMessage: expect.stringContaining('window of 3 spans') },
    });
    expect(protobuf.status).toBe(200);
    expect(decodeExportResponse(new Uint8Array(await protobuf.arrayBuffer()))).toEqual({
      partialSuccess: { rejectedSpans: '4', errorMessage: expect.stringContaining('window of 3 spans') },
    });
    expect(source.stats()).toMatchObject({ traces: 1, spans: 3, droppedTraces: 1, rejectedBatches: 0 });
  });

  it('accepts OTLP JSON that an app-wide express.json() parsed before it', async () => {
    const { source, url } = await startReceiver({ jsonFirst: true });

    const response = await post(url, jsonBody(2), JSON_TYPE);

    expect(response.status).toBe(200);
    expect(source.stats()).toMatchObject({ traces: 2 });
  });
});

describe('OTLP/HTTP receiver: refused requests', () => {
  it('answers 400 with a protobuf Status for bytes that are not an ExportTraceServiceRequest', async () => {
    const { source, url } = await startReceiver();
    // Field 1 (resource_spans), length-delimited, claiming 2^28 bytes that are not there.
    const truncated = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x7f, 0x01]);

    const response = await post(url, truncated, PROTOBUF);

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    const status = decodeRpcStatus(new Uint8Array(await response.arrayBuffer()));
    expect(status.code).toBe(3);
    expect(status.message).toContain('cannot decode as a protobuf ExportTraceServiceRequest');
    expect(status.message).not.toMatch(/\n\s+at /);
    expect(source.stats()).toMatchObject({ traces: 0, rejectedBatches: 1 });
  });

  it('names the field of a protobuf span with an invalid id', async () => {
    const { url } = await startReceiver();
    const span = [
      ...lengthDelimited(1, [1, 2, 3]), // trace_id: 3 bytes, not 16
      ...lengthDelimited(2, [1, 2, 3, 4, 5, 6, 7, 8]),
    ];
    const body = lengthDelimited(1, lengthDelimited(2, lengthDelimited(2, span)));

    const response = await post(url, new Uint8Array(body), PROTOBUF);

    expect(response.status).toBe(400);
    const status = decodeRpcStatus(new Uint8Array(await response.arrayBuffer()));
    expect(status.violations).toEqual([
      {
        field: 'resourceSpans[0].scopeSpans[0].spans[0].traceId',
        description: expect.stringContaining('"010203" is neither 32 hex characters'),
      },
    ]);
  });

  it('answers 400 with a JSON Status for a body that is not JSON', async () => {
    const { source, url } = await startReceiver();

    const response = await post(url, '{"resourceSpans": [', JSON_TYPE);

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { code: number; message: string };
    expect(body.code).toBe(3);
    expect(body.message).toMatch(/^the body is not valid JSON: /);
    expect(source.stats().rejectedBatches).toBe(1);
  });

  it('answers 400 naming the path of every problem in OTLP JSON of the wrong shape', async () => {
    const { source, url } = await startReceiver();
    const body = JSON.parse(jsonBody(2)) as {
      resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
    };
    const spans = body.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    (spans[0] as Record<string, unknown>).traceId = 'not-a-trace-id';
    (spans[1] as Record<string, unknown>).kind = 'SERVER';

    const response = await post(url, JSON.stringify(body), JSON_TYPE);

    expect(response.status).toBe(400);
    const status = (await response.json()) as {
      message: string;
      details: { '@type': string; fieldViolations: { field: string; description: string }[] }[];
    };
    expect(status.details[0]?.['@type']).toBe(BAD_REQUEST_TYPE_URL);
    expect(status.details[0]?.fieldViolations.map((v) => v.field)).toEqual([
      'resourceSpans[0].scopeSpans[0].spans[0].traceId',
      'resourceSpans[0].scopeSpans[0].spans[1].kind',
    ]);
    expect(status.message).toContain(
      'resourceSpans[0].scopeSpans[0].spans[0].traceId: traceId "not-a-trace-id"',
    );
    // All or nothing: the valid span of a refused request is not kept either.
    expect(source.stats()).toMatchObject({ traces: 0, rejectedBatches: 1 });
  });

  it('answers 400, not 500, for attribute values nested deep enough to exhaust the stack', async () => {
    const { url } = await startReceiver();
    const depth = 100_000;
    const value = `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"x"}${']}}'.repeat(depth)}`;
    const body = jsonBody(1).replace(
      '"name":"GET /"',
      `"name":"GET /","attributes":[{"key":"k","value":${value}}]`,
    );

    const response = await post(url, body, JSON_TYPE);

    expect(response.status).toBe(400);
    const m = ((await response.json()) as { message: string }).message;
    console.log('MSG', m.slice(0, 300));
    expect(m).not.toMatch(/\n\s+at /);
  });

  it('answers 400 for a gzip body that does not inflate', async () => {
    const { url } = await startReceiver();

    const response = await post(url, jsonBody(1), { ...JSON_TYPE, 'content-encoding': 'gzip' });

    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/^the body cannot be read/);
  });

  it('answers 415 for a content type other than protobuf or JSON, and for an unknown content encoding', async () => {
    const { source, url } = await startReceiver();

    const text = await post(url, 'hello', { 'content-type': 'text/plain' });
    const snappy = await post(url, jsonBody(1), { ...JSON_TYPE, 'content-encoding': 'snappy' });
    const latin1 = await post(url, jsonBody(1), { 'content-type': 'application/json; charset=latin1' });

    expect([text.status, snappy.status, latin1.status]).toEqual([415, 415, 415]);
    expect(((await text.json()) as { message: string }).message).toContain(
      'send application/x-protobuf or application/json',
    );
    expect(source.stats()).toMatchObject({ traces: 0, rejectedBatches: 3 });
  });

  it('answers 413 for a body over the limit, counted after decompression', async () => {
    const { source, url } = await startReceiver({ maxBodyBytes: 1024 });
    // 1 MiB of spaces inflates from about a kilobyte of gzip: refused by what it becomes, not what was sent.
    const bomb = gzipSync(Buffer.alloc(1024 * 1024, ' '));

    const plain = await post(url, jsonBody(20), JSON_TYPE);
    const inflated = await post(url, bomb, { ...PROTOBUF, 'content-encoding': 'gzip' });

    expect(bomb.length).toBeLessThan(1024 * 2);
    expect([plain.status, inflated.status]).toEqual([413, 413]);
    expect(((await plain.json()) as { message: string }).message).toContain('larger than 1024 bytes');
    expect(decodeRpcStatus(new Uint8Array(await inflated.arrayBuffer())).message).toContain(
      'larger than 1024',
    );
    expect(source.stats()).toMatchObject({ traces: 0, rejectedBatches: 2 });
  });

  it('answers 405 to other methods on /v1/traces', async () => {
    const { url } = await startReceiver();

    const response = await fetch(url);

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('OTLP/HTTP receiver: a flood', () => {
  it('keeps the window within its bounds and counts the traces it dropped', async () => {
    const { source, url } = await startReceiver({ maxTraces: 50, maxSpans: 400 });

    for (let batch = 0; batch < 40; batch++) {
      const response = await post(url, jsonBody(25, { from: batch * 25 + 1 }), JSON_TYPE);
      expect(response.status).toBe(200);
      const stats = source.stats();
      expect(stats.traces).toBeLessThanOrEqual(50);
      expect(stats.spans).toBeLessThanOrEqual(400);
    }

    expect(source.stats()).toMatchObject({ traces: 50, spans: 50, droppedTraces: 950, droppedSpans: 950 });
  });
});
