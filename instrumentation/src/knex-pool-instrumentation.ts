/**
 * Pool telemetry for knex on PostgreSQL. knex does not use pg-pool: it keeps `pg.Client`s in a tarn pool, so
 * instrumentation-pg sees its queries but not its pool. This records the same `db.client.connection.wait` span
 * as the pg-pool instrumentation and reports tarn's state under the metric names, units and attributes
 * instrumentation-pg uses for pg.Pool, so the analyzer's pool-saturation queries see knex pools too.
 *
 * The caller's context needs no help here: `acquireConnection` is an async function awaiting tarn's promise,
 * and a promise continuation runs in the context it was awaited in, whoever resolves it (the releasing request).
 */
import { type Context, context } from '@opentelemetry/api';
import {
  InstrumentationBase,
  type InstrumentationConfig,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
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
  tagWhenResolved,
  unstack,
} from './pool-wait.ts';

/** What we read of a tarn pool (knex's `KnexPool` extends tarn's `Pool`). */
interface TarnPool {
  readonly max: number;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}
/** What we read of a knex `Client`. */
interface KnexClient {
  readonly pool?: unknown;
  readonly dialect?: unknown;
  readonly driverName?: unknown;
  /** `config.connection` as knex hands it to `pg.Client`: a connection string or an object. */
  readonly connectionSettings?: unknown;
}
type Method = (this: KnexClient, ...args: unknown[]) => unknown;
interface ClientClass {
  readonly prototype: { acquireConnection: Method; initializePool: Method };
}

const SUPPORTED = ['>=2 <4'];

/** Only knex's own `pg` client: cockroachdb, redshift and pgnative reuse its dialect with other drivers. */
function isPg(client: KnexClient): boolean {
  return client.dialect === 'postgresql' && client.driverName === 'pg';
}

/** The pool, if it is one of tarn's (knex 3 can also wrap an external `pg.Pool`, which pg-pool covers). */
function tarnPool(client: KnexClient): TarnPool | undefined {
  const pool = client.pool as Partial<TarnPool> | undefined;
  return typeof pool?.numFree === 'function' &&
    typeof pool.numUsed === 'function' &&
    typeof pool.numPendingAcquires === 'function'
    ? (pool as TarnPool)
    : undefined;
}

/**
 * `host:port/database (knex)` from knex's connection settings. Unlike pg-pool (whose options instrumentation-pg
 * reads, with the names pg-pool-instrumentation.ts adds from a connection string), a connection string is parsed: knex apps usually pass one, and a pool named
 * `unknown_host:unknown_port/unknown_database` tells nobody anything. As in pg, the string wins over fields.
 * Semconv asks for a pool name unique within the app: a knex pool often sits beside a pg.Pool on the same
 * database (named `host:port/database` by instrumentation-pg), and the two must not merge into one series.
 */
export function knexPoolName(settings: unknown): string {
  const name = (host: unknown, port: unknown, database: unknown) =>
    `${poolName(host, port, database)} (knex)`;
  if (typeof settings === 'string') {
    const url = fromUrl(settings);
    return name(url.host, url.port, url.database);
  }
  const fields = (typeof settings === 'object' && settings !== null ? settings : {}) as Record<
    string,
    unknown
  >;
  const url = typeof fields.connectionString === 'string' ? fromUrl(fields.connectionString) : {};
  return name(url.host || fields.host, url.port || fields.port, url.database || fields.database);
}

/** Every knex pg client seen, weakly: a pool is reported while its client lives and has a tarn pool. */
const clients = new PoolTracker<KnexClient>();

function track(client: KnexClient): void {
  if (isPg(client)) clients.add(client);
}

function classExports(module: unknown): ClientClass | undefined {
  const candidate = module as Partial<ClientClass> | undefined;
  return typeof candidate?.prototype?.acquireConnection === 'function'
    ? (candidate as ClientClass)
    : undefined;
}

