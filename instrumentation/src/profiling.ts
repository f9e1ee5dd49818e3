/**
 * Continuous profiles from the app, with the Grafana Pyroscope Node SDK (`@pyroscope/nodejs`, on DataDog's
 * `@datadog/pprof`): wall time (what the main thread was doing, 100 Hz by default) and sampled live heap, pushed
 * to `PYROSCOPE_SERVER_ADDRESS` (`/ingest`, pprof) every `PYROSCOPE_FLUSH_INTERVAL_MS` (60 s by default). Off
 * unless `HOTPATH_PROFILING=on`.
 *
 * Span profiles: each wall sample carries the `span_id` and `span_name` of the request it ran for (Pyroscope's
 * span-profile labels; `span_name` is the server span's final name, `GET /orders/:id`), and the server span gets
 * `pyroscope.profile.id`, so Grafana links a trace to its flame graph and the analyzer cuts a profile by route.
 * The SDK's own `setLabels` sets one process-wide context, which the next request overwrites across an `await`;
 * the profiler can instead keep the context in the async context frame (`useCPED`, Node 24's
 * AsyncContextFrame), where it follows the request through every `await`. The SDK does not expose that option,
 * so its `time.start` is wrapped to add it, and the labels are entered where OpenTelemetry enters the server
 * span's context (`ProfilingContextManager.with`). Without AsyncContextFrame (Node 22 without
 * `--experimental-async-context-frame`) profiles are taken without span labels, and a warning says so.
 *
 * A guest in the host process: never throws into the app (a failure to start is logged and profiling stays off),
 * and a profile server that is down or never answers costs one pending upload at most (the SDK skips a flush
 * while the previous upload is still out).
 */
