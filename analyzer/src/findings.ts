/**
 * What every detector shares: the stable finding id, severity from how far past its limit a value is, the
 * ranking reports and the API use, and the formatters that keep titles readable for a person.
 */
import { createHash } from 'node:crypto';
import { type Draft, factValues } from './facts.ts';
import type {
  Evidence,
  EvidenceQuery,
  Finding,
  FindingKind,
  RouteStats,
  Severity,
  Snapshot,
} from './types.ts';

/** What a detector writes: the draft without `evidence.values`, which the facts fill. */
export type DraftInput<K extends FindingKind> = Omit<Draft<K>, 'evidence'> & {
  readonly evidence: Omit<Evidence, 'values'> & { readonly values?: Evidence['values'] };
};

/** A draft whose evidence values are its scalar facts (and any extra values the detector gives). */
export function draft<K extends FindingKind>(input: DraftInput<K>): Draft<K> {
  const { values, ...evidence } = input.evidence;
  return {
    ...input,
    evidence: { ...evidence, values: { ...factValues(input.facts), ...values } },
  } as Draft<K>;
}

/**
 * The stable fingerprint of a finding: the same problem (kind, service, subject) gets the same id in every
 * cycle, so the store can follow its lifecycle. The kind prefix keeps ids readable in URLs and logs.
 */
export function findingId(kind: FindingKind, service: string, subject: string): string {
  const hash = createHash('sha256').update(`${kind}\0${service}\0${subject}`).digest('hex');
  return `${kind}-${hash.slice(0, 16)}`;
}

/** "Well past the objective": twice the limit (the SLO-based detectors' critical line). */
export const CRITICAL_FACTOR = 2;
/** An error ratio this many times the objective is critical (the error budget burns 5× too fast). */
export const CRITICAL_ERROR_FACTOR = 5;

/** `critical` when `value` is at least `factor` × `limit`, otherwise `warning` (the caller knows it is over). */
export function severityFor(value: number, limit: number, factor: number = CRITICAL_FACTOR): Severity {
  return value >= limit * factor ? 'critical' : 'warning';
}

const SEVERITY_ORDER: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

/** Most severe first, then the most user time lost; ties by id so the order is the same every cycle. */
export function rank(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_ORDER[b.severity] - SEVERITY_ORDER[a.severity] ||
      b.impact - a.impact ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** A number that can be judged: present and finite (Prometheus answers NaN for an empty histogram). */
export function isNumber(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** The snapshot's queries under `keys`, in that order; keys the snapshot does not hold are left out. */
export function evidenceQueries(snapshot: Snapshot, keys: readonly string[]): EvidenceQuery[] {
  const out: EvidenceQuery[] = [];
  for (const key of keys) {
    const query = snapshot.queries[key];
    if (query !== undefined) out.push(query);
  }
  return out;
}

/** The subject of a route finding: `GET /api/products/:id`. */
/** A Prometheus job is `service.namespace/service.name`; the SLO file and Pyroscope key a service by the name. */
export function serviceNameOf(job: string): string {
  return job.includes('/') ? (job.split('/').at(-1) ?? job) : job;
}

export function routeSubject(route: Pick<RouteStats, 'method' | 'route'>): string {
  return `${route.method} ${route.route}`;
}

/** The request rate of all routes of `service` (0 when the snapshot has no route data for it). */
export function serviceRequestRate(snapshot: Snapshot, service: string): number {
  let sum = 0;
  for (const r of snapshot.routes) {
    if (r.service === service && isNumber(r.requestRate) && r.requestRate > 0) sum += r.requestRate;
  }
  return sum;
}

function significant(value: number, digits: number): string {
  return String(Number(value.toPrecision(digits)));
}

/** `0.4123` → `412 ms`, `0.0042` → `4.2 ms`, `2.5` → `2.5 s`. */
export function formatSeconds(seconds: number): string {
  if (Math.abs(seconds) >= 1) return `${significant(seconds, 3)} s`;
  const ms = seconds * 1000;
  return Math.abs(ms) >= 10 ? `${Math.round(ms)} ms` : `${significant(ms, 2)} ms`;
}

/** `3.14` → `3.1`, `123.4` → `123`, `0.0512` → `0.051`. */
export function formatNumber(value: number): string {
  return Math.abs(value) >= 10 ? String(Math.round(value)) : significant(value, 2);
}

/** `3.14` → `3.1 req/s`. */
export function formatRate(perSecond: number, unit = 'req/s'): string {
  return `${formatNumber(perSecond)} ${unit}`;
}

/** `0.4` → `40 %`, `0.0123` → `1.2 %`. */
export function formatPercent(ratio: number): string {
  return `${formatNumber(ratio * 100)} %`;
}

/** `312_000_000` → `312 MB` (decimal megabytes, as the SLO file counts them). */
export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) >= 1e9) return `${significant(bytes / 1e9, 3)} GB`;
  if (Math.abs(bytes) >= 1e6) return `${formatNumber(bytes / 1e6)} MB`;
  return `${formatNumber(bytes / 1e3)} kB`;
}

/** One line of SQL for a title: whitespace collapsed, cut at `max` characters. */
export function shortSql(sql: string, max = 80): string {
  const line = sql.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1).trimEnd()}…`;
}
