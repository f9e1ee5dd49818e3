/**
 * One analysis: snapshot (I/O) → detectors (pure) → ranked findings. The same pipeline backs `hotpath analyze`
 * (one shot, CI gates) and, later, every scheduled cycle of `hotpath serve`.
 */
import { detectAll } from './detectors/index.ts';
import { rank } from './findings.ts';
import { limitsFor } from './limits.ts';
import { objectivesFor, type SloFile } from './slo.ts';
import type { PrometheusClient } from './sources/prometheus.ts';
import { takeSnapshot } from './sources/snapshot.ts';
import { analyzeTraces } from './traces/collect.ts';
import type { TraceSource } from './traces/source.ts';
import type { Finding, Snapshot } from './types.ts';

export interface AnalysisOptions {
  readonly prometheus: PrometheusClient;
  readonly slo: SloFile;
  readonly window: string;
  readonly databaseUrl?: string;
  readonly databaseService?: string;
  /** Where traces come from (Tempo, or the analyzer's own OTLP receiver); no trace detectors without it. */
  readonly traces?: TraceSource;
  readonly at?: Date;
}

/** What the trace step read: `read` is false when there is no trace source (or it failed: `error`). */
export interface TraceCoverage {
  readonly read: boolean;
  readonly traces: number;
  /** The routes whose traces were read, as `service\0METHOD /route`. */
  readonly routes: readonly string[];
  readonly error?: string;
  /** The error itself (an `UpstreamError` naming the source, usually). */
  readonly cause?: unknown;
}

export interface Analysis {
  readonly snapshot: Snapshot;
  readonly findings: readonly Finding[];
  readonly traces: TraceCoverage;
}

/** Findings whose time-breakdown explains them: the slow route's own findings. */
const EXPLAINED = new Set<string>(['slow-endpoint', 'latency-regression']);

export async function analyze(options: AnalysisOptions): Promise<Analysis> {
  const snapshot = await takeSnapshot(options);
  // Each service is judged against its own objectives (slo.yaml overrides), so detectors run per service.
  const services = new Set([
    ...snapshot.routes.map((r) => r.service),
    ...snapshot.runtime.map((r) => r.service),
    ...snapshot.pools.map((p) => p.service),
    ...snapshot.statements.map((s) => s.service),
  ]);
  const findings: Finding[] = [];
  for (const service of services) {
    const only = <T extends { service: string }>(items: readonly T[]) =>
      items.filter((i) => i.service === service);
    const scoped: Snapshot = {
      ...snapshot,
      routes: only(snapshot.routes),
      runtime: only(snapshot.runtime),
      pools: only(snapshot.pools),
      statements: only(snapshot.statements),
    };
    findings.push(...detectAll(scoped, limitsFor(objectivesFor(options.slo, serviceName(service)))));
  }
  let traces: TraceCoverage = { read: false, traces: 0, routes: [] };
  if (options.traces !== undefined) {
    try {
      const step = await analyzeTraces(snapshot, { source: options.traces });
      traces = { read: true, traces: step.traces, routes: step.routes };
      findings.push(...explainSlowRoutes(findings, step.findings));
    } catch (error) {
      // Metric findings stand on their own: a trace source that fails costs the trace findings of this cycle only.
      traces = {
        read: false,
        traces: 0,
        routes: [],
        error: error instanceof Error ? error.message : String(error),
        cause: error,
      };
    }
  }
  return { snapshot, findings: rank(findings), traces };
}

/**
 * Trace findings to report, and the slow routes they explain. A time breakdown on its own is a description,
 * not a bottleneck: it is kept only for a route that already has a slow-endpoint or regression finding, whose
 * summary then says where the time goes ("82 % of GET /orders/:id is one statement").
 */
function explainSlowRoutes(findings: Finding[], fromTraces: readonly Finding[]): Finding[] {
  const kept: Finding[] = [];
  for (const t of fromTraces) {
    if (t.kind !== 'time-breakdown') {
      kept.push(t);
      continue;
    }
    let explains = false;
    findings.forEach((f, i) => {
      if (!EXPLAINED.has(f.kind) || f.service !== t.service || f.subject !== t.subject) return;
      explains = true;
      findings[i] = {
        ...f,
        summary: `${f.summary} Where the time goes: ${t.title}.`,
        evidence: {
          ...f.evidence,
          queries: [...f.evidence.queries, ...t.evidence.queries],
          traceIds: [...(f.evidence.traceIds ?? []), ...(t.evidence.traceIds ?? [])].slice(0, 5),
        },
      };
    });
    if (explains) kept.push(t);
  }
  return kept;
}

/** The SLO file keys services by service.name; a job may be `namespace/name`. */
function serviceName(job: string): string {
  return job.includes('/') ? (job.split('/').at(-1) ?? job) : job;
}
