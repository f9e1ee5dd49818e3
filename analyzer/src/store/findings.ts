/**
 * The findings aggregate in the analyzer's store: what each cycle found, reconciled with what is stored
 * (lifecycle rules in lifecycle.ts), the transitions people make, and the history of both.
 */
import type pg from 'pg';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { Finding, FindingKind, Layer, Severity } from '../types.ts';
import { allowedTransitions, canTransition, cycleOutcome, type Status } from './lifecycle.ts';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** A finding as stored: what the analyzer found last, plus where it is in its lifecycle. */
export interface StoredFinding extends Finding {
  readonly status: Status;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Cycles in a row that did not see it; it auto-resolves at the configured count. */
  readonly cleanCycles: number;
  readonly updatedAt: string;
}

/** One entry of a finding's history: a lifecycle change or a change of severity. */
export interface FindingEvent {
  readonly id: number;
  readonly at: string;
  readonly from: Status | null;
  readonly to: Status;
  /** A person (the JWT subject) or `analyzer`. */
  readonly actor: string;
  readonly note: string | null;
  readonly runId: number | null;
}

export interface CycleChanges {
  readonly opened: number;
  readonly updated: number;
  readonly reopened: number;
  readonly resolved: number;
}

export const ANALYZER_ACTOR = 'analyzer';

interface FindingRow {
  id: string;
  kind: string;
  layer: string;
  service: string;
  subject: string;
  severity: string;
  impact: number;
  status: string;
  title: string;
  summary: string;
  evidence: Finding['evidence'];
  recommendations: Finding['recommendations'];
  first_seen: Date;
  last_seen: Date;
  clean_cycles: number;
  updated_at: Date;
}

const COLUMNS = `id, kind, layer, service, subject, severity, impact, status, title, summary, evidence,
  recommendations, first_seen, last_seen, clean_cycles, updated_at`;

function toFinding(row: FindingRow): StoredFinding {
  return {
    id: row.id,
    kind: row.kind as FindingKind,
    layer: row.layer as Layer,
    service: row.service,
    subject: row.subject,
    severity: row.severity as Severity,
    impact: row.impact,
    title: row.title,
    summary: row.summary,
    evidence: row.evidence,
    recommendations: row.recommendations,
    status: row.status as Status,
    firstSeen: row.first_seen.toISOString(),
    lastSeen: row.last_seen.toISOString(),
    cleanCycles: row.clean_cycles,
    updatedAt: row.updated_at.toISOString(),
  };
}

async function addEvent(
  db: Queryable,
  event: {
    findingId: string;
    from: Status | null;
    to: Status;
    actor: string;
    note: string | null;
    runId: number | null;
  },
): Promise<FindingEvent> {
  const { rows } = await db.query<{ id: string; at: Date }>(
    `INSERT INTO finding_events (finding_id, from_status, to_status, actor, note, run_id)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, at`,
    [event.findingId, event.from, event.to, event.actor, event.note, event.runId],
  );
  const row = rows[0];
  if (row === undefined) throw new Error('INSERT … RETURNING returned no row');
  return {
    id: Number(row.id),
    at: row.at.toISOString(),
    from: event.from,
    to: event.to,
    actor: event.actor,
    note: event.note,
    runId: event.runId,
  };
}

export interface RecordCycleOptions {
  readonly runId: number;
  /** Clean cycles after which an active finding is resolved by the analyzer. */
  readonly autoResolveAfter: number;
  /** Whether this cycle looked at the finding's service and source (see `cycleOutcome`). */
  readonly covered: (finding: {
    readonly kind: string;
    readonly service: string;
    readonly subject: string;
    /** The stored evidence values (a trace finding's `route` or `routes`). */
    readonly values?: Readonly<Record<string, number | string>> | null;
  }) => boolean;
}

/**
 * Reconciles one cycle's findings with the store, in the caller's transaction (`client` inside BEGIN … COMMIT):
 * new ones open, known ones are refreshed, resolved ones that are back reopen, absent ones count clean cycles
 * and resolve after N. Every status or severity change is an event of the run.
 */
/**
 * One finding per id: two with one id (two statement rows the detectors did not merge, say) would insert twice
 * and fail the cycle on the primary key. The one with the most impact stands.
 */
function uniqueById(findings: readonly Finding[]): Finding[] {
  const byId = new Map<string, Finding>();
  for (const f of findings) {
    const other = byId.get(f.id);
    if (other === undefined || f.impact > other.impact) byId.set(f.id, f);
  }
  return [...byId.values()];
}

