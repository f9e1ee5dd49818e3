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
import type { Trace } from '../analyzer/src/traces/model.ts';
import { DEFAULT_TRACE_LIMIT } from '../analyzer/src/traces/source.ts';
import { parseTraceResponse } from '../analyzer/src/traces/tempo.ts';
import { nPlusOneTempoBody, snapshotOf } from '../analyzer/src/traces/testdata.ts';

export interface TracesOptions {
  /** Rounds per size; the median ratio is printed. */
  readonly rounds: number;
}

const slo = loadSlo();
const limits = (service: string) => limitsFor(objectivesFor(slo, service));

async function pipeline(bodies: readonly string[]): Promise<number> {
  const traces: Trace[] = [];
  for (const text of bodies) {
    const trace = parseTraceResponse(JSON.parse(text) as unknown);
    if (trace !== null) traces.push(trace);
  }
  return detectAll(await snapshotOf(traces), limits).length;
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
    const bodies = Array.from({ length: DEFAULT_TRACE_LIMIT }, (_, n) => nPlusOneTempoBody(n + 1, queries));
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
