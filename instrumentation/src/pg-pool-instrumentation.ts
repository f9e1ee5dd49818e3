/**
 * Keeps `pg.Pool` work in the trace of the request that asked for it, and records the time spent waiting for a
 * pooled connection as a `db.client.connection.wait` span.
 *
 * pg-pool runs a queued `connect` callback from the `release` of the previous holder, so the callback (and every
 * query span `pool.query()` creates in it: `query` uses a callback-style `this.connect` internally, even when the
 * app uses promises) runs in the context of whichever request released the connection. instrumentation-pg binds
 * the callback only on the branch that creates `pg-pool.connect` spans; with `ignoreConnectSpans` it passes the
 * callback through unbound (dd-trace-js had the same bug: DataDog/dd-trace-js#3733). instrumentation-pg 0.77 has
 * no option that binds it without creating the connect spans, hence this wrapper.
 *
 * It also names pools built from a connection string. instrumentation-pg names a pool `host:port/database` from
 * `pool.options` (its metrics' `db.client.connection.pool.name`), and an app that passes only
 * `connectionString` (`new pg.Pool({ connectionString: process.env.DATABASE_URL })`, the usual way) leaves those
 * fields empty: every such pool is `unknown_host:unknown_port/unknown_database`, which names nothing in a
 * pool-saturation finding, and two of them share one series. See `nameFromConnectionString`.
 *
 * And it reports the pools' metrics (`observePools`, read from each pool at collection time) in place of
 * instrumentation-pg's: instrumentation-pg 0.78 keeps its pool counts as deltas against one `_connectionsCounter`
 * per instrumentation, not per pool, so with two `pg.Pool`s each event adds the difference to the other pool's
 * last state and both pools' series go wrong (telemetry.ts switches its pool listeners off).
 */