export async function recordCycle(
  client: pg.PoolClient,
  findings: readonly Finding[],
  options: RecordCycleOptions,
): Promise<CycleChanges> {
  const { rows } = await client.query<{
    id: string;
    kind: string;
    service: string;
    subject: string;
    status: Status;
    severity: string;
    clean_cycles: number;
    values: Readonly<Record<string, number | string>> | null;
  }>(
    `SELECT id, kind, service, subject, status, severity, clean_cycles, evidence->'values' AS values
     FROM findings FOR UPDATE`,
  );
  const stored = new Map(rows.map((r) => [r.id, r]));
  const changes = { opened: 0, updated: 0, reopened: 0, resolved: 0 };
  const event = (findingId: string, from: Status | null, to: Status, note: string) =>
    addEvent(client, { findingId, from, to, actor: ANALYZER_ACTOR, note, runId: options.runId });

  for (const f of uniqueById(findings)) {
    const row = stored.get(f.id);
    if (row === undefined) {
      await client.query(
        `INSERT INTO findings (id, kind, layer, service, subject, severity, impact, status, title, summary,
           evidence, recommendations)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11)`,
        [
          f.id,
          f.kind,
          f.layer,
          f.service,
          f.subject,
          f.severity,
          f.impact,
          f.title,
          f.summary,
          JSON.stringify(f.evidence),
          JSON.stringify(f.recommendations),
        ],
      );
      await event(f.id, null, 'open', `detected (${f.severity}): ${f.title}`);
      changes.opened++;
      continue;
    }
    const outcome = cycleOutcome({ status: row.status, cleanCycles: row.clean_cycles }, true, true, 1);
    if (outcome.action === 'none' || outcome.action === 'clean' || outcome.action === 'auto-resolve')
      continue;
    await client.query(
      `UPDATE findings SET severity = $2, impact = $3, title = $4, summary = $5, evidence = $6,
         recommendations = $7, status = $8, clean_cycles = 0, last_seen = now(), updated_at = now()
       WHERE id = $1`,
      [
        f.id,
        f.severity,
        f.impact,
        f.title,
        f.summary,
        JSON.stringify(f.evidence),
        JSON.stringify(f.recommendations),
        outcome.status,
      ],
    );
    if (outcome.action === 'reopen') {
      await event(f.id, row.status, 'open', `regressed: detected again (${f.severity}): ${f.title}`);
      changes.reopened++;
    } else {
      if (row.severity !== f.severity) {
        await event(f.id, row.status, row.status, `severity ${row.severity} → ${f.severity}: ${f.title}`);
      }
      changes.updated++;
    }
  }

  const seen = new Set(findings.map((f) => f.id));
  for (const row of rows) {
    if (seen.has(row.id)) continue;
    const outcome = cycleOutcome(
      { status: row.status, cleanCycles: row.clean_cycles },
      false,
      options.covered(row),
      options.autoResolveAfter,
    );
    if (outcome.action === 'clean') {
      await client.query('UPDATE findings SET clean_cycles = $2 WHERE id = $1', [
        row.id,
        outcome.cleanCycles,
      ]);
    } else if (outcome.action === 'auto-resolve') {
      await client.query(
        `UPDATE findings SET status = 'resolved', clean_cycles = $2, updated_at = now() WHERE id = $1`,
        [row.id, outcome.cleanCycles],
      );
      await event(row.id, row.status, 'resolved', `not seen for ${outcome.cleanCycles} cycles in a row`);
      changes.resolved++;
    }
  }
  return changes;
}

export interface FindingFilter {
  readonly service?: string | undefined;
  /**
   * A route (`/api/orders`), a route with its method (`POST /api/orders`) or any finding's subject: the findings
   * about it, and the causes that absorbed a finding about it as a symptom (so an alert on a route links to why).
   */
  readonly subject?: string | undefined;
  readonly layer?: readonly Layer[] | undefined;
  readonly severity?: readonly Severity[] | undefined;
  readonly status?: readonly Status[] | undefined;
  readonly kind?: readonly string[] | undefined;
  readonly limit: number;
  readonly offset: number;
}

