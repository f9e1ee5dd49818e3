/**
 * What instrumentation costs a real service, measured side by side in one run: the same Express 5 + pg app
 * (`bench/app.mjs`) bare, under the stock `--import @opentelemetry/auto-instrumentations-node/register` with its
 * defaults, and under `--import @hotpath/instrumentation/register` (and, in the full run, with profiling on), on
 * three routes: a trivial one, a pg read by primary key, and a pg read plus ~1 ms of CPU.
 *
 * Method, per round and route (rounds interleave the variants, bare first, so noise spreads over all of them):
 * - the app is pinned to CPU 0 (`taskset`), the driver (autocannon) and PostgreSQL to the other CPUs;
 * - capacity: 10 connections for `seconds`; 1 / throughput is the app's time per request on its one core, and
 *   the difference to bare is what the instrumentation adds to each request;
 * - fixed load: half of this round's bare capacity, as a constant rate, for `seconds`: the p99 a user sees at a
 *   sane utilisation (capacity runs measure queueing, not latency);
 * - RSS after both, from /proc: what the instrumentation adds to the process;
 * - OTLP bytes per request: what the sink received over both runs, over the requests served.
 * Each variant is run once against a live OTLP sink (accepts everything, like a healthy collector) and, in the
 * full run, against a refusing one (nothing listens: a collector that is down).
 *
 * Printed: medians over the rounds of per-round ratios to bare (and to stock), against the targets.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { liveSink, refusingSink, type Sink } from '../scripts/lib/collector-stubs.ts';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import { createDatabase, type PostgresServer, startPostgres, withClient } from '../scripts/lib/postgres.ts';
import { freePort, type ManagedProcess, startProcess, waitFor } from '../scripts/lib/process.ts';
import { render } from './work.mjs';

export interface OverheadOptions {
  readonly seconds: number;
  readonly rounds: number;
  /** Variants to run instead of the default set; bare and hotpath are always added (the ratios need them). */
  readonly variants?: readonly Variant[];
  /** The full run adds the profiled variant and the refusing sink. */
  readonly quick: boolean;
}