import { type Context, context } from '@opentelemetry/api';
import {
  InstrumentationBase,
  type InstrumentationConfig,
  InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import pkg from '../package.json' with { type: 'json' };
import {
  endWaitSpan,
  endWhenSettled,
  fromUrl,
  guarded,
  observePools,
  type PoolState,
  PoolTracker,
  poolName,
  quietly,
  stack,
  startWaitSpan,
  tagClient,
  tagWhenResolved,
  unstack,
} from './pool-wait.ts';

/** What the wrapper reads of a pg-pool `Pool` (the public getters and the options instrumentation-pg names it by). */
interface PgPool {
  readonly idleCount?: number;
  readonly totalCount?: number;
  readonly waitingCount?: number;
  /** Set by `end()`: an ended pool is no longer reported (instrumentation-pg takes its max away then, too). */
  readonly ending?: boolean;
  readonly options?: {
    readonly host?: unknown;
    readonly port?: unknown;
    readonly database?: unknown;
    readonly max?: unknown;
  };
}

/** Every pool that has handed out a connection, weakly: reported while it lives and has not ended. */
const pools = new PoolTracker<PgPool>();

/** pg-pool's default `max` when the options give none. */
const PG_POOL_DEFAULT_MAX = 10;

function pgPoolState(pool: PgPool): PoolState | undefined {
  if (pool.ending === true) return undefined;
  const total = pool.totalCount ?? 0;
  const idle = pool.idleCount ?? 0;
  const max = Number(pool.options?.max ?? PG_POOL_DEFAULT_MAX);
  return {
    name: poolName(pool.options?.host, pool.options?.port, pool.options?.database),
    idle,
    used: Math.max(0, total - idle),
    pending: pool.waitingCount ?? 0,
    max: Number.isFinite(max) ? max : PG_POOL_DEFAULT_MAX,
  };
}

type Connect = (this: PgPool, ...args: unknown[]) => unknown;
type Callback = (this: unknown, ...args: unknown[]) => unknown;
interface PoolModule {
  readonly prototype: { connect: Connect };
}

/**
 * pg-pool's constructor assigns `this.options`. An accessor for `options` on the prototype sees that assignment
 * first: it adds `host`, `port` and `database`, parsed from `connectionString` where the app set none of them, as
 * non-enumerable properties, then puts the object back as the instance's own property (read as usual from then
 * on). A client is built from the options by copying their enumerable properties (pg's ConnectionParameters), so
 * the connection never sees the added names; instrumentation-pg and this file read them by name when they name
 * the pool, as they do for a pool configured field by field.
 */
function nameFromConnectionString(prototype: object): void {
  if (Object.getOwnPropertyDescriptor(prototype, 'options') !== undefined) return;
  Object.defineProperty(prototype, 'options', {
    configurable: true,
    enumerable: false,
    get: () => undefined,
    set: assignOptions,
  });
}

function assignOptions(this: object, value: unknown): void {
  quietly('naming a pool from its connection string', () => addNames(value));
  Object.defineProperty(this, 'options', { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Each of host, port and database that the options leave unset or empty, from the connection string: pg lets the
 * string win for what it names (`Object.assign({}, config, parse(connectionString))`), so that is the value the
 * connection uses.
 */
function addNames(options: unknown): void {
  if (typeof options !== 'object' || options === null) return;
  const given = options as Record<string, unknown>;
  if (typeof given.connectionString !== 'string') return;
  const parsed = fromUrl(given.connectionString);
  for (const key of ['host', 'port', 'database'] as const) {
    const value = parsed[key];
    if (value === undefined || value === '' || (given[key] !== undefined && given[key] !== '')) continue;
    Object.defineProperty(options, key, { value, writable: true, enumerable: false, configurable: true });
  }
}

/** Removes our accessor, not another's that replaced it. */
function removeNaming(prototype: object): void {
  if (Object.getOwnPropertyDescriptor(prototype, 'options')?.set === assignOptions) {
    delete (prototype as { options?: unknown }).options;
  }
}

/** Same range as instrumentation-pg's `pg-pool` definition. */
const SUPPORTED = ['>=2.0.0 <4'];

function moduleExports(module: unknown): PoolModule | undefined {
  // Under import-in-the-middle the hook receives the module namespace; the class is its default export.
  const exports =
    (module as { [Symbol.toStringTag]?: unknown })?.[Symbol.toStringTag] === 'Module'
      ? (module as { default?: unknown }).default
      : module;
  return typeof (exports as PoolModule | undefined)?.prototype?.connect === 'function'
    ? (exports as PoolModule)
    : undefined;
}

export class PgPoolInstrumentation extends InstrumentationBase {
  constructor(config: InstrumentationConfig = {}) {
    super(`${pkg.name}/pg-pool`, pkg.version, config);
  }

  protected override init() {
    return new InstrumentationNodeModuleDefinition(
      'pg-pool',
      SUPPORTED,
      (module: unknown) => {
        const exports = moduleExports(module);
        if (exports !== undefined) nameFromConnectionString(exports.prototype);
        if (
          exports === undefined ||
          !stack(exports.prototype, 'connect', (original) => this.#wrap(original as Connect))
        ) {
          this._diag.warn('pg-pool has no Pool.prototype.connect; pool context and wait spans are off');
        }
        return module;
      },
      (module: unknown) => {
        const exports = moduleExports(module);
        if (exports !== undefined) {
          unstack(exports.prototype, 'connect');
          removeNaming(exports.prototype);
        }
        return module;
      },
    );
  }

  protected override _updateMetricInstruments(): void {
    observePools(this.meter, 'pg', pools, pgPoolState);
  }

  #wrap(original: Connect): Connect {
    const instrumentation = this;
    return function connect(this: PgPool, ...args: unknown[]): unknown {
      if (!instrumentation.isEnabled()) return original.apply(this, args);
      quietly('tracking a pg pool', () => pools.add(this));
      const caller = context.active();
      const prepared = guarded(
        'pg-pool connect instrumentation',
        () => instrumentation.#prepare(this, caller, args[0]),
        () => undefined,
      );
      if (prepared === undefined) return original.apply(this, args);
      const { span, callback, name } = prepared;
      let result: unknown;
      try {
        result = original.apply(this, callback === undefined ? args : [callback, ...args.slice(1)]);
      } catch (error) {
        if (span !== undefined) {
          quietly('ending the wait span', () => endWaitSpan(span, error ?? new Error('connect threw')));
        }
        throw error;
      }
      if (callback === undefined) {
        if (span !== undefined) quietly('ending the wait span', () => endWhenSettled(span, result));
        quietly('tagging the pooled client', () => tagWhenResolved(result, name));
      }
      return result;
    };
  }

  /**
   * The wait span (only when no idle client can be handed out) and the callback, bound to the caller; the client
   * it receives is tagged with the pool's name.
   */
  #prepare(pool: PgPool, caller: Context, callback: unknown) {
    const name = poolName(pool.options?.host, pool.options?.port, pool.options?.database);
    const span = pool.idleCount === 0 ? startWaitSpan(this.tracer, name, caller) : undefined;
    if (typeof callback !== 'function') return { span, callback: undefined, name };
    const bound = context.bind(caller, callback as Callback);
    const handing: Callback = function (this: unknown, ...results: unknown[]) {
      if (!results[0]) quietly('tagging the pooled client', () => tagClient(results[1], name));
      if (span !== undefined) quietly('ending the wait span', () => endWaitSpan(span, results[0]));
      return bound.apply(this, results);
    };
    return { span, callback: handing, name };
  }
}
