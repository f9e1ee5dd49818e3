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
import type { Finding, Snapshot } from './types.ts';

export interface AnalysisOptions {
  readonly prometheus: PrometheusClient;
  readonly slo: SloFile;
  readonly window: string;
  readonly databaseUrl?: string;
  readonly databaseService?: string;
  readonly at?: Date;
}

export interface Analysis {
  readonly snapshot: Snapshot;
  readonly findings: readonly Finding[];
}

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
  return { snapshot, findings: rank(findings) };
}

/** The SLO file keys services by service.name; a job may be `namespace/name`. */
function serviceName(job: string): string {
  return job.includes('/') ? (job.split('/').at(-1) ?? job) : job;
}