import { createRequire } from 'node:module';
import { type Context, diag, type Span, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

/** The span attribute Grafana's trace-to-profiles link reads (Pyroscope's otel-profiling packages set it). */
export const ATTR_PYROSCOPE_PROFILE_ID = 'pyroscope.profile.id';

type Env = Readonly<Record<string, string | undefined>>;

export interface ProfilingConfig {
  readonly enabled: boolean;
  /** Pyroscope's application name: `service_name` in Pyroscope, the service the analyzer joins on. */
  readonly appName: string;
  /**
   * Whether wall samples carry the request's span labels: on unless `HOTPATH_PROFILING_SPAN_LABELS=off`, and
   * only where they can follow a request across `await` (AsyncContextFrame). Off, profiles cost less per
   * request (docs/benchmarks.md) but cannot be cut by route.
   */
  readonly spanLabels: boolean;
}

const ON = new Set(['on', 'true', '1', 'yes']);
const OFF_WORDS = new Set(['off', 'false', '0', 'no']);

/** Node 24 turns AsyncContextFrame on by default; 22 and 23 need the flag. */
export function asyncContextFrame(
  version = process.versions.node,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): boolean {
  const flags = [...execArgv, ...nodeOptions.split(/\s+/)];
  if (flags.includes('--no-async-context-frame')) return false;
  return Number(version.split('.')[0]) >= 24 || flags.includes('--experimental-async-context-frame');
}

export function profilingConfig(serviceName: string | undefined, env: Env = process.env): ProfilingConfig {
  return {
    enabled: ON.has((env.HOTPATH_PROFILING ?? '').trim().toLowerCase()),
    appName:
      env.PYROSCOPE_APPLICATION_NAME?.trim() ||
      env.OTEL_SERVICE_NAME?.trim() ||
      serviceName ||
      'unknown_service:node',
    spanLabels:
      !OFF_WORDS.has((env.HOTPATH_PROFILING_SPAN_LABELS ?? '').trim().toLowerCase()) && asyncContextFrame(),
  };
}

interface TimeProfiler {
  start(options: object): void;
  isStarted(): boolean;
  runWithContext<R>(context: object, f: () => R): R;
  getContext(): unknown;
}

interface PyroscopeSdk {
  init(config: { appName: string }): void;
  start(): void;
  stop(): Promise<void>;
}

/**
 * The SDK, and its own copy of @datadog/pprof (the one whose `time.start` it calls), loaded only when profiling
 * is on: with it off, no native addon is loaded into the app.
 */
function loadSdk(): { pyroscope: PyroscopeSdk; time: TimeProfiler } {
  const require = createRequire(import.meta.url);
  const path = require.resolve('@pyroscope/nodejs');
  const time = (createRequire(path)('@datadog/pprof') as { time: TimeProfiler }).time;
  const sdk = require(path) as PyroscopeSdk & { default?: PyroscopeSdk };
  return { pyroscope: sdk.default ?? sdk, time };
}

/** What a wall sample carries: read by the SDK (`{...context.labels}`) when the profile is serialised. */
interface SampleContext {
  readonly labels: Record<string, string>;
}

/**
 * OpenTelemetry's AsyncLocalStorage context manager, which also enters a server span's profile labels when it
 * enters the span's context: everything that runs for the request, across `await`s, is sampled with them.
 */
export class ProfilingContextManager extends AsyncLocalStorageContextManager {
  private readonly contexts = new WeakMap<Span, SampleContext>();
  private readonly time: TimeProfiler;

  constructor(time: TimeProfiler) {
    super();
    this.time = time;
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const sample = this.sampleContext(context);
    if (sample === undefined) return super.with(context, fn, thisArg, ...args);
    return this.time.runWithContext(sample, () => super.with(context, fn, thisArg, ...args));
  }

  /** The labels to enter for this context: only a server span's, and only if not already entered. */
  private sampleContext(context: Context): SampleContext | undefined {
    const span = trace.getSpan(context);
    if (span === undefined || (span as { kind?: SpanKind }).kind !== SpanKind.SERVER) return undefined;
    if (!this.time.isStarted()) return undefined;
    let sample = this.contexts.get(span);
    if (sample === undefined) {
      const spanId = span.spanContext().spanId;
      const named = span as { name?: string };
      sample = {
        labels: {
          span_id: spanId,
          // Read when the profile is serialised, after the route has renamed the span.
          get span_name() {
            return named.name ?? '';
          },
        },
      };
      this.contexts.set(span, sample);
      span.setAttribute(ATTR_PYROSCOPE_PROFILE_ID, spanId);
    }
    return this.time.getContext() === sample ? undefined : sample;
  }
}

export interface ProfilingHandle {
  /** The context manager to give the SDK (span labels), when profiling runs with them. */
  readonly contextManager: AsyncLocalStorageContextManager | undefined;
  /** Sends the last profiles and stops; bounded by the caller. */
  stop(): Promise<void>;
}

const OFF: ProfilingHandle = { contextManager: undefined, stop: async () => {} };

/** Starts the Pyroscope SDK when `HOTPATH_PROFILING=on`; never throws. */
export function startProfiling(config: ProfilingConfig): ProfilingHandle {
  if (!config.enabled) return OFF;
  try {
    const { pyroscope, time } = loadSdk();
    if (config.spanLabels) {
      const start = time.start.bind(time);
      time.start = (options: object) => start({ ...options, useCPED: true });
    } else if (asyncContextFrame()) {
      diag.info(
        '@hotpath/instrumentation: profiles are taken without span labels (HOTPATH_PROFILING_SPAN_LABELS=off)',
      );
    } else {
      diag.warn(
        '@hotpath/instrumentation: profiles are taken without span labels: this Node has no AsyncContextFrame ' +
          '(Node 24, or --experimental-async-context-frame on 22)',
      );
    }
    pyroscope.init({ appName: config.appName });
    pyroscope.start();
    return {
      contextManager: config.spanLabels ? new ProfilingContextManager(time) : undefined,
      stop: () => pyroscope.stop(),
    };
  } catch (error) {
    diag.error('@hotpath/instrumentation: could not start profiling; the app runs without it', error);
    return OFF;
  }
}