export class KnexPoolInstrumentation extends InstrumentationBase {
  constructor(config: InstrumentationConfig = {}) {
    super(`${pkg.name}/knex`, pkg.version, config);
  }

  protected override init() {
    const patch = (module: unknown, Client: unknown) => {
      const exports = classExports(Client);
      const patched =
        exports !== undefined &&
        stack(exports.prototype, 'acquireConnection', (original) => this.#acquire(original as Method)) &&
        stack(exports.prototype, 'initializePool', (original) => this.#initialize(original as Method));
      if (!patched) {
        this._diag.warn('knex has no Client.prototype.acquireConnection; knex pool telemetry is off');
      }
      return module;
    };
    const unpatch = (module: unknown, Client: unknown) => {
      const exports = classExports(Client);
      if (exports !== undefined) {
        unstack(exports.prototype, 'acquireConnection');
        unstack(exports.prototype, 'initializePool');
      }
      return module;
    };
    const main = (module: unknown) => {
      // knex's main export carries the base class as `knex.Client`; under import-in-the-middle it arrives as the
      // namespace's default export. Patching it as well covers loaders that bypass the file hook (idempotent).
      const namespace = module as { [Symbol.toStringTag]?: unknown; default?: { Client?: unknown } };
      const knex = (namespace?.[Symbol.toStringTag] === 'Module' ? namespace.default : module) as
        | { Client?: unknown }
        | undefined;
      return knex?.Client;
    };
    return new InstrumentationNodeModuleDefinition(
      'knex',
      SUPPORTED,
      (module: unknown) => patch(module, main(module)),
      (module: unknown) => unpatch(module, main(module)),
      [
        new InstrumentationNodeModuleFile(
          'knex/lib/client.js',
          SUPPORTED,
          (module: unknown) => patch(module, module),
          (module: unknown) => unpatch(module, module),
        ),
      ],
    );
  }

  protected override _updateMetricInstruments(): void {
    observePools(this.meter, 'knex', clients, knexPoolState);
  }

  #initialize(original: Method): Method {
    return function initializePool(this: KnexClient, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      quietly('tracking a knex pool', () => track(this));
      return result;
    };
  }

  #acquire(original: Method): Method {
    const instrumentation = this;
    return function acquireConnection(this: KnexClient, ...args: unknown[]): unknown {
      if (!instrumentation.isEnabled()) return original.apply(this, args);
      const caller = context.active();
      const span = guarded(
        'knex acquire instrumentation',
        () => instrumentation.#waitSpan(this, caller),
        () => undefined,
      );
      let result: unknown;
      try {
        result = original.apply(this, args);
      } catch (error) {
        if (span !== undefined) {
          quietly('ending the wait span', () => endWaitSpan(span, error ?? new Error('acquire threw')));
        }
        throw error;
      }
      if (span !== undefined) quietly('ending the wait span', () => endWhenSettled(span, result));
      if (isPg(this)) {
        quietly('tagging the pooled connection', () =>
          tagWhenResolved(result, knexPoolName(this.connectionSettings)),
        );
      }
      return result;
    };
  }

  /** A wait span when tarn has no free connection to hand out, i.e. the caller queues or a connection opens. */
  #waitSpan(client: KnexClient, caller: Context) {
    if (!isPg(client)) return undefined;
    track(client);
    const pool = tarnPool(client);
    if (pool === undefined || pool.numFree() > 0) return undefined;
    return startWaitSpan(this.tracer, knexPoolName(client.connectionSettings), caller);
  }
}

/** A knex pg client's pool state, if it has a tarn pool. */
function knexPoolState(client: KnexClient): PoolState | undefined {
  const pool = tarnPool(client);
  if (pool === undefined) return undefined;
  return {
    name: knexPoolName(client.connectionSettings),
    idle: pool.numFree(),
    used: pool.numUsed(),
    pending: pool.numPendingAcquires(),
    max: Number.isFinite(pool.max) ? pool.max : 0,
  };
}
