// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { UpstreamError, UsageError } from '../errors.ts';
import {
  buildSpanTree,
  dbQueryText,
  dbSystem,
  httpMethod,
  httpRoute,
  httpStatusCode,
  isDbSpan,
  isHttpClientSpan,
  type Span,
  serviceJob,
  type Trace,
} from './model.ts';
import { TraceFormatError } from './otlp-json.ts';
import {
  exemplarTraceIds,
  parseExemplars,
  parseSearchResponse,
  parseTraceResponse,
  slowTracesTraceQl,
  TempoClient,
} from './tempo.ts';
import { FIXTURES, fixture, fixtureText } from './testdata.ts';

const JAVA_TRACE = '077bd30f2f8154b5948dc04724f89ff5';
const DOCS_TRACE = '5b8efff798038103d269b633813fc700';
const FAILED_TRACE = 'e8b6dff9f8d44b28f1b22bc3bd2f6768';
const DB_NAME_TRACE = '4290b5877a9930de79bb428365398ecc';

function must(trace: Trace | null): Trace {
  expect(trace).not.toBeNull();
  return trace as Trace;
}

function byId(trace: Trace, spanId: string): Span {
  const span = trace.spans.find((s) => s.spanId === spanId);
  expect(span, `span ${spanId}`).toBeDefined();
  return span as Span;
}

