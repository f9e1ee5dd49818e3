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
 * - the request's and the response's events emitted in that context, so a handler that runs in a body parser's
 *   `end` listener (every POST with `express.json()`) still belongs to its request. One wrap of `emit` on
 *   `IncomingMessage.prototype` and `ServerResponse.prototype` reads the context from the instance. The API's
 *   `context.bind(ctx, emitter)` does the same job by writing nine own properties onto every request and response
 *   and wrapping each listener added: measured on the bench app's trivial route, 27 µs per request against 17 µs
 *   for the whole span setup with the prototype wrap (docs/benchmarks.md, "Where the time goes");
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

/** A thrown value as an Error, whatever it was (`String()` itself throws on some objects). */
function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

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
  'QUERY',
  'TRACE',
]);

type Emit = (this: http.Server, event: string | symbol, ...args: unknown[]) => boolean;

/*
 * Module state, as in runtime-limits-instrumentation.ts: InstrumentationBase's constructor calls `enable()` before
 * a subclass's fields exist. One process has one `http.Server.prototype`.
 */
let originals: Map<{ prototype: { emit: Emit } }, Emit> | undefined;
const wrappers = new Map<{ prototype: { emit: Emit } }, Emit>();
let active: HttpServerInstrumentation | undefined;

/** The context a request's and its response's events are emitted in, set on both by `incoming`. */
const CONTEXT = Symbol('@hotpath/instrumentation/http-server.context');
type WithContext = { [CONTEXT]?: Context };
type EventEmit = (this: WithContext, event: string | symbol, ...args: unknown[]) => boolean;
/** Not enumerable: `console.log(req)` and `Object.assign({}, req)` do not show or copy it. */
function setContext(message: object, ctx: Context): void {
  Object.defineProperty(message, CONTEXT, {
    value: ctx,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/**
 * Our wraps of the prototypes' `emit` in place. `own` is the prototype's own `emit` we wrapped; undefined when it
 * had none and inherited `EventEmitter.prototype.emit` (Node 20 to 24), which the wrap then looks up at each call,
 * so that a later patch of `EventEmitter.prototype.emit` still applies to requests and responses.
 */
const messageEmits = new Map<{ emit: EventEmit }, { own: EventEmit | undefined; wrapper: EventEmit }>();

/** Wraps `emit` on the request's and response's prototypes (shared by http and https), once per process. */
function wrapMessageEmit(): void {
  for (const prototype of [http.IncomingMessage.prototype, http.ServerResponse.prototype] as unknown as {
    emit: EventEmit;
  }[]) {
    if (messageEmits.has(prototype)) continue;
    const own = Object.hasOwn(prototype, 'emit') ? prototype.emit : undefined;
    const parent = Object.getPrototypeOf(prototype) as { emit: EventEmit };
    const wrapper = function emit(this: WithContext, event: string | symbol, ...args: unknown[]): boolean {
      const original = own ?? parent.emit;
      const ctx = this[CONTEXT];
      if (ctx === undefined) return original.call(this, event, ...args);
      return context.with(ctx, () => original.call(this, event, ...args));
    };
    messageEmits.set(prototype, { own, wrapper });
    prototype.emit = wrapper;
  }
}

/**
 * Puts each prototype's `emit` back (deleting ours where it had none of its own) where our wrap is still the
 * outermost. One left under another agent's wrap stays and keeps working: it only acts on a message `incoming`
 * gave a context, which stops with `active`.
 */
function unwrapMessageEmit(): void {
  for (const [prototype, { own, wrapper }] of messageEmits) {
    if (prototype.emit !== wrapper) continue;
    if (own === undefined) delete (prototype as { emit?: EventEmit }).emit;
    else prototype.emit = own;
    messageEmits.delete(prototype);
  }
}

/** `host[:port]`, `[v6][:port]` as a host without brackets and a port, if it has one. */
function splitHost(value: string): { host: string; port?: number } {
  const close = value.startsWith('[') ? value.indexOf(']') : -1;
  const colon = value.indexOf(':', close + 1);
  // A bare IPv6 address (`2001:db8::1`, as X-Forwarded-For may carry it) has colons and no brackets.
  if (close === -1 && colon !== -1 && value.indexOf(':', colon + 1) !== -1) return { host: value };
  const name = colon === -1 ? value : value.slice(0, colon);
  const host = close === -1 ? name : name.slice(1, close);
  const port = colon === -1 ? Number.NaN : Number(value.slice(colon + 1));
  return Number.isInteger(port) && port > 0 ? { host, port } : { host };
}

/** server.address and server.port from the Host header; the port the scheme implies when it names none. */
function hostAttributes(header: string | undefined, scheme: string, attributes: Attributes): void {
  if (header === undefined || header === '') return;
  const { host, port } = splitHost(header);
  attributes[ATTR.serverAddress] = host;
  attributes[ATTR.serverPort] = port ?? (scheme === 'https' ? 443 : 80);
}

/** The first value of a header that may repeat. */
function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The client as the first proxy saw it: `Forwarded: for=` (RFC 7239), else `X-Forwarded-For`'s first entry,
 * without a port, else the socket's peer.
 */
function clientAddress(request: IncomingMessage): string | undefined {
  const forwarded = /(?:^|[;,\s])for=("?)([^";,]+)\1/i.exec(first(request.headers.forwarded) ?? '')?.[2];
  const via = forwarded ?? first(request.headers['x-forwarded-for'])?.split(',', 1)[0]?.trim();
  if (via === undefined || via === '' || via.toLowerCase() === 'unknown')
    return request.socket?.remoteAddress;
  return splitHost(via).host;
}

export class HttpServerInstrumentation extends InstrumentationBase<HttpServerInstrumentationConfig> {
  /**
   * Created when a meter provider is set (`_updateMetricInstruments`, which the base constructor also calls):
   * declared, not initialised, so the field's initialiser cannot wipe what the constructor made.
   */
  declare duration: Histogram | undefined;

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
    wrapMessageEmit();
    if (originals !== undefined) return;
    originals = new Map();
    for (const [server, scheme] of [
      [http.Server, 'http'],
      [https.Server, 'https'],
    ] as const) {
      const prototype = server.prototype as unknown as { emit: Emit };
      const original = prototype.emit;
      originals.set(server as unknown as { prototype: { emit: Emit } }, original);
      const wrapper = function emit(this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
        if (event !== 'request' || active === undefined) return original.apply(this, [event, ...args]);
        return active.incoming(scheme, args[0] as IncomingMessage, args[1] as ServerResponse, () =>
          original.apply(this, [event, ...args]),
        );
      };
      wrappers.set(server as unknown as { prototype: { emit: Emit } }, wrapper);
      prototype.emit = wrapper;
    }
  }

  override disable(): void {
    super.disable();
    active = undefined;
    unwrapMessageEmit();
    // Only where our wrapper is still the outermost: a wrapper added after ours (another agent's) stays, and
    // ours, left under it, passes every request through while `active` is unset.
    for (const [server, original] of originals ?? []) {
      if (server.prototype.emit === wrappers.get(server)) server.prototype.emit = original;
      else return;
    }
    originals = undefined;
  }

  incoming(
    scheme: string,
    request: IncomingMessage,
    response: ServerResponse,
    handle: () => boolean,
  ): boolean {
    // Telemetry never stands between the app and its request: if setting up the span fails, the request is
    // handled without one.
    const started = guarded(
      'starting a server span',
      () => this.start(scheme, request, response),
      () => null,
    );
    if (started === null) return handle();
    const { ctx, end } = started;
    setContext(request, ctx);
    setContext(response, ctx);
    return context.with(ctx, () => {
      try {
        return handle();
      } catch (error) {
        end(
          guarded(
            'reading a thrown value',
            () => asError(error),
            () => new Error('a non-Error value was thrown'),
          ),
        );
        throw error;
      }
    });
  }

  /** The context the handler runs in, and how the span ends; a suppressed context for an ignored request. */
  private start(
    scheme: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): { ctx: Context; end: (error?: Error) => void } {
    const config = this.getConfig();
    if (
      guarded(
        'checking whether a request is ignored',
        () => config.ignore?.(request) === true,
        () => false,
      )
    ) {
      return { ctx: suppressTracing(context.active()), end: () => {} };
    }
    const raw = request.method ?? 'GET';
    const known = KNOWN_METHODS.has(raw);
    const method = known ? raw : '_OTHER';
    const version = request.httpVersion;
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const attributes: Attributes = {
      [ATTR.httpRequestMethod]: method,
      [ATTR.urlScheme]: scheme,
      [ATTR.urlPath]: query === -1 ? url : url.slice(0, query),
      [ATTR.networkProtocolVersion]: version,
    };
    if (!known) attributes[ATTR.httpRequestMethodOriginal] = raw;
    hostAttributes(request.headers.host, scheme, attributes);
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
    // The semantic conventions name a span of an unknown method `HTTP`, with its route when one is known.
    const name = known ? raw : 'HTTP';
    const span = this.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    const rpc: RPCMetadata = { type: RPCType.HTTP, span };
    const metric: Attributes = {
      [ATTR.httpRequestMethod]: method,
      [ATTR.urlScheme]: scheme,
      [ATTR.networkProtocolVersion]: version,
    };
    let ended = false;
    const end = (error?: Error) => {
      if (ended) return;
      ended = true;
      quietly('ending a server span', () => this.finish(span, name, rpc, response, metric, startedAt, error));
    };
    response.once('close', () => end());
    response.once(errorMonitor, (error: Error) => end(error));
    return { ctx: setRPCMetadata(trace.setSpan(parent, span), rpc), end };
  }

  private finish(
    span: Span,
    name: string,
    rpc: RPCMetadata,
    response: ServerResponse,
    metric: Attributes,
    startedAt: number,
    error: Error | undefined,
  ): void {
    // On the error path nothing may have been sent: no status then (statusCode would say 200), as upstream.
    const status = error === undefined || response.headersSent ? response.statusCode : undefined;
    if (status !== undefined) {
      span.setAttribute(ATTR.httpResponseStatusCode, status);
      metric[ATTR.httpResponseStatusCode] = status;
    }
    const route = rpc.type === RPCType.HTTP ? rpc.route : undefined;
    if (route !== undefined) {
      span.setAttribute(ATTR.httpRoute, route);
      metric[ATTR.httpRoute] = route;
      span.updateName(`${name} ${route}`);
    }
    if (error !== undefined) {
      span.setAttribute(ATTR.errorType, error.name);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      span.recordException(error);
      metric[ATTR.errorType] = error.name;
    } else if (status !== undefined && status >= 500) {
      span.setAttribute(ATTR.errorType, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
      metric[ATTR.errorType] = String(status);
    }
    span.end();
    this.duration?.record((performance.now() - startedAt) / 1000, metric);
  }
}
