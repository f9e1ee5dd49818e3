/**
 * Inbound HTTP: the server span and `http.server.request.duration`, in place of instrumentation-http's server side
 * (which Hotpath keeps for outbound `http.request` calls only). Measured side by side on the bench app's pg read
 * (docs/benchmarks.md, "Where the time goes"): instrumentation-http's server side with a batch span processor
 * added ~72 µs per request, this ~23 µs, for the signals the analyzer reads.
 *
 * What it does, per request, is what instrumentation-http does minus what the analyzer never reads (URL parsing
 * into `url.full`, query redaction and `url.query`, header capture, hook plumbing):
 * - one wrap of `Server.prototype.emit('request')` for `node:http` and `node:https` (built-ins, shared by ESM and
 *   CommonJS, so nothing to hook at import): the span starts from the propagated parent (`traceparent`), and the
 *   handler runs in its context with the RPC metadata instrumentation-express writes the route template into;
 * - the request and response emitters bound to that context, so a handler that runs in a body parser's `end`
 *   listener (every POST with `express.json()`) still belongs to its request;
 * - at `close` (after `finish`, or when the client went away): `http.route`, the status, ERROR and `error.type`
 *   for 5xx (stable HTTP semantic conventions, server side), the span renamed `METHOD route`, and the duration
 *   recorded with `http.request.method`, `url.scheme`, `network.protocol.version`, `http.route`,
 *   `http.response.status_code` and `error.type`, the attributes instrumentation-http puts on it.
 *
 * Node's diagnostics_channel (`http.server.request.start`) carries the same request, but a subscriber can only
 * enter the span's context with `AsyncLocalStorage.enterWith`, which outlives the request on the socket's
 * callback; the wrap scopes it with `context.with`, and measured the same (~23 µs against ~27 µs).
 */
import { errorMonitor } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import {
  type Attributes,
  type Context,
  context,
  type Histogram,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { type RPCMetadata, RPCType, setRPCMetadata, suppressTracing } from '@opentelemetry/core';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import pkg from '../package.json' with { type: 'json' };
import { guarded, quietly } from './pool-wait.ts';
import { ATTR, METRICS } from './semconv.ts';

export interface HttpServerInstrumentationConfig extends InstrumentationConfig {
  /** True for a request that gets no span and no duration (its handler runs with tracing suppressed). */
  readonly ignore?: (request: IncomingMessage) => boolean;
  /** Attributes for the server span, from the request, at its start. */
  readonly startAttributes?: (request: IncomingMessage) => Attributes;
}

/** The methods the HTTP semantic conventions name; anything else is `_OTHER`. */
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

type Emit = (this: http.Server, event: string | symbol, ...args: unknown[]) => boolean;

/*
 * Module state, as in runtime-limits-instrumentation.ts: InstrumentationBase's constructor calls `enable()` before
 * a subclass's fields exist. One process has one `http.Server.prototype`.
 */
let originals: Map<{ prototype: { emit: Emit } }, Emit> | undefined;
let active: HttpServerInstrumentation | undefined;

/** `host:port`, `[v6]:port` or a bare host, as server.address and server.port. */
function hostAttributes(host: string | undefined, attributes: Attributes): void {
  if (host === undefined || host === '') return;
  const close = host.startsWith('[') ? host.indexOf(']') : -1;
  const colon = host.indexOf(':', close + 1);
  const name = colon === -1 ? host : host.slice(0, colon);
  attributes[ATTR.serverAddress] = close === -1 ? name : name.slice(1, close);
  if (colon !== -1) {
    const port = Number(host.slice(colon + 1));
    if (Number.isInteger(port) && port > 0) attributes[ATTR.serverPort] = port;
  }
}

/** The client as the first proxy saw it (`X-Forwarded-For`'s first entry), else the socket's peer. */
function clientAddress(request: IncomingMessage): string | undefined {
  const forwarded = request.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',', 1)[0]?.trim();
  return first === undefined || first === '' ? request.socket?.remoteAddress : first;
}

export class HttpServerInstrumentation extends InstrumentationBase<HttpServerInstrumentationConfig> {
  /** Created when the SDK sets the meter provider (`_updateMetricInstruments`). */
  duration: Histogram | undefined;

  constructor(config: HttpServerInstrumentationConfig = {}) {
    super('@hotpath/instrumentation/http-server', pkg.version, config);
  }

  protected override init(): [] {
    return [];
  }

  protected override _updateMetricInstruments(): void {
    const spec = METRICS.httpServerRequestDuration;
    this.duration = this.meter.createHistogram(spec.name, {
      description: spec.description,
      unit: spec.unit,
      ...(spec.buckets === undefined ? {} : { advice: { explicitBucketBoundaries: [...spec.buckets] } }),
    });
  }

