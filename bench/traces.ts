/**
 * Trace throughput: spans per second through what a cycle does with the traces it reads (the trace-by-id body
 * parsed and validated into the span model, statements fingerprinted with libpg-query, every detector run),
 * as a ratio against a plain `JSON.parse` of the same bodies, measured side by side in interleaved rounds.
 *
 * The bodies are real-shaped: the recorded Tempo body of a Node Express + pg request
 * (`../shared/fixtures/tempo/trace-body.nodejs-express-pg-failed.grafana-tempo.json`, gogo-jsonpb, base64 ids,
 * one resource per span as Tempo returns them), under a fresh trace id per body, with its `pg.query` span
 * repeated under the request as an N+1 would repeat it: as recorded (15 spans), 200 and 2 000 queries. Each
 * size is 20 bodies, the traces a cycle reads for a route (DEFAULT_TRACE_LIMIT).
 */
import { detectAll } from '../analyzer/src/detectors/index.ts';
import { limitsFor } from '../analyzer/src/limits.ts';
import { loadSlo, objectivesFor } from '../analyzer/src/slo.ts';
import { traceData } from '../analyzer/src/traces/fingerprint.ts';
import type { Trace } from '../analyzer/src/traces/model.ts';
import { DEFAULT_TRACE_LIMIT } from '../analyzer/src/traces/source.ts';
import { parseTraceResponse } from '../analyzer/src/traces/tempo.ts';
import { FIXTURES, fixture } from '../analyzer/src/traces/testdata.ts';
import type { Snapshot } from '../analyzer/src/types.ts';

export interface TracesOptions {
  /** Rounds per size; the median ratio is printed. */
  readonly rounds: number;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}
interface ResourceSpans {
  scopeSpans: { spans: OtlpSpan[] }[];
}

const id = (bytes: number, n: number) => {
  const b = Buffer.alloc(bytes);
  b.writeUInt32BE(n >>> 0, bytes - 4);
  b[0] = 0xab; // never all zeros, which OTLP defines as invalid
  return b.toString('base64');
};

/**
 * The recorded body under trace id `n`, its `pg.query` span repeated `queries` times one after another; what
 * began after the query moves later by the time the repeats add, and what was open around it (the request, the
 * client's span) ends that much later, so every span stays inside its parent as in a real trace.
 */
export function tempoBody(n: number, queries: number): string {
  const recorded = fixture(FIXTURES.failed) as { resourceSpans: ResourceSpans[] };
  const traceId = id(16, n);
  const spansOf = (rs: ResourceSpans) => rs.scopeSpans[0]?.spans[0];
  const query = recorded.resourceSpans.map(spansOf).find((s) => s?.name.startsWith('pg.query'));
  if (query === undefined) throw new Error(`${FIXTURES.failed} has no pg.query span`);
  const queryStart = BigInt(query.startTimeUnixNano);
  const length = BigInt(query.endTimeUnixNano) - queryStart;
  const added = BigInt(queries - 1) * length;
  const resourceSpans: ResourceSpans[] = [];
  let spanNo = 1;
  for (const rs of recorded.resourceSpans) {
    const span = spansOf(rs);
    if (span === undefined) continue;
    const start = BigInt(span.startTimeUnixNano);
    const end = BigInt(span.endTimeUnixNano);
    const copies =
      span === query
        ? Array.from({ length: queries }, (_, i) => ({
            spanId: id(8, 0x1000_0000 + spanNo++),
            start: start + BigInt(i) * length,
            end: end + BigInt(i) * length,
          }))
        : [
            {
              spanId: span.spanId,
              start: start > queryStart ? start + added : start,
              end: end > queryStart ? end + added : end,
            },
          ];
    for (const c of copies) {
      const copy = {
        ...span,
        traceId,
        spanId: c.spanId,
        startTimeUnixNano: String(c.start),
        endTimeUnixNano: String(c.end),
      };
      resourceSpans.push({ ...rs, scopeSpans: [{ ...rs.scopeSpans[0], spans: [copy] }] });
    }
  }
  return JSON.stringify({ resourceSpans });
}

const slo = loadSlo();
const limits = (service: string) => limitsFor(objectivesFor(slo, service));

async function pipeline(bodies: readonly string[]): Promise<number> {
  const traces: Trace[] = [];
  for (const text of bodies) {
    const trace = parseTraceResponse(JSON.parse(text) as unknown);
    if (trace !== null) traces.push(trace);
  }
  const snapshot: Snapshot = {
    at: new Date(),
    window: '15m',
    windowSeconds: 900,
    routes: [],
    runtime: [],
    pools: [],
    statements: [],
    traces: await traceData(traces, []),
    queries: {},
  };
  return detectAll(snapshot, limits).length;
}

function jsonOnly(bodies: readonly string[]): number {
  let n = 0;
  for (const text of bodies) n += (JSON.parse(text) as { resourceSpans: unknown[] }).resourceSpans.length;
  return n;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Runs `f` until it has taken at least 300 ms, and returns ms per call. */
async function timed(f: () => unknown): Promise<number> {
  let calls = 0;
  const t0 = performance.now();
  do {
    await f();
    calls += 1;
  } while (performance.now() - t0 < 300);
  return (performance.now() - t0) / calls;
}

export async function benchTraces(options: TracesOptions): Promise<void> {
  const row = (cells: (string | number)[]) =>
    `  ${cells.map((c, i) => String(c).padStart(i === 0 ? 14 : 16)).join('')}`;
  console.log(
    row(['spans / trace', 'KB / trace', 'JSON.parse sp/s', 'pipeline sp/s', 'pipeline × JSON', 'findings']),
  );
  for (const queries of [1, 200, 2000]) {
    const bodies = Array.from({ length: DEFAULT_TRACE_LIMIT }, (_, n) => tempoBody(n + 1, queries));
    const spans = jsonOnly(bodies);
    const findings = await pipeline(bodies); // warm-up, and what the detectors made of it
    const json: number[] = [];
    const full: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const a = await timed(() => jsonOnly(bodies));
      const b = await timed(() => pipeline(bodies));
      json.push((spans / a) * 1000);
      full.push((spans / b) * 1000);
      ratios.push(a / b);
    }
    console.log(
      row([
        spans / bodies.length,
        ((bodies[0]?.length ?? 0) / 1024).toFixed(0),
        median(json).toFixed(0),
        median(full).toFixed(0),
        median(ratios).toFixed(3),
        findings,
      ]),
    );
  }
}
