/**
 * Analyzer scale: synthetic series for 10, 100 and 1 000 services × 10 routes (the OTLP names and labels the
 * snapshot reads: the HTTP duration histogram with its real buckets, the runtime gauges and counters, a pool),
 * backfilled into the real Prometheus with `promtool tsdb create-blocks-from openmetrics`. For each size, one
 * analyzer cycle (the metrics path of `hotpath serve`: snapshot, detectors, correlation, recommendations) runs in
 * a process of its own (`bench/scale-cycle.ts`), and prints the PromQL count per cycle (which must not grow with
 * the services), the analyzer's CPU time and peak memory per cycle, Prometheus's CPU time for the same cycles,
 * and the growth from the smallest size to the largest.
 *
 * One service in ten has a slow route (p95 about 1 s) and another one in ten a blocked loop (p99 150 ms, its
 * longest delay 300 ms in every stretch), so each size also checks the detectors saw its data: 2 findings per 10 services.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { METRICS, type MetricSpec, prometheusName, prometheusSeries } from '@hotpath/instrumentation';
import { backfill, startPrometheus } from '../scripts/lib/prometheus.ts';
import type { CycleCost } from './scale-cycle.ts';

export interface ScaleOptions {
  /** 10 and 100 services only. */
  readonly quick: boolean;
}

const ROUTES = 10;
/** Seconds between samples: the instrumentation's default metric export interval. */
const STEP_S = 10;
/** The analysis window, and its baseline (the window before it): two windows of data and one step. */
const WINDOW = '1m';
const DATA_S = 150;
const CYCLES = 3;
const HERE = dirname(fileURLToPath(import.meta.url));

type Labels = Record<string, string>;

/** OpenMetrics text, one family (metric name) at a time, each series' points in time order. */
async function writeOpenMetrics(file: string, services: number, end: number): Promise<number> {
  const out = createWriteStream(file);
  let series = 0;
  const write = (text: string) =>
    out.write(text) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  const times = Array.from({ length: DATA_S / STEP_S + 1 }, (_, i) => end - DATA_S + i * STEP_S);
  const labelText = (labels: Labels) =>
    Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
  const instance = (i: number) => ({
    job: `svc-${String(i).padStart(4, '0')}`,
    instance: `10.0.${i >> 8}.${i & 255}:9464`,
  });
  async function family(name: string, each: (i: number) => [Labels, (t: number) => number][]) {
    for (let i = 0; i < services; i++) {
      for (const [labels, value] of each(i)) {
        series += 1;
        const l = labelText({ ...instance(i), ...labels });
        let chunk = '';
        for (const t of times) chunk += `${name}{${l}} ${value(t)} ${t}\n`;
        await write(chunk);
      }
    }
  }
  const since = (t: number) => t - (end - 3600);
  const route = (r: number) => ({
    http_route: `/api/things/${r}/:id`,
    http_request_method: 'GET',
    http_response_status_code: '200',
  });
  const rate = 5;
  const http = METRICS.httpServerRequestDuration;
  const buckets = [...(http.buckets ?? []), Number.POSITIVE_INFINITY];
  // Healthy: half the requests under 25 ms, all under 50 ms. Slow (route 0 of one service in ten): 95 % past
  // 50 ms, all under 1 s, so p95 ≈ 1 s against the 200 ms objective.
  const cdf = (slow: boolean, le: number) =>
    slow ? (le >= 1 ? 1 : le >= 0.05 ? 0.05 : 0) : le >= 0.05 ? 1 : le >= 0.025 ? 0.5 : 0;
  const routes = (i: number) =>
    Array.from({ length: ROUTES }, (_, r) => ({ r, slow: i % 10 === 3 && r === 0 }));
  await family(prometheusSeries(http, 'bucket'), (i) =>
    routes(i).flatMap(({ r, slow }) =>
      buckets.map((le): [Labels, (t: number) => number] => [
        { ...route(r), le: le === Number.POSITIVE_INFINITY ? '+Inf' : String(le) },
        (t) => Math.round(since(t) * rate * cdf(slow, le)),
      ]),
    ),
  );
  await family(prometheusSeries(http, 'count'), (i) =>
    routes(i).map(({ r }) => [route(r), (t) => since(t) * rate]),
  );
  await family(prometheusSeries(http, 'sum'), (i) =>
    routes(i).map(({ r, slow }) => [route(r), (t) => since(t) * rate * (slow ? 0.9 : 0.03)]),
  );
  const gauge = async (spec: MetricSpec, value: (i: number, t: number) => number, labels: Labels = {}) =>
    family(prometheusName(spec), (i) => [[labels, (t) => value(i, t)]]);
  // Blocked: the loop is held in most of every interval (p99 150 ms, longest 300 ms). With no traces to show a
  // request holding it, the analyzer judges the p99, so both are past the 100 ms limit.
  await gauge(METRICS.nodejsEventloopDelayP99, (i) => (i % 10 === 7 ? 0.15 : 0.011));
  await gauge(METRICS.nodejsEventloopDelayMax, (i) => (i % 10 === 7 ? 0.3 : 0.02));
  await gauge(METRICS.nodejsEventloopTime, (_, t) => since(t));
  await gauge(METRICS.nodejsEventloopUtilization, (i) => (i % 10 === 7 ? 0.4 : 0.1));
  await gauge(METRICS.v8jsMemoryHeapUsed, () => 60e6);
  await gauge(METRICS.hotpathV8jsHeapSizeLimit, () => 4.3e9);
  await gauge(METRICS.hotpathV8jsHeapLive, () => 40e6);
  await gauge(METRICS.processCpuTime, (_, t) => since(t) * 0.2);
  await family(prometheusSeries(METRICS.v8jsGcDuration, 'count'), () => [
    [{ v8js_gc_type: 'major' }, (t) => Math.floor(since(t) / 30)],
  ]);
  await family(prometheusSeries(METRICS.v8jsGcDuration, 'sum'), () => [
    [{ v8js_gc_type: 'major' }, (t) => since(t) * 0.002],
  ]);
  const pool = { db_client_connection_pool_name: 'db:5432/shop' };
  await gauge(METRICS.dbClientConnectionPendingRequests, () => 0, pool);
  await gauge(METRICS.dbClientConnectionCount, () => 2, { ...pool, db_client_connection_state: 'used' });
  await gauge(METRICS.dbClientConnectionMax, () => 10, pool);
  await write('# EOF\n');
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  return series;
}