describe('parsing Tempo responses (every fixture in ../shared/fixtures/tempo)', () => {
  it('reads the v1 trace of the Java app: base64 ids as hex, the GET /stock server span and its children', () => {
    const trace = must(parseTraceResponse(fixture(FIXTURES.v1Java)));

    expect(trace.traceId).toBe(JAVA_TRACE);
    expect(trace.spans).toHaveLength(3);
    const stock = byId(trace, '3fb4dd6f07c798b7');
    expect(stock).toMatchObject({
      name: 'GET /stock',
      kind: 'server',
      service: 'app',
      status: 'unset',
      startNs: 1693573635765422206n,
      endNs: 1693573635766725356n,
      scope: 'io.opentelemetry.tomcat-10.0',
    });
    expect(stock.parentSpanId).toBeUndefined();
    expect(stock.durationMs).toBeCloseTo(1.30315, 9);
    expect(httpRoute(stock)).toBe('/stock');
    expect(httpMethod(stock)).toBe('GET');
    expect(httpStatusCode(stock)).toBe(200);
    expect(stock.attributes['server.port']).toBe(8080);
    expect(stock.resource['process.command_args']).toEqual([
      '/opt/java/openjdk/bin/java',
      '-javaagent:grafana-opentelemetry-java.jar',
      '-jar',
      '/app.jar',
    ]);
    expect(serviceJob(stock)).toBe('shop/app');

    const controller = byId(trace, 'daa211b4824b3a16');
    const publish = byId(trace, 'ca6bbfebe9a763b0');
    expect(controller).toMatchObject({ kind: 'internal', parentSpanId: stock.spanId });
    expect(publish).toMatchObject({
      kind: 'producer',
      parentSpanId: controller.spanId,
      name: 'kafkaTopic publish',
    });
    expect(publish.attributes['messaging.kafka.message.offset']).toBe(34);
    const tree = buildSpanTree(trace.spans);
    expect(tree.roots).toEqual([stock]);
    expect(tree.children(stock)).toEqual([controller]);
    expect(tree.children(controller)).toEqual([publish]);
  });

  it('reads the v2 trace of the docs: ids, the 698 s span, an unset status from "status": {}', () => {
    const trace = must(parseTraceResponse(fixture(FIXTURES.v2Docs)));

    expect(trace.traceId).toBe(DOCS_TRACE);
    expect(trace.spans).toEqual([
      {
        traceId: DOCS_TRACE,
        spanId: 'eee19b7ec3c1b100',
        name: 'I am a span!',
        kind: 'server',
        service: 'my.service',
        startNs: 1689969302000000000n,
        endNs: 1689970000000000000n,
        durationMs: 698_000,
        status: 'unset',
        attributes: { 'my.span.attr': 'some value' },
        resource: { 'service.name': 'my.service' },
        scope: 'my.library',
      },
    ]);
  });

  it('reads the failed Express + pg trace: the 500 server span, the failing INSERT and its status message', () => {
    // The fixture is a trace body, the object a v2 response carries under `trace`.
    const trace = must(parseTraceResponse({ trace: fixture(FIXTURES.failed) }));

    expect(trace.traceId).toBe(FAILED_TRACE);
    expect(trace.spans).toHaveLength(15);
    expect(trace.spans.every((s) => /^[0-9a-f]{16}$/.test(s.spanId))).toBe(true);
    const requester = byId(trace, '9007fea484554ad7');
    expect(requester).toMatchObject({ kind: 'client', service: 'mythical-requester', status: 'error' });
    expect(requester.parentSpanId).toBeUndefined();
    expect(requester.attributes).toEqual({ beast: 'illithid' });

    const endpoint = byId(trace, '2898383ecfa1a421');
    expect(endpoint).toMatchObject({
      name: 'POST /:endpoint',
      kind: 'server',
      service: 'mythical-server',
      parentSpanId: requester.spanId,
      status: 'error',
    });
    expect(endpoint.durationMs).toBeCloseTo(7.309568, 9);
    expect(httpRoute(endpoint)).toBe('/:endpoint');
    expect(httpMethod(endpoint)).toBe('POST'); // http.method, the pre-stable name
    expect(httpStatusCode(endpoint)).toBe(500); // http.status_code
    expect(endpoint.statusMessage).toBeUndefined();

    const insert = byId(trace, 'c1ae6cea39a8fc4b');
    expect(insert).toMatchObject({
      name: 'pg.query:INSERT',
      kind: 'client',
      parentSpanId: endpoint.spanId,
      status: 'error',
      statusMessage: 'null value in column "name" of relation "illithid" violates not-null constraint',
      scope: '@opentelemetry/instrumentation-pg',
    });
    expect(insert.durationMs).toBeCloseTo(2.778624, 9);
    expect(dbSystem(insert)).toBe('postgresql'); // db.system
    expect(dbQueryText(insert)).toBe('INSERT INTO illithid(name) VALUES ($1)'); // db.statement
    expect(isDbSpan(insert)).toBe(true);
    expect(isHttpClientSpan(insert)).toBe(false);

    const loki = byId(trace, '3a4bd5846b744cd1');
    expect(loki).toMatchObject({ name: 'HTTP POST', status: 'ok' });
    expect(isHttpClientSpan(loki)).toBe(true);
    expect(httpStatusCode(loki)).toBe(204);
    expect(isHttpClientSpan(byId(trace, '729dd9b3c3bde739'))).toBe(false); // dns.lookup: a client span, not HTTP
    expect(
      buildSpanTree(trace.spans)
        .children(endpoint)
        .map((s) => s.name),
    ).toEqual([
      'middleware - query',
      'middleware - expressInit',
      'middleware - jsonParser',
      'request handler - /:endpoint',
      'pg.query:INSERT',
      'HTTP POST',
    ]);
  });

  it('reads the db.system.name variant: the stable DB system name next to the legacy statement', () => {
    const trace = must(
      parseTraceResponse({
        resourceSpans: (fixture(FIXTURES.dbSystemName) as { resourceSpans: unknown }).resourceSpans,
      }),
    );

    expect(trace.traceId).toBe(DB_NAME_TRACE);
    expect(trace.spans).toHaveLength(19);
    const select = byId(trace, '253e212fe234216c');
    expect(select.attributes['db.system.name']).toBe('postgresql');
    expect(select.attributes['db.system']).toBeUndefined();
    expect(dbSystem(select)).toBe('postgresql');
    expect(dbQueryText(select)).toBe('SELECT name from manticore');
    expect(select).toMatchObject({ parentSpanId: '9992968897f3c846', status: 'unset', kind: 'client' });
    expect(select.durationMs).toBeCloseTo(23.781376, 9);
    const endpoint = byId(trace, '9992968897f3c846');
    expect(httpRoute(endpoint)).toBe('/:endpoint');
    expect(httpMethod(endpoint)).toBe('GET');
    expect(endpoint.status).toBe('ok');
    const consumer = byId(trace, 'a8c3fb56334620af');
    expect(consumer).toMatchObject({
      kind: 'consumer',
      service: 'mythical-recorder',
      parentSpanId: '09bc8187c967f4b4',
    });
    expect(byId(trace, '09bc8187c967f4b4').kind).toBe('producer');
  });

  it('reads a TraceQL search: hex trace id, duration, start and the matched span of spanSets', () => {
    expect(parseSearchResponse(fixture(FIXTURES.searchTraceQl))).toEqual([
      {
        traceId: DOCS_TRACE,
        rootService: 'my.service',
        rootName: 'I am a span!',
        startNs: 1694718625557000000n,
        durationMs: 10_000,
        matchedSpans: [{ spanId: 'eee19b7ec3c1b100', durationMs: 10_000 }],
      },
    ]);
  });

  it('reads a tag search and left-pads the trace ids Tempo stripped of leading zeros', () => {
    const found = parseSearchResponse(fixture(FIXTURES.searchTags));

    expect(found.map((t) => t.traceId)).toEqual([
      '0000000000000000d6e9329d67b6146a',
      '00000000000000001b1ba462b409200d',
    ]);
    expect(found[0]).toMatchObject({
      rootService: 'frontend',
      rootName: '/cart',
      startNs: 1634727903545000000n,
      durationMs: 611,
      matchedSpans: [],
    });
  });

  it('says what is wrong with a body that is not a trace, with the JSON path, not a stack trace', () => {
    const bad = { batches: [{ scopeSpans: [{ spans: [{ traceId: 'xyz', spanId: 'P7TdbwfHmLc=' }] }] }] };

    const error = (() => {
      try {
        parseTraceResponse(bad);
      } catch (e) {
        return e;
      }
    })();

    expect(error).toBeInstanceOf(TraceFormatError);
    const problems = (error as TraceFormatError).problems;
    expect(problems).toContain(
      'batches[0].scopeSpans[0].spans[0].traceId: traceId "xyz" is neither 32 hex characters nor base64 of 16 bytes',
    );
    expect(problems.some((p) => p.startsWith('batches[0].scopeSpans[0].spans[0].startTimeUnixNano:'))).toBe(
      true,
    );
    expect(() => parseTraceResponse('<html>')).toThrow(/expected an object with "resourceSpans"/);
  });

  it('treats a v2 answer without a trace as no trace', () => {
    expect(parseTraceResponse({ status: 'PARTIAL', message: 'still searching' })).toBeNull();
    expect(parseTraceResponse({ trace: {} })).toBeNull();
  });
});