/** Findings matching `filter`, ranked like reports (severity, then impact), with the total count. */
export async function listFindings(
  db: Queryable,
  filter: FindingFilter,
): Promise<{ readonly items: StoredFinding[]; readonly total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.service !== undefined) add('service = ?', filter.service);
  if (filter.subject !== undefined) {
    params.push(filter.subject);
    // A subject `METHOD /route` also answers to the bare route (Prometheus' error ratios are by route only).
    const about = (x: string) => `$${params.length} IN (${x}, regexp_replace(${x}, '^[A-Z]+ ', ''))`;
    where.push(
      `(${about('subject')} OR EXISTS (SELECT 1 FROM jsonb_array_elements(` +
        `CASE WHEN jsonb_typeof(evidence->'symptoms') = 'array' THEN evidence->'symptoms' ELSE '[]'::jsonb END` +
        `) AS symptom WHERE ${about("symptom->>'subject'")}))`,
    );
  }
  if (filter.layer !== undefined) add('layer = ANY(?)', filter.layer);
  if (filter.severity !== undefined) add('severity = ANY(?)', filter.severity);
  if (filter.status !== undefined) add('status = ANY(?)', filter.status);
  if (filter.kind !== undefined) add('kind = ANY(?)', filter.kind);
  const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
  const total = await db.query<{ n: string }>(`SELECT count(*) AS n FROM findings ${clause}`, params);
  const { rows } = await db.query<FindingRow>(
    `SELECT ${COLUMNS} FROM findings ${clause}
     ORDER BY CASE severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END DESC, impact DESC, id
     LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, filter.limit, filter.offset],
  );
  return { items: rows.map(toFinding), total: Number(total.rows[0]?.n ?? 0) };
}

export async function getFinding(db: Queryable, id: string): Promise<StoredFinding> {
  const { rows } = await db.query<FindingRow>(`SELECT ${COLUMNS} FROM findings WHERE id = $1`, [id]);
  const row = rows[0];
  if (row === undefined) throw new NotFoundError(`finding ${id} does not exist`);
  return toFinding(row);
}

/** Every event of a finding, oldest first. */
export async function findingHistory(db: Queryable, id: string): Promise<FindingEvent[]> {
  await getFinding(db, id);
  const { rows } = await db.query<{
    id: string;
    at: Date;
    from_status: Status | null;
    to_status: Status;
    actor: string;
    note: string | null;
    run_id: string | null;
  }>(
    `SELECT id, at, from_status, to_status, actor, note, run_id FROM finding_events
     WHERE finding_id = $1 ORDER BY at, id`,
    [id],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.at.toISOString(),
    from: r.from_status,
    to: r.to_status,
    actor: r.actor,
    note: r.note,
    runId: r.run_id === null ? null : Number(r.run_id),
  }));
}

/** A person moves a finding through its lifecycle; the event records who and why. */
export async function transitionFinding(
  pool: pg.Pool,
  id: string,
  to: Status,
  actor: string,
  note: string | null,
): Promise<{ readonly finding: StoredFinding; readonly event: FindingEvent }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ status: Status }>(
      'SELECT status FROM findings WHERE id = $1 FOR UPDATE',
      [id],
    );
    const from = rows[0]?.status;
    if (from === undefined) throw new NotFoundError(`finding ${id} does not exist`);
    if (!canTransition(from, to)) {
      const allowed = allowedTransitions(from);
      throw new ConflictError(
        `finding ${id} is ${from}; from ${from} it can move to ${allowed.join(', ')}, not to ${to}`,
      );
    }
    await client.query(
      'UPDATE findings SET status = $2, clean_cycles = 0, updated_at = now() WHERE id = $1',
      [id, to],
    );
    const event = await addEvent(client, { findingId: id, from, to, actor, note, runId: null });
    const finding = await getFinding(client, id);
    await client.query('COMMIT');
    return { finding, event };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export interface OpenCount {
  readonly layer: string;
  readonly kind: string;
  readonly severity: string;
  readonly service: string;
  readonly count: number;
}

/** Active (open or acknowledged) findings by layer, kind, severity and service: `hotpath.findings.open`. */
export async function openCounts(db: Queryable): Promise<OpenCount[]> {
  const { rows } = await db.query<{
    layer: string;
    kind: string;
    severity: string;
    service: string;
    n: string;
  }>(
    `SELECT layer, kind, severity, service, count(*) AS n FROM findings
     WHERE status IN ('open', 'acknowledged') GROUP BY layer, kind, severity, service`,
  );
  return rows.map((r) => ({
    layer: r.layer,
    kind: r.kind,
    severity: r.severity,
    service: r.service,
    count: Number(r.n),
  }));
}