  override enable(): void {
    super.enable();
    active = this;
    if (originals !== undefined) return;
    originals = new Map();
    for (const [server, scheme] of [
      [http.Server, 'http'],
      [https.Server, 'https'],
    ] as const) {
      const prototype = server.prototype as unknown as { emit: Emit };
      const original = prototype.emit;
      originals.set(server as unknown as { prototype: { emit: Emit } }, original);
      prototype.emit = function emit(this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
        if (event !== 'request' || active === undefined) return original.apply(this, [event, ...args]);
        return active.incoming(scheme, args[0] as IncomingMessage, args[1] as ServerResponse, () =>
          original.apply(this, [event, ...args]),
        );
      };
    }
  }

  override disable(): void {
    super.disable();
    active = undefined;
    for (const [server, original] of originals ?? []) server.prototype.emit = original;
    originals = undefined;
  }

  incoming(
    scheme: string,
    request: IncomingMessage,
    response: ServerResponse,
    handle: () => boolean,
  ): boolean {
    const config = this.getConfig();
    if (
      guarded(
        'checking whether a request is ignored',
        () => config.ignore?.(request) === true,
        () => false,
      )
    ) {
      const suppressed = suppressTracing(context.active());
      return context.with(suppressed, () => {
        context.bind(suppressed, request);
        context.bind(suppressed, response);
        return handle();
      });
    }
    const raw = request.method ?? 'GET';
    const method = KNOWN_METHODS.has(raw) ? raw : '_OTHER';
    const version = request.httpVersion;
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const attributes: Attributes = {
      [ATTR.httpRequestMethod]: method,
      [ATTR.urlScheme]: scheme,
      [ATTR.urlPath]: query === -1 ? url : url.slice(0, query),
      [ATTR.networkProtocolVersion]: version,
    };
    if (method !== raw) attributes[ATTR.httpRequestMethodOriginal] = raw;
    hostAttributes(request.headers.host, attributes);
    const agent = request.headers['user-agent'];
    if (agent !== undefined) attributes[ATTR.userAgentOriginal] = agent;
    const client = clientAddress(request);
    if (client !== undefined) attributes[ATTR.clientAddress] = client;
    const peer = request.socket?.remoteAddress;
    if (peer !== undefined) {
      attributes[ATTR.networkPeerAddress] = peer;
      const port = request.socket.remotePort;
      if (port !== undefined) attributes[ATTR.networkPeerPort] = port;
    }
    const extra = config.startAttributes;
    if (extra !== undefined) {
      Object.assign(
        attributes,
        guarded(
          'reading start attributes',
          () => extra(request),
          () => ({}),
        ),
      );
    }
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const startedAt = performance.now();
    const span = this.tracer.startSpan(method, { kind: SpanKind.SERVER, attributes }, parent);
    const rpc: RPCMetadata = { type: RPCType.HTTP, span };
    const ctx: Context = setRPCMetadata(trace.setSpan(parent, span), rpc);
    const metric: Attributes = {
      [ATTR.httpRequestMethod]: method,
      [ATTR.urlScheme]: scheme,
      [ATTR.networkProtocolVersion]: version,
    };
    let ended = false;
    const end = (error?: Error) => {
      if (ended) return;
      ended = true;
      quietly('ending a server span', () =>
        this.finish(span, rpc, request, response, metric, startedAt, error),
      );
    };
    response.once('close', () => end());
    response.once(errorMonitor, (error: Error) => end(error));
    return context.with(ctx, () => {
      context.bind(ctx, request);
      context.bind(ctx, response);
      try {
        return handle();
      } catch (error) {
        end(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
    });
  }

  private finish(
    span: Span,
    rpc: RPCMetadata,
    request: IncomingMessage,
    response: ServerResponse,
    metric: Attributes,
    startedAt: number,
    error: Error | undefined,
  ): void {
    const status = response.statusCode;
    span.setAttribute(ATTR.httpResponseStatusCode, status);
    metric[ATTR.httpResponseStatusCode] = status;
    const route = rpc.type === RPCType.HTTP ? rpc.route : undefined;
    if (route !== undefined) {
      span.setAttribute(ATTR.httpRoute, route);
      metric[ATTR.httpRoute] = route;
      span.updateName(`${request.method ?? 'GET'} ${route}`);
    }
    if (error !== undefined) {
      span.setAttribute(ATTR.errorType, error.name);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      span.recordException(error);
      metric[ATTR.errorType] = error.name;
    } else if (status >= 500) {
      span.setAttribute(ATTR.errorType, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
      metric[ATTR.errorType] = String(status);
    }
    span.end();
    this.duration?.record((performance.now() - startedAt) / 1000, metric);
  }
}