describe('parseExemplars', () => {
  it('keeps hex trace ids, padded and lower-cased, one per trace with its highest value, highest first', () => {
    const body = JSON.parse(
      readFileSync(new URL('./testdata/prometheus-query-exemplars.json', import.meta.url), 'utf8'),
    ) as unknown;

    const exemplars = parseExemplars(body);

    expect(exemplars.map((e) => [e.traceId, e.value])).toEqual([
      ['0000000000000000d6e9329d67b6146a', 0.87],
      ['4bf92f3577b34da6a3ce929d0e0e4736', 0.412],
    ]);
    expect(exemplars[1]).toMatchObject({ spanId: '00f067aa0ba902b7', at: new Date(1735732800123) });
    expect(exemplars[1]?.seriesLabels.http_route).toBe('/api/orders/:id');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// HTTP: a real server on port 0 that answers like Tempo, from the fixtures

interface FakeTempo {
  readonly url: string;
  readonly requests: URL[];
  /** Answer the next `n` requests with this status. */
  fail(n: number, status?: number): void;
  hang(): void;
  close(): Promise<void>;
}

async function startFakeTempo(): Promise<FakeTempo> {
  const requests: URL[] = [];
  let failures = 0;
  let failStatus = 500;
  let hanging = false;
  const v2: Record<string, string> = {
    [DOCS_TRACE]: fixtureText(FIXTURES.v2Docs),
    [FAILED_TRACE]: `{"trace":${fixtureText(FIXTURES.failed)}}`,
    [DB_NAME_TRACE]: `{"trace":${fixtureText(FIXTURES.dbSystemName)}}`,
    // A trace id whose body does not parse.
    ffffffffffffffffffffffffffffffff:
      '{"trace":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"nope"}]}]}]}}',
  };
  // Only v1 knows the Java trace: an older Tempo.
  const v1: Record<string, string> = { [JAVA_TRACE]: fixtureText(FIXTURES.v1Java) };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://tempo');
    requests.push(url);
    if (hanging) return;
    const send = (status: number, body: string) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    if (failures > 0) {
      failures--;
      return send(failStatus, 'upstream overloaded');
    }
    const v2Match = /^\/api\/v2\/traces\/([0-9a-f]+)$/.exec(url.pathname);
    const v1Match = /^\/api\/traces\/([0-9a-f]+)$/.exec(url.pathname);
    const body = v2Match ? v2[v2Match[1] ?? ''] : v1Match ? v1[v1Match[1] ?? ''] : undefined;
    if (body !== undefined) return send(200, body);
    if (url.pathname === '/api/search') {
      if (url.searchParams.get('q')?.includes('bad') === true)
        return send(400, 'invalid TraceQL query: parse error');
      return send(200, fixtureText(FIXTURES.searchTraceQl));
    }
    if (url.pathname === '/api/v1/query_exemplars') {
      return send(
        200,
        readFileSync(new URL('./testdata/prometheus-query-exemplars.json', import.meta.url), 'utf8'),
      );
    }
    send(404, 'trace not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    fail(n, status = 500) {
      failures = n;
      failStatus = status;
    },
    hang() {
      hanging = true;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('TempoClient over HTTP', () => {
  let tempo: FakeTempo;
  beforeAll(async () => {
    tempo = await startFakeTempo();
  });
  afterAll(() => tempo.close());
  afterEach(() => {
    tempo.requests.length = 0;
    tempo.fail(0);
  });

  it('fetches traces by id from /api/v2/traces and parses every trace body', async () => {
    const client = new TempoClient({ url: `${tempo.url}/` });

    const docs = must(await client.traceById(DOCS_TRACE.toUpperCase()));
    const failed = must(await client.traceById(FAILED_TRACE));
    const named = must(await client.traceById(DB_NAME_TRACE));

    expect(docs.spans[0]?.spanId).toBe('eee19b7ec3c1b100');
    expect(failed.spans.find((s) => s.spanId === 'c1ae6cea39a8fc4b')?.statusMessage).toMatch(
      /not-null constraint/,
    );
    expect(named.spans).toHaveLength(19);
    expect(tempo.requests.map((u) => u.pathname)).toEqual([
      `/api/v2/traces/${DOCS_TRACE}`,
      `/api/v2/traces/${FAILED_TRACE}`,
      `/api/v2/traces/${DB_NAME_TRACE}`,
    ]);
  });

  it('falls back to /api/traces (v1) when v2 does not know the trace, as on Tempo before 2.5', async () => {
    const client = new TempoClient({ url: tempo.url });

    const trace = must(await client.traceById(JAVA_TRACE));

    expect(trace.spans.find((s) => s.kind === 'server')?.name).toBe('GET /stock');
    expect(tempo.requests.map((u) => u.pathname)).toEqual([
      `/api/v2/traces/${JAVA_TRACE}`,
      `/api/traces/${JAVA_TRACE}`,
    ]);
  });

  it('answers null for a trace Tempo does not have (404), and refuses an id that is not hex', async () => {
    const client = new TempoClient({ url: tempo.url });

    expect(await client.traceById('0123456789abcdef0123456789abcdef')).toBeNull();
    await expect(client.traceById('not-a-trace')).rejects.toBeInstanceOf(UsageError);
  });

  it('searches slow traces of a route with TraceQL over the asked window, and pads the ids', async () => {
    const client = new TempoClient({ url: tempo.url });
    const query = { service: 'my.service', route: '/api/x', minDurationMs: 200, limit: 5, sinceSeconds: 600 };

    const found = await client.searchSlowTraces(query);

    expect(found.map((t) => t.traceId)).toEqual([DOCS_TRACE]);
    const [request] = tempo.requests;
    expect(request?.pathname).toBe('/api/search');
    expect(request?.searchParams.get('q')).toBe(slowTracesTraceQl(query));
    expect(request?.searchParams.get('limit')).toBe('5');
    expect(Number(request?.searchParams.get('end')) - Number(request?.searchParams.get('start'))).toBe(600);
  });

  it('returns recent traces of a route in full: a search, then each trace by id', async () => {
    const client = new TempoClient({ url: tempo.url });

    const traces = await client.recentTraces({ service: 'my.service' });

    expect(traces.map((t) => t.traceId)).toEqual([DOCS_TRACE]);
    expect(tempo.requests.map((u) => u.pathname)).toEqual(['/api/search', `/api/v2/traces/${DOCS_TRACE}`]);
  });

  it('retries a 500 with backoff and succeeds when Tempo recovers', async () => {
    const client = new TempoClient({ url: tempo.url, retries: 2, backoffMs: 10 });
    tempo.fail(1);

    const trace = await client.traceById(DOCS_TRACE);

    expect(trace?.traceId).toBe(DOCS_TRACE);
    expect(tempo.requests).toHaveLength(2);
  });

  it('gives up after its retries on a Tempo that keeps failing, naming Tempo, the URL and the status', async () => {
    const client = new TempoClient({ url: tempo.url, retries: 1, backoffMs: 10 });
    tempo.fail(10, 503);

    const error = await client.traceById(DOCS_TRACE).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).upstream).toBe('tempo');
    expect((error as Error).message).toMatch(
      /^tempo \(http:\/\/127\.0\.0\.1:\d+\): GET http:\/\/127\.0\.0\.1:\d+\/api\/v2\/traces\/5b8e\w+ failed after 2 attempts \(HTTP 503: upstream overloaded\)/,
    );
    expect(tempo.requests).toHaveLength(2);
  });

  it('does not retry a query Tempo refuses (400) and says why', async () => {
    const client = new TempoClient({ url: tempo.url, retries: 3, backoffMs: 10 });

    const error = await client.search('{ bad }').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toMatch(/refused \(HTTP 400\): invalid TraceQL query: parse error/);
    expect(tempo.requests).toHaveLength(1);
  });

  it('reports a trace body it cannot read as an unexpected response from Tempo, listing the problems', async () => {
    const client = new TempoClient({ url: tempo.url });

    const error = await client.traceById('ffffffffffffffffffffffffffffffff').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toMatch(/unexpected v2 trace-by-id response:\n {2}- resourceSpans\[0\]/);
  });

  it('gives up on a hanging Tempo within its timeout', async () => {
    const client = new TempoClient({ url: tempo.url, timeoutMs: 200, retries: 1, backoffMs: 10 });
    tempo.hang();
    try {
      const started = Date.now();
      const error = await client.traceById(DOCS_TRACE).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as Error).message).toMatch(/failed after 2 attempts \(timed out/);
    } finally {
      await tempo.close();
      tempo = await startFakeTempo();
    }
  });

  it('names Tempo and where it tried when nothing listens on the port', async () => {
    const closed = await startFakeTempo();
    await closed.close();
    const client = new TempoClient({ url: closed.url, retries: 1, backoffMs: 10 });

    const error = await client.traceById(DOCS_TRACE).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).upstream).toBe('tempo');
    expect((error as UpstreamError).target).toBe(closed.url);
    expect((error as Error).message).toMatch(
      /^tempo \(http:\/\/127\.0\.0\.1:\d+\): .*failed after 2 attempts \(fetch failed: .*ECONNREFUSED/,
    );
    expect((error as Error).message).toContain('TEMPO_URL');
  });

  it('reads exemplar trace ids from a Prometheus query_exemplars endpoint', async () => {
    const exemplars = await exemplarTraceIds({
      prometheusUrl: tempo.url,
      query: 'http_server_request_duration_seconds_bucket{job="shop"}',
      start: new Date('2025-01-01T11:45:00Z'),
      end: new Date('2025-01-01T12:00:00Z'),
    });

    expect(exemplars.map((e) => e.traceId)).toEqual([
      '0000000000000000d6e9329d67b6146a',
      '4bf92f3577b34da6a3ce929d0e0e4736',
    ]);
    const [request] = tempo.requests;
    expect(request?.searchParams.get('query')).toBe(
      'http_server_request_duration_seconds_bucket{job="shop"}',
    );
    expect(request?.searchParams.get('start')).toBe(String(Date.parse('2025-01-01T11:45:00Z') / 1000));
  });
});

describe('exemplarTraceIds against the real Prometheus', () => {
  it('answers an exemplar query (no exemplars are stored in the test Prometheus)', async () => {
    const end = new Date();
    const exemplars = await exemplarTraceIds({
      prometheusUrl: inject('prometheusUrl'),
      query: 'up',
      start: new Date(end.getTime() - 300_000),
      end,
    });

    expect(exemplars).toEqual([]);
  });

  it('names Prometheus when it refuses the query', async () => {
    const end = new Date();
    const error = await exemplarTraceIds({
      prometheusUrl: inject('prometheusUrl'),
      query: 'sum(rate(x[1m])',
      start: new Date(end.getTime() - 300_000),
      end,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toMatch(
      /^prometheus \(http:\/\/127\.0\.0\.1:\d+\): GET .* refused \(HTTP 400\)/,
    );
  });
});