/** CPU seconds Prometheus has used, from its own /metrics. */
async function prometheusCpu(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_cpu_seconds_total '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

function runCycle(url: string, at: number): Promise<CycleCost> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(HERE, 'scale-cycle.ts'), url, String(at), WINDOW, String(CYCLES)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`scale-cycle exited ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line) as CycleCost);
    });
  });
}

interface SizeResult extends CycleCost {
  readonly services: number;
  readonly series: number;
  readonly prometheusCpuMs: number;
}

async function measure(services: number): Promise<SizeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-scale-'));
  try {
    // Ten minutes in the past: clear of the head block Prometheus starts (it scrapes itself).
    const end = Math.floor(Date.now() / 1000 / STEP_S) * STEP_S - 600;
    const file = join(dir, 'series.om');
    const series = await writeOpenMetrics(file, services, end);
    const data = join(dir, 'data');
    backfill(file, data);
    rmSync(file);
    const prometheus = await startPrometheus({ dataDir: data, scrapeInterval: '10s' });
    try {
      const before = await prometheusCpu(prometheus.url);
      const cost = await runCycle(prometheus.url, end);
      const after = await prometheusCpu(prometheus.url);
      // The warm-up cycle is one of CYCLES + 1 that Prometheus answered.
      return { services, series, ...cost, prometheusCpuMs: ((after - before) * 1000) / (CYCLES + 1) };
    } finally {
      await prometheus.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchScale(options: ScaleOptions): Promise<void> {
  const sizes = options.quick ? [10, 100] : [10, 100, 1000];
  const results: SizeResult[] = [];
  for (const services of sizes) {
    process.stdout.write(`  ${services} services × ${ROUTES} routes: backfilling and analysing…\n`);
    results.push(await measure(services));
  }
  const row = (cells: (string | number)[]) =>
    `  ${cells.map((c, i) => String(c).padStart(i === 0 ? 8 : 12)).join('')}`;
  console.log(
    row([
      'services',
      'series',
      'PromQL',
      'CPU ms',
      'wall ms',
      'peak RSS+',
      'peak heap',
      'prom CPU ms',
      'findings',
    ]),
  );
  for (const r of results) {
    console.log(
      row([
        r.services,
        r.series,
        r.queries,
        r.cpuMs.toFixed(0),
        r.wallMs.toFixed(0),
        `${r.peakRssAddedMb.toFixed(0)} MB`,
        `${r.peakHeapMb.toFixed(0)} MB`,
        r.prometheusCpuMs.toFixed(0),
        `${r.findings}/${(r.services / 10) * 2}`,
      ]),
    );
  }
  const [small, large] = [results[0], results.at(-1)];
  if (small === undefined || large === undefined) return;
  const x = large.services / small.services;
  console.log(
    `  ${small.services} → ${large.services} services (×${x}): PromQL per cycle ×${(large.queries / small.queries).toFixed(2)}` +
      ` (flat is ×1.00), analyzer CPU ×${(large.cpuMs / small.cpuMs).toFixed(1)}, peak heap ×${(large.peakHeapMb / small.peakHeapMb).toFixed(1)},` +
      ` Prometheus CPU ×${(large.prometheusCpuMs / small.prometheusCpuMs).toFixed(1)}`,
  );
  console.log(
    `  longest query at ${large.services} services (${(large.slowestShare * 100).toFixed(0)} % of query time): ${large.slowestQuery}`,
  );
  const wrong = results.filter((r) => r.findings !== (r.services / 10) * 2);
  for (const r of wrong)
    console.log(`  ${r.services} services: ${r.findings} findings, ${JSON.stringify(r.kinds)}`);
}