const CONNECTIONS = 10;
const HOTPATH = ['--import', '@hotpath/instrumentation/register'];
const VARIANTS = {
  bare: { args: [] as string[], env: {} as Record<string, string> },
  stock: { args: ['--import', '@opentelemetry/auto-instrumentations-node/register'], env: {} },
  hotpath: { args: HOTPATH, env: {} },
  // Continuous profiling at the SDK's defaults: wall 100 Hz, heap every 512 KiB, span labels, a push every 60 s.
  profiled: { args: HOTPATH, env: { HOTPATH_PROFILING: 'on' } },
  // Ablations, on request (`--variants`): where Hotpath's cost goes, one part taken away at a time. An exporter
  // of `none` makes NodeSDK register no provider for that signal at all (its own log says so), so these take the
  // whole signal away, not only its export: spans (or instruments) become no-ops.
  // No tracer provider: hotpath − this is tracing (span objects, attributes, the batch processor, export).
  untraced: { args: HOTPATH, env: { OTEL_TRACES_EXPORTER: 'none' } },
  // No meter provider: hotpath − this is metrics (recording, aggregation, export).
  unmetered: { args: HOTPATH, env: { OTEL_METRICS_EXPORTER: 'none' } },
  // Neither: what is left is the instrumentations' own plumbing (wrappers, context propagation).
  'no-signals': { args: HOTPATH, env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' } },
  // No span sampled: the instrumentations still run and make non-recording spans; metrics are recorded.
  unsampled: { args: HOTPATH, env: { OTEL_TRACES_SAMPLER: 'always_off' } },
  // The register loaded with the SDK switched off: what loading the package costs without any telemetry.
  disabled: { args: HOTPATH, env: { OTEL_SDK_DISABLED: 'true' } },
  // Calibration: bare plus a known 25 µs busy wait per request (bench/spin.mjs). What this rig reports for a
  // known amount of added work, to read the others' µs by.
  'spin-25us': { args: ['--import', './bench/spin.mjs'], env: { SPIN_US: '25' } },
  // Hotpath with V8's young generation capped (8 MB semi-spaces, V8's own flag): the knob an app owner has for
  // RSS under load, which grows towards the young generation's cap once telemetry's objects survive scavenges.
  // It makes scavenges more frequent; the GC column shows what that costs. The instrumentation never sets it.
  'young-capped': { args: ['--max-semi-space-size=8', ...HOTPATH], env: {} },
} as const;
export type Variant = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as Variant[];
/** The variant column's width: the longest name and a space. */
const WIDE = Math.max(...VARIANT_NAMES.map((v) => v.length)) + 1;

const ROUTES = {
  trivial: '/api/items/42',
  'pg read': '/api/products/42',
  'pg + 1 ms CPU': '/api/reports/42',
} as const;
type Route = keyof typeof ROUTES;

/** The targets (issue 16), each a ratio or a difference measured here. */
const TARGETS = {
  pgReadVsBare: 0.75,
  realisticVsBare: 0.95,
  pgReadVsStock: 1.8,
  fixedLoadP99VsBare: 1.3,
  rssAddedMb: 80,
};

interface Sample {
  rps: number;
  p99: number;
  fixedP99: number;
  rssMb: number;
  /** The heap after a full GC (bench/heap-probe.mjs): what the process retains. */
  heapUsedMb: number;
  /** The young generation's size before that GC: V8's sizing under this load. */
  youngMb: number;
  /** Time in GC pauses per request served (warm-up included), minor (scavenges) and major. */
  gcUsPerRequest: number;
  /** The app's CPU time (user + system, /proc) per request over the capacity run. */
  cpuUsPerRequest: number;
  otlpBytesPerRequest: number;
}

/** A database for `bench/app.mjs`: its 10 000-row `products` table, analysed. */
export async function benchDatabase(postgres: PostgresServer, name: string): Promise<string> {
  const databaseUrl = await createDatabase(postgres, name);
  await withClient(databaseUrl, async (c) => {
    await c.query('CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, price numeric NOT NULL)');
    await c.query(
      "INSERT INTO products SELECT i, 'product ' || i, (i % 100) + 0.99 FROM generate_series(1, 10000) AS i",
    );
    await c.query('ANALYZE products');
  });
  return databaseUrl;
}

/** `taskset` when the machine has it and more than one CPU: the app on CPU 0, everything else on the rest. */
const PIN = existsSync('/usr/bin/taskset') && availableParallelism() > 1;

function pinSelfAwayFromCpu0(): void {
  if (!PIN) return;
  const others = `1-${availableParallelism() - 1}`;
  execFileSync('/usr/bin/taskset', ['-a', '-p', '-c', others, String(process.pid)], { stdio: 'ignore' });
}

/** A process's CPU time so far (user + system), in seconds, from /proc (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  // Fields after the command's closing parenthesis (the last one: a command name may hold `) ` itself): utime
  // and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/**
 * Iterations of the report route's work that take about 1 ms here. Warmed up first, then the fastest of five
 * 50 ms runs: a cold first run (JIT, hash setup) measured half the work it should, which left the "realistic"
 * route with ~0.5 ms of CPU instead of ~1 ms.
 */
function calibrateCpuWork(): number {
  const row = { id: 42, name: 'product 42', price: '9.99' };
  render(row, 20_000);
  let n = 1000;
  while (time(() => render(row, n)) < 50) n *= 2;
  const best = Math.min(...Array.from({ length: 5 }, () => time(() => render(row, n))));
  return Math.max(1, Math.round(n / best));
}

function time(work: () => void): number {
  const started = performance.now();
  work();
  return performance.now() - started;
}

async function measure(
  variant: Variant,
  route: Route,
  sink: Sink,
  env: Record<string, string>,
  fixedRate: number | undefined,
  seconds: number,
): Promise<Sample> {
  const port = await freePort();
  const probe = join(tmpdir(), `hotpath-bench-heap-${process.pid}-${port}.json`);
  const node = [
    '--expose-gc',
    '--import',
    join(import.meta.dirname, 'heap-probe.mjs'),
    ...VARIANTS[variant].args,
    join(import.meta.dirname, 'app.mjs'),
  ];
  const [command, args] = PIN
    ? ['/usr/bin/taskset', ['-c', '0', process.execPath, ...node]]
    : [process.execPath, node];
  const app = startProcess(`${variant} ${route}`, command, args, {
    cwd: REPO_ROOT,
    env: {
      ...(process.env as Record<string, string>),
      ...env,
      PORT: String(port),
      HEAP_PROBE_OUT: probe,
      OTEL_SERVICE_NAME: `bench-${variant}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_LOGS_EXPORTER: 'none',
      // The same metric interval for both instrumented setups; the stock resource detectors minus the cloud
      // ones, which would probe metadata endpoints this machine cannot reach.
      OTEL_METRIC_EXPORT_INTERVAL: '10000',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance',
      PYROSCOPE_SERVER_ADDRESS: sink.url,
      ...VARIANTS[variant].env,
    },
  });
  try {
    await waitFor(`${variant} ${route}`, 30_000, app, async () => app.output().includes('ready'));
    const url = `http://127.0.0.1:${port}${ROUTES[route]}`;
    const warm = await autocannon({ url, connections: CONNECTIONS, duration: 1 }); // warm-up: JIT, pool, connections
    const bytesBefore = sink.bytes();
    const pid = app.child.pid;
    // taskset execs node in place: the child's pid is the app's.
    const cpuBefore = pid === undefined ? Number.NaN : cpuSeconds(pid);
    const capacity = await autocannon({ url, connections: CONNECTIONS, duration: seconds });
    const cpu = pid === undefined ? Number.NaN : cpuSeconds(pid) - cpuBefore;
    // Bare sets the rate of this round: half its capacity, constant.
    const rate = Math.max(1, Math.round((fixedRate ?? capacity.requests.average) / 2));
    const fixed = await autocannon({ url, connections: CONNECTIONS, duration: seconds, overallRate: rate });
    for (const [what, r] of [
      ['capacity', capacity],
      ['fixed load', fixed],
    ] as const) {
      if (r.non2xx > 0 || r.errors > 0) {
        throw new Error(`${variant} ${route} ${what}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      }
    }
    const rss = pid === undefined ? Number.NaN : rssMb(pid);
    const { gcMs, ...heap } = await heapProbe(app, probe);
    const served = warm.requests.total + capacity.requests.total + fixed.requests.total;
    return {
      rps: capacity.requests.average,
      p99: capacity.latency.p99,
      fixedP99: fixed.latency.p99,
      rssMb: rss,
      ...heap,
      gcUsPerRequest: ((gcMs.minor + gcMs.major) * 1000) / served,
      cpuUsPerRequest: (cpu * 1e6) / capacity.requests.total,
      otlpBytesPerRequest: (sink.bytes() - bytesBefore) / (capacity.requests.total + fixed.requests.total),
    };
  } finally {
    await app.stop('SIGKILL');
    rmSync(probe, { force: true });
  }
}

/** Asks the app's heap probe for its numbers (SIGUSR2) and waits for the file it writes. */
export async function heapProbe(app: ManagedProcess, file: string): Promise<HeapProbe> {
  app.child.kill('SIGUSR2');
  try {
    await waitFor('the heap probe', 10_000, app, async () => existsSync(file));
    return JSON.parse(readFileSync(file, 'utf8')) as HeapProbe;
  } catch {
    return { heapUsedMb: Number.NaN, youngMb: Number.NaN, gcMs: { minor: Number.NaN, major: Number.NaN } };
  }
}

/** What `bench/heap-probe.mjs` writes. */
export interface HeapProbe {
  readonly heapUsedMb: number;
  readonly youngMb: number;
  /** GC pauses since the process started, by kind. */
  readonly gcMs: { readonly minor: number; readonly major: number };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Median over the rounds of `f(variant sample, bare sample)` for one route. */
function medianOf(
  rounds: readonly Map<Variant, Sample>[],
  variant: Variant,
  f: (v: Sample, bare: Sample, stock: Sample | undefined) => number,
): number {
  return median(
    rounds.flatMap((round) => {
      const v = round.get(variant);
      const bare = round.get('bare');
      return v === undefined || bare === undefined ? [] : [f(v, bare, round.get('stock'))];
    }),
  );
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT MET');

function report(
  sink: Sink['kind'],
  variants: readonly Variant[],
  results: Map<Route, Map<Variant, Sample>[]>,
) {
  const lines = [
    `\nInstrumentation overhead, ${sink} OTLP sink (medians of per-round ratios to bare)`,
    `  route          ${'variant'.padEnd(WIDE)} req/s    ×bare  µs added  p99 ms  p99 @½ load ×bare  RSS MB  +MB vs bare  heap +MB  young MB  GC µs/req  CPU µs/req  OTLP B/req`,
  ];
  for (const [route, rounds] of results) {
    for (const v of variants) {
      const rps = medianOf(rounds, v, (s) => s.rps);
      lines.push(
        `  ${route.padEnd(14)} ${v.padEnd(WIDE)}${String(Math.round(rps)).padStart(6)}  ` +
          `${fmt(medianOf(rounds, v, (s, b) => s.rps / b.rps)).padStart(5)}  ` +
          `${fmt(
            medianOf(rounds, v, (s, b) => 1e6 / s.rps - 1e6 / b.rps),
            0,
          ).padStart(8)}  ` +
          `${fmt(
            medianOf(rounds, v, (s) => s.p99),
            0,
          ).padStart(6)}  ` +
          `${fmt(medianOf(rounds, v, (s, b) => s.fixedP99 / Math.max(1, b.fixedP99))).padStart(17)}  ` +
          `${fmt(
            medianOf(rounds, v, (s) => s.rssMb),
            0,
          ).padStart(6)}  ` +
          `${fmt(
            medianOf(rounds, v, (s, b) => s.rssMb - b.rssMb),
            0,
          ).padStart(11)}  ` +
          `${fmt(
            medianOf(rounds, v, (s, b) => s.heapUsedMb - b.heapUsedMb),
            0,
          ).padStart(8)}  ` +
          `${fmt(
            medianOf(rounds, v, (s) => s.youngMb),
            0,
          ).padStart(8)}  ` +
          `${fmt(
            medianOf(rounds, v, (s) => s.gcUsPerRequest),
            0,
          ).padStart(9)}  ` +
          `${fmt(
            medianOf(rounds, v, (s) => s.cpuUsPerRequest),
            0,
          ).padStart(10)}  ` +
          `${fmt(
            medianOf(rounds, v, (s) => s.otlpBytesPerRequest),
            0,
          ).padStart(10)}`,
      );
    }
  }
  const pg = results.get('pg read') ?? [];
  const realistic = results.get('pg + 1 ms CPU') ?? [];
  const pgVsBare = medianOf(pg, 'hotpath', (s, b) => s.rps / b.rps);
  const realisticVsBare = medianOf(realistic, 'hotpath', (s, b) => s.rps / b.rps);
  const pgVsStock = medianOf(pg, 'hotpath', (s, _b, stock) => s.rps / (stock?.rps ?? Number.NaN));
  const worstP99 = Math.max(
    ...[...results.values()].map((rounds) =>
      medianOf(rounds, 'hotpath', (s, b) => s.fixedP99 / Math.max(1, b.fixedP99)),
    ),
  );
  const worstRss = Math.max(
    ...[...results.values()].map((rounds) => medianOf(rounds, 'hotpath', (s, b) => s.rssMb - b.rssMb)),
  );
  lines.push(
    `  hotpath, pg read: ${fmt(pgVsBare)} of bare (target ≥ ${TARGETS.pgReadVsBare}): ${verdict(pgVsBare >= TARGETS.pgReadVsBare)}`,
    `  hotpath, pg + 1 ms CPU: ${fmt(realisticVsBare)} of bare (target ≥ ${TARGETS.realisticVsBare}): ${verdict(realisticVsBare >= TARGETS.realisticVsBare)}`,
    `  hotpath / stock, pg read: ${fmt(pgVsStock)}× (target ≥ ${TARGETS.pgReadVsStock}): ${verdict(pgVsStock >= TARGETS.pgReadVsStock)}`,
    `  hotpath p99 at half load, worst route: ${fmt(worstP99)}× bare (target ≤ ${TARGETS.fixedLoadP99VsBare}): ${verdict(worstP99 <= TARGETS.fixedLoadP99VsBare)}`,
    `  hotpath RSS added, worst route: ${fmt(worstRss, 0)} MB (target ≤ +${TARGETS.rssAddedMb} MB): ${verdict(worstRss <= TARGETS.rssAddedMb)}`,
  );
  console.log(lines.join('\n'));
}

export async function benchOverhead(options: OverheadOptions): Promise<void> {
  const variants: Variant[] =
    options.variants !== undefined
      ? [...new Set<Variant>(['bare', ...options.variants, 'hotpath'])]
      : options.quick
        ? ['bare', 'stock', 'hotpath']
        : ['bare', 'stock', 'hotpath', 'profiled'];
  pinSelfAwayFromCpu0();
  const cpuIterations = calibrateCpuWork();
  console.log(
    `  ${options.rounds} rounds × ${options.seconds} s per run, ${CONNECTIONS} connections, app ${PIN ? 'pinned to CPU 0' : 'not pinned (no taskset or one CPU)'}; ` +
      `report route: ${cpuIterations} hashes ≈ 1 ms`,
  );
  const postgres = await startPostgres();
  const sinks = options.quick ? [await liveSink()] : [await liveSink(), await refusingSink()];
  try {
    const databaseUrl = await benchDatabase(postgres, 'bench');
    const env = { DATABASE_URL: databaseUrl, CPU_ITERATIONS: String(cpuIterations) };
    for (const sink of sinks) {
      const results = new Map<Route, Map<Variant, Sample>[]>();
      for (let round = 1; round <= options.rounds; round++) {
        for (const route of Object.keys(ROUTES) as Route[]) {
          const samples = new Map<Variant, Sample>();
          for (const variant of variants) {
            process.stdout.write(
              `  ${sink.kind} round ${round}/${options.rounds} ${route.padEnd(14)} ${variant.padEnd(WIDE)}… `,
            );
            const s = await measure(variant, route, sink, env, samples.get('bare')?.rps, options.seconds);
            samples.set(variant, s);
            console.log(
              `${Math.round(s.rps)} req/s, p99 ${s.p99} ms, ½-load p99 ${s.fixedP99} ms, RSS ${s.rssMb.toFixed(0)} MB ` +
                `(heap ${s.heapUsedMb.toFixed(0)}, young ${s.youngMb.toFixed(0)}), GC ${s.gcUsPerRequest.toFixed(0)} µs/req, ` +
                `${s.otlpBytesPerRequest.toFixed(0)} OTLP B/req`,
            );
          }
          results.set(route, [...(results.get(route) ?? []), samples]);
        }
      }
      report(sink.kind, variants, results);
    }
  } finally {
    for (const sink of sinks) sink.close();
    await postgres.stop();
  }
}
