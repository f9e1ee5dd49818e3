/**
 * Per-request cost of instrumentation, measured side by side in one run: the same Express app bare, under
 * `--import @hotpath/instrumentation/register`, and under the stock
 * `--import @opentelemetry/auto-instrumentations-node/register`. Both instrumented variants export traces and
 * metrics over OTLP/HTTP to a local sink, so export cost is included. Rounds are interleaved (A B C A B C …) so
 * machine noise spreads over all variants; the medians are compared.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import { freePort, startProcess, waitFor } from '../scripts/lib/process.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 10;

const HOTPATH = ['--import', '@hotpath/instrumentation/register'];
const VARIANTS = {
  bare: { args: [] as string[], env: {} },
  hotpath: { args: HOTPATH, env: {} },
  // Hotpath with continuous profiling at the SDK's defaults: wall (100 Hz) and heap (every 512 KiB) profilers,
  // span labels entered for every request, a push every 60 s (so a round measures the profiling, not the upload).
  profiled: { args: HOTPATH, env: { HOTPATH_PROFILING: 'on' } as Record<string, string> },
  // The same without span labels: what entering the request's labels costs, the rest being the profilers'.
  unlabelled: {
    args: HOTPATH,
    env: { HOTPATH_PROFILING: 'on', HOTPATH_PROFILING_SPAN_LABELS: 'off' } as Record<string, string>,
  },
  stock: { args: ['--import', '@opentelemetry/auto-instrumentations-node/register'], env: {} },
} as const;
type Variant = keyof typeof VARIANTS;

/** An OTLP/HTTP endpoint that accepts and discards everything, like a healthy collector. */
async function startSink(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function measure(variant: Variant, sink: string): Promise<{ rps: number; p99: number; p50: number }> {
  const port = await freePort();
  const app = startProcess(
    variant,
    process.execPath,
    [...VARIANTS[variant].args, join(import.meta.dirname, 'app.mjs')],
    {
      cwd: REPO_ROOT,
      env: {
        ...(process.env as Record<string, string>),
        PORT: String(port),
        OTEL_SERVICE_NAME: `bench-${variant}`,
        OTEL_EXPORTER_OTLP_ENDPOINT: sink,
        OTEL_LOGS_EXPORTER: 'none',
        // The stock bundle's defaults, made comparable: same exporters, same metric interval.
        OTEL_METRIC_EXPORT_INTERVAL: '10000',
        OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance',
        PYROSCOPE_SERVER_ADDRESS: sink,
        ...VARIANTS[variant].env,
      },
    },
  );
  try {
    await waitFor(variant, 30_000, app, async () => app.output().includes('ready'));
    const url = `http://127.0.0.1:${port}/api/items/42`;
    await autocannon({ url, connections: CONNECTIONS, duration: 1 }); // warm-up: JIT, connections
    const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${variant}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return { rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50 };
  } finally {
    await app.stop('SIGKILL');
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export async function benchHttpOverhead(): Promise<void> {
  const sink = await startSink();
  const runs: Record<Variant, { rps: number[]; p99: number[]; p50: number[] }> = {
    bare: { rps: [], p99: [], p50: [] },
    hotpath: { rps: [], p99: [], p50: [] },
    profiled: { rps: [], p99: [], p50: [] },
    unlabelled: { rps: [], p99: [], p50: [] },
    stock: { rps: [], p99: [], p50: [] },
  };
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const variant of Object.keys(VARIANTS) as Variant[]) {
        process.stdout.write(`  round ${round}/${ROUNDS} ${variant.padEnd(10)}… `);
        const r = await measure(variant, sink.url);
        runs[variant].rps.push(r.rps);
        runs[variant].p99.push(r.p99);
        runs[variant].p50.push(r.p50);
        console.log(`${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms`);
      }
    }
  } finally {
    sink.close();
  }
  const rps = (v: Variant) => median(runs[v].rps);
  const p99 = (v: Variant) => median(runs[v].p99);
  // The app's single thread is saturated, so 1 / throughput is its time per request; the difference to bare is
  // what instrumentation adds to each request (mostly CPU on the event loop).
  const usPerRequest = (v: Variant) => 1e6 / rps(v) - 1e6 / rps('bare');
  const row = (v: Variant) =>
    `  ${v.padEnd(10)} ${String(Math.round(rps(v))).padEnd(9)} ${String(p99(v)).padEnd(8)} ` +
    (v === 'bare'
      ? '1.00'
      : `${(rps(v) / rps('bare')).toFixed(2)}                 ${usPerRequest(v).toFixed(0)} µs`);
  const vsHotpath = (v: Variant) =>
    `${(rps(v) / rps('hotpath')).toFixed(3)} (target ≥ 0.97), p99 ${(p99(v) / p99('hotpath')).toFixed(2)}×, ` +
    `${(1e6 / rps(v) - 1e6 / rps('hotpath')).toFixed(0)} µs per request`;
  console.log(`
HTTP overhead (Express 5, ${CONNECTIONS} connections, ${ROUNDS} × ${SECONDS} s interleaved, medians)
  variant      req/s     p99 ms   throughput vs bare   event-loop time added per request
${(Object.keys(VARIANTS) as Variant[]).map(row).join('\n')}
  hotpath throughput / stock throughput: ${(rps('hotpath') / rps('stock')).toFixed(2)}
  profiling: profiled throughput / hotpath throughput ${vsHotpath('profiled')}
  profiling without span labels: unlabelled throughput / hotpath throughput ${vsHotpath('unlabelled')}`);
}
