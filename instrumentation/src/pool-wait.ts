/**
 * What the pg-pool and knex pool instrumentations share: the `db.client.connection.wait` span, the pool name
 * and a wrapper that stacks on top of other instrumentations' wrappers instead of replacing them.
 */
import {
  type Context,
  diag,
  type Meter,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import { ATTR, METRICS, SPAN_NAMES } from './semconv.ts';

/** `db.system.name` of every pool these instrumentations know. */
export const POSTGRESQL = 'postgresql';

/**
 * `host:port/database`, each unknown part written the way instrumentation-pg's `getPoolName` writes it, so a
 * pool's spans and metrics carry one name whichever package emitted them.
 */
export function poolName(host: unknown, port: unknown, database: unknown): string {
  const part = (value: unknown, unknown: string) => (value ? String(value) : unknown);
  return `${part(host, 'unknown_host')}:${part(port, 'unknown_port')}/${part(database, 'unknown_database')}`.trim();
}

/** Pools (or what owns one) held weakly, each once: reported while they live. */
export class PoolTracker<T extends object> {
  readonly #refs = new Set<WeakRef<T>>();
  readonly #seen = new WeakSet<T>();

  add(pool: T): void {
    if (this.#seen.has(pool)) return;
    this.#seen.add(pool);
    this.#refs.add(new WeakRef(pool));
  }

  /** The ones still alive; the collected ones are forgotten on the way. */
  *live(): Iterable<T> {
    for (const ref of this.#refs) {
      const pool = ref.deref();
      if (pool === undefined) this.#refs.delete(ref);
      else yield pool;
    }
  }
}

/** One pool's state as the pool metrics report it. */
export interface PoolState {
  readonly name: string;
  readonly idle: number;
  readonly used: number;
  readonly pending: number;
  readonly max: number;
}

/**
 * instrumentation-pg's descriptions, word for word: the Prometheus exporter merges series of one name from
 * several scopes into one metric family and warns about (and drops one of) differing HELP texts.
 */
const POOL_DESCRIPTIONS = {
  count: 'The number of connections that are currently in state described by the state attribute.',
  pending: 'The number of current pending requests for an open connection.',
  max: 'The maximum number of open connections allowed.',
} as const;

/**
 * The pool metrics under instrumentation-pg's names (`db.client.connection.count` by state,
 * `.pending_requests`, `.max`), read from the pools at collection time: nothing is recorded per checkout, and
 * each pool's numbers are its own. Pools that share a name (several instances on one database) are summed into
 * one series per name, as semconv's "unique within the app" name implies they are one pool to the reader.
 */
export function observePools<T extends object>(
  meter: Meter,
  what: string,
  pools: PoolTracker<T>,
  read: (pool: T) => PoolState | undefined,
): void {
  const count = meter.createObservableUpDownCounter(METRICS.dbClientConnectionCount.name, {
    description: POOL_DESCRIPTIONS.count,
    unit: METRICS.dbClientConnectionCount.unit,
  });
  const pending = meter.createObservableUpDownCounter(METRICS.dbClientConnectionPendingRequests.name, {
    description: POOL_DESCRIPTIONS.pending,
    unit: METRICS.dbClientConnectionPendingRequests.unit,
  });
  const max = meter.createObservableUpDownCounter(METRICS.dbClientConnectionMax.name, {
    description: POOL_DESCRIPTIONS.max,
    unit: METRICS.dbClientConnectionMax.unit,
  });
  meter.addBatchObservableCallback(
    (result) =>
      quietly(`reading ${what} pool state`, () => {
        const totals = new Map<string, { idle: number; used: number; pending: number; max: number }>();
        for (const pool of pools.live()) {
          // One pool that cannot be read must not hide the others.
          const state = guarded(
            `reading ${what} pool state`,
            () => read(pool),
            () => undefined,
          );
          if (state === undefined) continue;
          const total = totals.get(state.name) ?? { idle: 0, used: 0, pending: 0, max: 0 };
          total.idle += state.idle;
          total.used += state.used;
          total.pending += state.pending;
          total.max += state.max;
          totals.set(state.name, total);
        }
        for (const [name, total] of totals) {
          const attributes = { [ATTR.dbClientConnectionPoolName]: name };
          result.observe(count, total.idle, { ...attributes, [ATTR.dbClientConnectionState]: 'idle' });
          result.observe(count, total.used, { ...attributes, [ATTR.dbClientConnectionState]: 'used' });
          result.observe(pending, total.pending, attributes);
          result.observe(max, total.max, attributes);
        }
      }),
    [count, pending, max],
  );
}

/** Host, port and database of a `postgres://` connection string (`?host=` for a socket directory), as far as known. */
export function fromUrl(connectionString: string): { host?: string; port?: string; database?: string } {
  try {
    const url = new URL(connectionString);
    return {
      host: url.hostname || (url.searchParams.get('host') ?? ''),
      port: url.port,
      database: decodeURIComponent(url.pathname.replace(/^\//, '')),
    };
  } catch {
    return {};
  }
}

/** The pool whose client is starting a query right now (synchronously, inside `client.query`), if known. */
let queryingPool: string | undefined;
const tagged = new WeakSet<object>();

/**
 * Marks `client` (a pg `Client` a pool just handed out) as `pool`'s, so the spans of its queries can name the
 * pool: an app may have two pools on one database (knex beside a raw pg.Pool), and which one a route holds is
 * what a saturated pool's finding must say. instrumentation-pg's `requestHook` does not receive the client, so an
 * own `query` property on the client (always outermost, whichever order the prototype's wrappers were stacked
 * in) records the pool while the query starts; `poolOfQuery` reads it from the hook. Idempotent per client.
 */
export function tagClient(client: unknown, pool: string): void {
  if (typeof client !== 'object' || client === null || tagged.has(client)) return;
  if (typeof (client as { query?: unknown }).query !== 'function') return;
  tagged.add(client);
  Object.defineProperty(client, 'query', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: function query(this: object, ...args: unknown[]): unknown {
      // Looked up at each call: the prototype's method may be re-wrapped or unwrapped later.
      const method = Reflect.get(Object.getPrototypeOf(this) ?? {}, 'query', this) as (
        ...a: unknown[]
      ) => unknown;
      const previous = queryingPool;
      queryingPool = pool;
      try {
        return method.apply(this, args);
      } finally {
        queryingPool = previous;
      }
    },
  });
}

/**
 * Tags the client a pool's promise (pg-pool's `connect()`, knex's `acquireConnection`) resolves to. A side branch attached before the app's own
 * reaction: it runs first, adds no unhandled rejection, and leaves the app's promise as it is.
 */
export function tagWhenResolved(result: unknown, name: string): void {
  if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') return;
  (result as PromiseLike<unknown>).then(
    (client) => quietly('tagging the pooled client', () => tagClient(client, name)),
    () => {},
  );
}

/** The pool of the query starting now (see `tagClient`); undefined outside a tagged client's `query`. */
export function poolOfQuery(): string | undefined {
  return queryingPool;
}

/** Starts the wait span as a child of `parent` (the caller's context, not whatever is active later). */
export function startWaitSpan(tracer: Tracer, pool: string, parent: Context): Span {
  return tracer.startSpan(
    SPAN_NAMES.connectionWait,
    {
      kind: SpanKind.INTERNAL,
      attributes: { [ATTR.dbSystemName]: POSTGRESQL, [ATTR.dbClientConnectionPoolName]: pool },
    },
    parent,
  );
}

/** Ends the wait span; a truthy `error` means the pool could not hand out a connection. */
export function endWaitSpan(span: Span, error: unknown): void {
  if (error) {
    const name = error instanceof Error ? error.name : typeof error;
    span.setAttribute(ATTR.errorType, name === '' ? '_OTHER' : name);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  }
  span.end();
}

/** Ends `span` when `result` settles, if it is a promise; the app's own promise is returned untouched. */
export function endWhenSettled(span: Span, result: unknown): void {
  if (typeof (result as PromiseLike<unknown> | undefined)?.then !== 'function') {
    endWaitSpan(span, undefined);
    return;
  }
  // A side branch with both handlers: it never adds an unhandled rejection, and the app keeps its own promise
  // (identity, rejection and timing unchanged). It was attached first, so it runs before the app's reactions.
  (result as PromiseLike<unknown>).then(
    () => endWaitSpan(span, undefined),
    (error: unknown) => endWaitSpan(span, error ?? new Error('acquire failed')),
  );
}

/** Runs `body`, logging instead of throwing if it fails: for telemetry-only work such as ending a span. */
export function quietly(what: string, body: () => void): void {
  guarded(what, body, () => {});
}

/** Runs `body`; if it throws, logs a warning and returns `fallback()` — telemetry never throws into the app. */
export function guarded<T>(what: string, body: () => T, fallback: () => T): T {
  try {
    return body();
  } catch (error) {
    diag.warn(`@hotpath/instrumentation: ${what} failed (telemetry only; the app is unaffected)`, error);
    return fallback();
  }
}

const STACKED = Symbol.for('@hotpath/instrumentation.stacked');
type Stacked = ((...args: never[]) => unknown) & { [STACKED]?: (...args: never[]) => unknown };

/** Whether our wrapper is anywhere in the chain: a module seen by both loaders must not get two. */
function alreadyStacked(fn: Stacked): boolean {
  let link: unknown = fn;
  for (let depth = 0; depth < 10 && typeof link === 'function'; depth++) {
    const wrapped = link as Stacked & { __original?: unknown };
    if (wrapped[STACKED] !== undefined) return true;
    link = wrapped.__original;
  }
  return false;
}

/**
 * Replaces `target[name]` with `wrapper(current)`, on top of whatever is there. Unlike shimmer's `wrap` (and
 * InstrumentationBase's `_wrap`), it neither unwraps an existing wrapper first nor marks itself with shimmer's
 * `__wrapped`. instrumentation-pg unwraps any marked `connect` before wrapping its own, so a marked wrapper of
 * ours would vanish whenever pg patches after us, and the instrumentations list does not decide that order:
 * each copy of `@opentelemetry/instrumentation` installs its own require hook, and the first one created runs
 * first. Here ours shares its copy with HttpInstrumentation, created before PgInstrumentation's, so under
 * `require` (also for ESM apps: pg's CommonJS entry requires pg-pool) we patch first and pg wraps us; under
 * import-in-the-middle (an ESM import of pg-pool itself) the list order holds and we wrap pg. Unmarked, the two
 * stack either way. Idempotent, also when both loaders see the module.
 */
export function stack<T extends object>(
  target: T,
  name: keyof T & string,
  wrapper: (original: (...args: never[]) => unknown) => (...args: never[]) => unknown,
): boolean {
  const current = target[name] as Stacked | undefined;
  if (typeof current !== 'function') return false;
  if (alreadyStacked(current)) return true;
  const wrapped = wrapper(current) as Stacked;
  Object.defineProperty(wrapped, STACKED, { value: current });
  Object.defineProperty(target, name, {
    configurable: true,
    writable: true,
    enumerable: Object.prototype.propertyIsEnumerable.call(target, name),
    value: wrapped,
  });
  return true;
}

/**
 * Undoes `stack` when our wrapper is still the outermost one. When another wrapper sits on top of it, ours
 * stays in the chain; the wrappers check `isEnabled()` and pass straight through once disabled.
 */
export function unstack<T extends object>(target: T, name: keyof T & string): void {
  const current = target[name] as Stacked | undefined;
  const original = current?.[STACKED];
  if (original === undefined) return;
  Object.defineProperty(target, name, {
    configurable: true,
    writable: true,
    enumerable: Object.prototype.propertyIsEnumerable.call(target, name),
    value: original,
  });
}
