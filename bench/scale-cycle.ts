/**
 * One process per size for `bench/scale.ts`: runs the analyzer's cycle (snapshot → detectors → correlation →
 * recommendations, the metrics path of `hotpath serve`) against the Prometheus at `url`, at the instant `at`,
 * and prints what it cost as one JSON line. A first cycle warms the JIT and is not counted. Its own process, so
 * the peak RSS it reports is this size's alone.
 *
 *   node bench/scale-cycle.ts <prometheus url> <at, Unix seconds> <window> <cycles>
 */
import { resourceUsage } from 'node:process';
import { analyze } from '../analyzer/src/analyze.ts';
import { loadSlo } from '../analyzer/src/slo.ts';
import { PrometheusClient } from '../analyzer/src/sources/prometheus.ts';

export interface CycleCost {
  /** PromQL requests (instant and range) per cycle. */
  readonly queries: number;
  /** The analyzer's CPU time per cycle (user + system), median over the counted cycles. */
  readonly cpuMs: number;
  readonly wallMs: number;
  /** Peak RSS of the process over the cycles, less its RSS before the first cycle. */
  readonly peakRssAddedMb: number;
  /** Peak V8 heap in use during the cycles, sampled every 5 ms. */
  readonly peakHeapMb: number;
  readonly findings: number;
  /** The expression with the longest total wall time, and its share of the cycle's query time. */
  readonly slowestQuery: string;
  readonly slowestShare: number;
  readonly kinds: Readonly<Record<string, number>>;
}

const [url, atSeconds, window = '1m', cyclesText = '3'] = process.argv.slice(2);
if (url === undefined || atSeconds === undefined) {
  console.error('usage: node bench/scale-cycle.ts <prometheus url> <at, Unix seconds> [window] [cycles]');
  process.exit(2);
}
let queries = 0;
/** Wall time per PromQL expression over the counted cycles, to name the one Prometheus spends longest on. */
const spent = new Map<string, number>();
const counting: typeof fetch = async (input, init) => {
  queries += 1;
  const t0 = performance.now();
  try {
    return await fetch(input, init);
  } finally {
    const body = init?.body instanceof URLSearchParams ? init.body : new URL(String(input)).searchParams;
    const query = body.get('query') ?? '';
    spent.set(query, (spent.get(query) ?? 0) + performance.now() - t0);
  }
};
const prometheus = new PrometheusClient({ url, fetch: counting, timeoutMs: 120_000 });
const slo = loadSlo();
const at = new Date(Number(atSeconds) * 1000);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const rssBefore = process.memoryUsage().rss;
let peakHeap = 0;
const sampler = setInterval(() => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 5);
await analyze({ prometheus, slo, window, at });
const cpu: number[] = [];
const wall: number[] = [];
const perCycle: number[] = [];
let last: Awaited<ReturnType<typeof analyze>> | undefined;
spent.clear();
for (let i = 0; i < Number(cyclesText); i++) {
  queries = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  last = await analyze({ prometheus, slo, window, at });
  wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  perCycle.push(queries);
}
clearInterval(sampler);
const kinds: Record<string, number> = {};
for (const f of last?.findings ?? []) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
const [slowest = '', slowestMs = 0] = [...spent].sort((a, b) => b[1] - a[1])[0] ?? [];
const totalMs = [...spent.values()].reduce((a, b) => a + b, 0);
const cost: CycleCost = {
  queries: Math.max(...perCycle),
  cpuMs: median(cpu),
  wallMs: median(wall),
  peakRssAddedMb: (resourceUsage().maxRSS * 1024 - rssBefore) / 1e6,
  peakHeapMb: peakHeap / 1e6,
  findings: last?.findings.length ?? 0,
  slowestQuery: slowest.replace(/\s+/g, ' ').slice(0, 160),
  slowestShare: totalMs > 0 ? slowestMs / totalMs : 0,
  kinds,
};
console.log(JSON.stringify(cost));
