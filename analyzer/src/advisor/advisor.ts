/**
 * The database advisor: which indexes would remove the most database time, proven with hypothetical indexes
 * before a person creates one, and which statements only read tables nobody writes (cache candidates).
 *
 * 1. Workload: the window's statements by total time, whatever their mean (a 20 ms statement on every list
 *    page outweighs a 2 s report run twice), until only the tail is left (slo.yaml's advice_min_share_percent);
 *    what would remove less than that tail is not reported either, unless it serves a statement over the
 *    objective.
 * 2. Plans: each statement's generic plan (never executed).
 * 3. Candidates from the AST (`candidates.ts`), minus what an existing index already leads with.
 * 4. Each candidate as a HypoPG index: every workload statement on its table is planned again; then a small set
 *    is chosen for the whole workload (`select.ts`), and planned together once more for the final costs.
 * Without HypoPG, the candidates of statements whose plan scans the table sequentially are given as they are,
 * marked not verified.
 */

import type { LimitsOf } from '../detectors/index.ts';
import { estimatedP95Ms, isMaintenance, MIN_CALLS } from '../detectors/slow-statement.ts';
import type { Draft, ServedStatement } from '../facts.ts';
import {
  draft,
  evidenceQueries,
  findingId,
  formatBytes,
  formatNumber,
  formatPercent,
  formatRate,
  formatSeconds,
  isNumber,
  severityFor,
  shortSql,
} from '../findings.ts';
import { enclosingServerSpan, routeSubject, serviceJob, spanKey } from '../traces/model.ts';
import { indexTraces } from '../traces/requests.ts';
import type { Snapshot, StatementStats } from '../types.ts';
import {
  blockCandidates,
  type Candidate,
  type ColumnUse,
  type StatementShape,
  statementShape,
} from './candidates.ts';
import { AdvisorSession, messageOf, type PlanNode, type TableInfo, writtenName } from './database.ts';
import { indexesUsed, planFeatures, scansSequentially } from './plan.ts';
import { chooseIndexes, type IndexCandidate, MIN_COST_REDUCTION } from './select.ts';

/** At most this many workload statements: each costs one plan per candidate of its tables. */
export const MAX_STATEMENTS = 50;

export interface AdviseOptions {
  readonly databaseUrl: string;
  readonly limits: LimitsOf;
  readonly statementTimeoutMs?: number;
}

/** What the advisor did and could not do: said in every report, never a silent gap. */
export interface AdvisorCoverage {
  readonly ran: boolean;
  readonly hypopg: string | null;
  readonly statements: number;
  readonly planned: number;
  readonly candidates: number;
  /** Statements it could not plan, and why (a timeout, a type PREPARE cannot infer). */
  readonly unplanned: readonly { readonly statement: string; readonly error: string }[];
  readonly notes: readonly string[];
  readonly error?: string;
}

export interface Advice {
  readonly drafts: Draft<'missing-index' | 'cache-candidate'>[];
  readonly coverage: AdvisorCoverage;
}

interface Planned {
  readonly s: StatementStats;
  readonly shape: StatementShape;
  readonly plan: PlanNode;
  readonly secondsPerSecond: number;
  readonly callsPerSecond: number;
  /** Table keys (`writtenName`) the statement reads. */
  readonly tables: ReadonlySet<string>;
}

/** Calls per second and database time per second: over the window, or (unknown age) as if all in it. */
function rates(s: StatementStats, windowSeconds: number): { calls: number; seconds: number } {
  const calls = isNumber(s.callsPerSecond)
    ? (s.callsPerSecond ?? 0)
    : windowSeconds > 0
      ? s.calls / windowSeconds
      : 0;
  return { calls, seconds: (calls * s.meanMs) / 1000 };
}

/**
 * The workload statements: by total time, until they hold all but `tail` of it (the SLO file's
 * advice_min_share_percent), at most `MAX_STATEMENTS`.
 */
export function workload(statements: readonly StatementStats[], tail: number): StatementStats[] {
  const eligible = statements
    .filter((s) => isNumber(s.calls) && s.calls >= MIN_CALLS && !isMaintenance(s.query))
    .sort((a, b) => b.totalMs - a.totalMs);
  const total = eligible.reduce((sum, s) => sum + s.totalMs, 0);
  const out: StatementStats[] = [];
  let held = 0;
  for (const s of eligible) {
    if (out.length >= MAX_STATEMENTS || (total > 0 && held >= (1 - tail) * total)) break;
    out.push(s);
    held += s.totalMs;
  }
  return out;
}

/** Routes whose traces ran each statement fingerprint, by service. */
export function routesByFingerprint(snapshot: Snapshot): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  const data = snapshot.traces;
  if (data === undefined) return new Map();
  for (const { trace, tree } of indexTraces(data.traces)) {
    for (const span of trace.spans) {
      const print = data.fingerprints.get(spanKey(span));
      if (print === undefined) continue;
      const server = enclosingServerSpan(tree, span);
      if (server === undefined) continue;
      const key = `${serviceJob(server)}\0${print}`;
      const set = out.get(key) ?? new Set<string>();
      set.add(routeSubject(server));
      out.set(key, set);
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/** The database time per second of the window, over every statement (the base of the advisor's shares). */
function databaseTime(snapshot: Snapshot): number {
  return snapshot.statements.reduce((sum, s) => sum + rates(s, snapshot.windowSeconds).seconds, 0);
}

export async function advise(snapshot: Snapshot, options: AdviseOptions): Promise<Advice> {
  // One database, one service: the tail is that service's.
  const tail = options.limits(snapshot.statements[0]?.service ?? '').advisor.minShare;
  const chosen = workload(snapshot.statements, tail);
  const empty = {
    hypopg: null,
    statements: chosen.length,
    planned: 0,
    candidates: 0,
    unplanned: [],
    notes: [],
  };
  if (chosen.length === 0) return { drafts: [], coverage: { ran: true, ...empty } };
  let session: AdvisorSession;
  try {
    session = await AdvisorSession.open(options);
  } catch (error) {
    return { drafts: [], coverage: { ran: false, ...empty, error: `cannot connect: ${messageOf(error)}` } };
  }
  try {
    return await run(session, snapshot, chosen, options, tail);
  } catch (error) {
    return {
      drafts: [],
      coverage: { ran: false, ...empty, hypopg: session.hypopg, error: messageOf(error) },
    };
  } finally {
    await session.close();
  }
}

async function run(
  session: AdvisorSession,
  snapshot: Snapshot,
  statements: readonly StatementStats[],
  options: AdviseOptions,
  tail: number,
): Promise<Advice> {
  const notes: string[] = [];
  const unplanned: { statement: string; error: string }[] = [];
  const shapes = new Map<StatementStats, StatementShape>();
  for (const s of statements) {
    const shape = await statementShape(s.query);
    if (shape !== null) shapes.set(s, shape);
  }
  const names = [...shapes.values()].flatMap((sh) => sh.blocks.flatMap((b) => [...b.tables.values()]));
  const catalog = await session.tables(names);

  // Base plans.
  const planned: Planned[] = [];
  for (const [s, shape] of shapes) {
    const result = await session.plan(s.query);
    if (!result.ok) {
      unplanned.push({ statement: shortSql(s.query, 120), error: result.error });
      continue;
    }
    const r = rates(s, snapshot.windowSeconds);
    const tables = new Set(
      shape.blocks.flatMap((b) => [...b.tables.values()].map(writtenName).filter((n) => catalog.has(n))),
    );
    planned.push({
      s,
      shape,
      plan: result.plan,
      secondsPerSecond: r.seconds,
      callsPerSecond: r.calls,
      tables,
    });
  }

  // Candidates, deduplicated across statements, minus what an existing index leads with.
  const candidates = new Map<string, { c: Candidate; table: TableInfo; tableKey: string; ddl: string }>();
  const byStatement = new Map<Planned, string[]>();
  for (const p of planned) {
    const keys: string[] = [];
    for (const block of p.shape.blocks) {
      const resolve = (u: ColumnUse): string | undefined => resolveUse(u, block.tables, catalog);
      const order = (t: Parameters<typeof writtenName>[0], cols: readonly string[]) =>
        bySelectivity(catalog.get(writtenName(t)), cols);
      for (const c of blockCandidates(block, resolve, order)) {
        const tableKey = writtenName(c.table);
        const table = catalog.get(tableKey);
        if (table === undefined || !c.columns.every((col) => table.columns.includes(col))) continue;
        if (covered(table, c.columns)) continue;
        const ddl = indexDdl(table, c);
        if (!candidates.has(ddl)) candidates.set(ddl, { c, table, tableKey, ddl });
        keys.push(ddl);
      }
    }
    byStatement.set(p, [...new Set(keys)]);
  }

  const limitsOf = options.limits;
  const routes = routesByFingerprint(snapshot);
  const routesOf = (s: StatementStats) => routes.get(`${s.service}\0${s.fingerprint}`) ?? [];
  const drafts: Draft<'missing-index' | 'cache-candidate'>[] = [];

  if (session.hypopg !== null) {
    // Sizes once, each candidate alone.
    const costed: IndexCandidate[] = [];
    for (const { c, table, ddl } of candidates.values()) {
      const bytes = await session.withIndexes([hypoDdl(ddl)], async (sizes) => sizes[0] ?? 0);
      const overhead = writeOverhead(table, c.columns);
      costed.push({
        key: ddl,
        columns: c.columns.length,
        bytes,
        writeBytesPerSecond: overhead === null ? null : overhead.indexBytesPerSecond,
      });
    }
    const evaluate = async (chosenKeys: readonly string[], key: string) => {
      const tableKey = candidates.get(key)?.tableKey;
      const readers = planned.filter((p) => tableKey !== undefined && p.tables.has(tableKey));
      return session.withIndexes([...chosenKeys, key].map(hypoDdl), async () => {
        const out = new Map<string, number>();
        for (const p of readers) {
          const r = await session.plan(p.s.query);
          if (r.ok) out.set(p.s.fingerprint, r.plan['Total Cost']);
        }
        return out;
      });
    };
    // Dexter's step for indexes that only help together: one statement, all of its candidates in place.
    const together = async (chosenKeys: readonly string[], keys: readonly string[], id: string) => {
      const p = planned.find((q) => q.s.fingerprint === id);
      if (p === undefined) return undefined;
      return session.withIndexes([...chosenKeys, ...keys].map(hypoDdl), async (_sizes, names) => {
        const r = await session.plan(p.s.query);
        if (!r.ok) return undefined;
        const used = new Set(indexesUsed(r.plan));
        return {
          cost: r.plan['Total Cost'],
          used: keys.filter((_, i) => used.has(names[chosenKeys.length + i] ?? '')),
        };
      });
    };
    const picks = await chooseIndexes(
      planned.map((p) => ({
        id: p.s.fingerprint,
        secondsPerSecond: p.secondsPerSecond,
        cost: p.plan['Total Cost'],
        candidates: byStatement.get(p) ?? [],
      })),
      costed,
      evaluate,
      { together },
    );
    // The set together: the final plan of every statement it serves, with all chosen indexes in place.
    const served = new Set(picks.flatMap((x) => x.serves.map((s) => s.id)));
    const finals = await session.withIndexes(
      picks.map((x) => hypoDdl(x.key)),
      async () => {
        const out = new Map<string, number>();
        for (const p of planned.filter((q) => served.has(q.s.fingerprint))) {
          const r = await session.plan(p.s.query);
          if (r.ok) out.set(p.s.fingerprint, r.plan['Total Cost']);
        }
        return out;
      },
    );
    for (const pick of picks) {
      const cand = candidates.get(pick.key);
      if (cand === undefined) continue;
      const size = costed.find((c) => c.key === pick.key)?.bytes;
      const servedStatements = pick.serves
        .map((x) => planned.find((p) => p.s.fingerprint === x.id))
        .filter((p): p is Planned => p !== undefined)
        .map((p) => servedStatement(p, routesOf(p.s), finals.get(p.s.fingerprint)));
      drafts.push(
        missingIndex(
          snapshot,
          cand,
          servedStatements,
          true,
          pick.secondsPerSecond,
          size,
          limitsOf,
          (pick.with ?? []).flatMap((key) => {
            const other = candidates.get(key);
            return other === undefined ? [] : [{ ddl: other.ddl, subject: indexSubject(other) }];
          }),
        ),
      );
    }
  } else {
    notes.push(
      'HypoPG is not installed in this database (CREATE EXTENSION hypopg, as its owner): index advice comes from ' +
        'the plans and the statements only, and is not verified.',
    );
    // One candidate per statement whose plan scans a table sequentially: the widest of that table's.
    const groups = new Map<string, Planned[]>();
    for (const p of planned) {
      const keys = (byStatement.get(p) ?? []).filter((k) => {
        const cand = candidates.get(k);
        return cand !== undefined && scansSequentially(p.plan, cand.table.name);
      });
      const widest = keys.sort(
        (a, b) => (candidates.get(b)?.c.columns.length ?? 0) - (candidates.get(a)?.c.columns.length ?? 0),
      )[0];
      if (widest === undefined) continue;
      groups.set(widest, [...(groups.get(widest) ?? []), p]);
    }
    for (const [key, ps] of groups) {
      const cand = candidates.get(key);
      if (cand === undefined) continue;
      const servedStatements = ps.map((p) => servedStatement(p, routesOf(p.s), undefined));
      drafts.push(missingIndex(snapshot, cand, servedStatements, false, 0, undefined, limitsOf));
    }
  }

  drafts.push(...cacheCandidates(snapshot, planned, catalog, routesOf, limitsOf));
  // Worth a person's time, or not reported (and said so): it must remove at least the tail's share of the
  // database time, and matter on its own: per call (the tail's share of the statement objective, so users see
  // it) or in total (the tail's share of one database backend, a second per second). Whatever serves a
  // statement over the objective is reported regardless: its severity says so.
  const total = databaseTime(snapshot);
  const objectiveMs = limitsOf(snapshot.statements[0]?.service ?? '').slowStatement.p95Seconds * 1000;
  const worth = (d: Draft<'missing-index' | 'cache-candidate'>): { total: number; perCallMs: number } => {
    if (d.kind === 'cache-candidate') return { total: d.facts.db_s_per_s, perCallMs: d.facts.mean_ms };
    const f = d.facts;
    // Not verified: what it would remove is unknown; what its statements hold bounds it.
    const saved = (st: ServedStatement) =>
      st.cost_after === undefined || st.cost_before <= 0 ? 1 : 1 - st.cost_after / st.cost_before;
    return {
      total: f.verified ? f.db_s_removed_per_s : f.statements.reduce((x, st) => x + st.db_s_per_s, 0),
      perCallMs: Math.max(0, ...f.statements.map((st) => st.mean_ms * saved(st))),
    };
  };
  const material = drafts.filter((d) => {
    if (d.severity !== 'info') return true;
    const w = worth(d);
    return w.total >= tail * total && (w.perCallMs >= tail * objectiveMs || w.total >= tail);
  });
  if (material.length < drafts.length) {
    const n = drafts.length - material.length;
    notes.push(
      `${n} more index or cache candidate${n > 1 ? 's' : ''} would save less than ${formatPercent(tail)} (advice_min_share_percent) of the database time, or too little per call and in total to matter: not reported.`,
    );
  }
  return {
    drafts: material,
    coverage: {
      ran: true,
      hypopg: session.hypopg,
      statements: statements.length,
      planned: planned.length,
      candidates: candidates.size,
      unplanned,
      notes,
    },
  };
}

/** The table a column use belongs to: its qualifier's, or the one table of the block that has the column. */
function resolveUse(
  u: ColumnUse,
  tables: ReadonlyMap<string, Parameters<typeof writtenName>[0]>,
  catalog: ReadonlyMap<string, TableInfo>,
): string | undefined {
  if (u.qualifier !== undefined) return tables.has(u.qualifier) ? u.qualifier : undefined;
  const having = [...tables].filter(([, t]) => catalog.get(writtenName(t))?.columns.includes(u.column));
  return having.length === 1 ? having[0]?.[0] : undefined;
}

/** Equality columns, most selective first (pg_stats' n_distinct; negative is a fraction of the rows). */
function bySelectivity(table: TableInfo | undefined, columns: readonly string[]): string[] {
  const distinct = (c: string) => {
    const d = table?.distinct.get(c) ?? 0;
    return d < 0 ? -d * Math.max(table?.rows ?? 0, 1) : d;
  };
  return [...columns].sort((a, b) => distinct(b) - distinct(a));
}

/** An existing plain index whose key columns start with these, in this order, covers them. */
function covered(table: TableInfo, columns: readonly string[]): boolean {
  return table.indexes.some((i) => {
    if (!i.plain || i.columns.length < columns.length) return false;
    const lead = i.columns.slice(0, columns.length);
    return lead.every((c, n) => c === columns[n]);
  });
}

function indexDdl(table: TableInfo, c: Candidate): string {
  const cols = c.columns.map(
    (col, i) => `${table.quoted.get(col) ?? col}${c.desc?.[i] === true ? ' DESC' : ''}`,
  );
  return `CREATE INDEX CONCURRENTLY ON ${table.qualified} (${cols.join(', ')})`;
}

/** HypoPG takes a plain CREATE INDEX. */
function hypoDdl(ddl: string): string {
  return ddl.replace('CREATE INDEX CONCURRENTLY ON', 'CREATE INDEX ON');
}

function writesPerSecond(table: TableInfo): number | null {
  const w = table.writes;
  return w === null || w.overSeconds <= 0 ? null : w.rows / w.overSeconds;
}

/** PostgreSQL's heap tuple header (23 bytes, aligned) and a b-tree index tuple's header with its line pointer. */
const HEAP_TUPLE_HEADER_BYTES = 24;
const INDEX_TUPLE_HEADER_BYTES = 8;

/**
 * pganalyze's Index Write Overhead (docs: indexing-engine/index-write-overhead): bytes written to the index per
 * byte written to the table, index entry size / row size, from the columns' average widths; and the index bytes
 * that makes per second at the table's write rate. An upper bound: deletes and HOT updates write no index entry,
 * and `n_mod_since_analyze` counts them.
 */
function writeOverhead(
  table: TableInfo,
  columns: readonly string[],
): { ratio: number; indexBytesPerSecond: number } | null {
  const writes = writesPerSecond(table);
  if (writes === null) return null;
  const width = (c: string) => table.width.get(c) ?? 32;
  const entry = INDEX_TUPLE_HEADER_BYTES + columns.reduce((sum, c) => sum + width(c), 0);
  const row = HEAP_TUPLE_HEADER_BYTES + table.columns.reduce((sum, c) => sum + width(c), 0);
  return { ratio: entry / row, indexBytesPerSecond: entry * writes };
}

function servedStatement(p: Planned, routes: readonly string[], after: number | undefined): ServedStatement {
  return {
    fingerprint: p.s.fingerprint,
    statement: p.s.query,
    calls_per_s: round(p.callsPerSecond, 3),
    mean_ms: round(p.s.meanMs, 2),
    db_s_per_s: round(p.secondsPerSecond, 4),
    cost_before: round(p.plan['Total Cost'], 2),
    ...(after === undefined ? {} : { cost_after: round(after, 2) }),
    plan_before: planFeatures(p.plan, p.s.rowsPerCall).map((f) => f.text),
    routes,
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** The candidate's columns as its DDL writes them. */
function quotedColumns(cand: { c: Candidate; table: TableInfo }): string[] {
  return cand.c.columns.map((c) => cand.table.quoted.get(c) ?? c);
}

/** `schema.table (a, b)`: an index as findings name it. */
function indexSubject(cand: { c: Candidate; table: TableInfo }): string {
  return `${cand.table.qualified} (${quotedColumns(cand).join(', ')})`;
}

/** `a`, `a and b`, `a, b and c`. */
function listed(items: readonly string[]): string {
  return items.length <= 2 ? items.join(' and ') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function missingIndex(
  snapshot: Snapshot,
  cand: { c: Candidate; table: TableInfo; ddl: string },
  statements: readonly ServedStatement[],
  verified: boolean,
  removed: number,
  bytes: number | undefined,
  limitsOf: LimitsOf,
  together: readonly { readonly ddl: string; readonly subject: string }[] = [],
): Draft<'missing-index'> {
  const first = statements[0];
  const service = snapshot.statements.find((s) => s.fingerprint === first?.fingerprint)?.service ?? '';
  const limitMs = limitsOf(service).slowStatement.p95Seconds * 1000;
  const p95s = statements.map((st) => {
    const s = snapshot.statements.find((x) => x.fingerprint === st.fingerprint);
    return s === undefined ? 0 : estimatedP95Ms(s);
  });
  const worst = Math.max(0, ...p95s);
  const columns = quotedColumns(cand);
  const subject = indexSubject(cand);
  const writes = writesPerSecond(cand.table);
  const overhead = writeOverhead(cand.table, cand.c.columns);
  const routes = [...new Set(statements.flatMap((s) => s.routes))].sort();
  const dbTime = statements.reduce((sum, s) => sum + s.db_s_per_s, 0);
  const held = databaseTime(snapshot);
  const costs = statements
    .map((s) =>
      s.cost_after === undefined
        ? `${shortSql(s.statement, 60)} (cost ${formatNumber(s.cost_before)})`
        : `${shortSql(s.statement, 60)} (cost ${formatNumber(s.cost_before)} → ${formatNumber(s.cost_after)})`,
    )
    .join('; ');
  return draft({
    id: findingId('missing-index', service, subject),
    kind: 'missing-index',
    layer: 'database',
    service,
    subject,
    // Over the statement objective when a statement it serves is; else advice, not an objective missed.
    severity: worst > limitMs ? severityFor(worst, limitMs) : 'info',
    impact: removed,
    title: verified
      ? `Missing index on ${subject}: ${statements.length} statement${statements.length > 1 ? 's' : ''} holding ${formatSeconds(dbTime)} of database time per second, planned ≥ ${formatPercent(MIN_COST_REDUCTION)} cheaper with it${together.length === 0 ? '' : ` and ${together.length} other index${together.length > 1 ? 'es' : ''} built with it`}`
      : `Possible missing index on ${subject} (not verified: no HypoPG): ${statements.length} statement${statements.length > 1 ? 's' : ''} scan ${cand.table.qualified} sequentially`,
    summary:
      `${statements.length === 1 ? 'One statement reads' : `${statements.length} statements read`} ${cand.table.qualified} ` +
      `(${formatNumber(cand.table.rows)} rows) without an index that fits: ${costs}. Together they hold ` +
      `${formatSeconds(dbTime)} of database time per second` +
      (held > 0 ? ` (${formatPercent(dbTime / held)} of the database time in the window)` : '') +
      (verified
        ? `; with the index in place (HypoPG, hypothetical), their plans cost less, removing about ${formatSeconds(removed)} of database time per second` +
          (together.length === 0
            ? '.'
            : ` (its share of what it removes together with ${listed(together.map((t) => t.subject))}; alone it does not halve their cost).`)
        : '. HypoPG is not installed, so the gain was not measured on a plan.') +
      (writes === null || overhead === null
        ? ''
        : ` The table takes ${formatRate(writes, 'rows written/s')}, each of which would also write the index: ` +
          `${formatNumber(round(overhead.ratio, 2))} bytes of index per byte of table, about ` +
          `${formatBytes(overhead.indexBytesPerSecond)}/s at this rate.`) +
      (routes.length === 0 ? '' : ` Routes: ${routes.join(', ')}.`),
    facts: {
      table: cand.table.qualified,
      columns,
      ddl: `${cand.ddl};`,
      verified,
      min_cost_reduction: MIN_COST_REDUCTION,
      ...(together.length === 0 ? {} : { together_with: together.map((t) => `${t.ddl};`) }),
      db_s_removed_per_s: round(removed, 4),
      table_rows: cand.table.rows,
      ...(bytes === undefined ? {} : { index_bytes: bytes }),
      ...(writes === null ? {} : { table_writes_per_s: round(writes, 3) }),
      ...(overhead === null
        ? {}
        : {
            write_overhead: round(overhead.ratio, 3),
            index_write_bytes_per_s: round(overhead.indexBytesPerSecond, 1),
          }),
      statements,
      routes,
      fingerprints: statements.map((s) => s.fingerprint),
    },
    evidence: {
      window: snapshot.window,
      queries: evidenceQueries(snapshot, ['statements']),
      // Per statement served: the planned cost without and with the index, and what the plan shows now.
      plan: statements
        .map(
          (st) =>
            `cost ${formatNumber(st.cost_before)}${st.cost_after === undefined ? '' : ` → ${formatNumber(st.cost_after)}`}: ` +
            `${shortSql(st.statement, 160)}${st.plan_before.length === 0 ? '' : ` (${st.plan_before.join('; ')})`}`,
        )
        .join('\n'),
    },
  });
}

/**
 * Statements that only read tables with no row written over all the time their calls were counted, called at least
 * as often as a route must be to be judged at all (the SLO file's min_request_rate_per_s), and among the
 * workload's costliest: a cache would answer them without the database.
 */
function cacheCandidates(
  snapshot: Snapshot,
  planned: readonly Planned[],
  catalog: ReadonlyMap<string, TableInfo>,
  routesOf: (s: StatementStats) => string[],
  limitsOf: LimitsOf,
): Draft<'cache-candidate'>[] {
  const out: Draft<'cache-candidate'>[] = [];
  for (const p of planned) {
    if (p.shape.command !== 'select' || p.tables.size === 0) continue;
    const limits = limitsOf(p.s.service);
    if (p.callsPerSecond < limits.slowEndpoint.minRequestRatePerS) continue;
    const tables = [...p.tables].map((t) => catalog.get(t));
    if (tables.some((t) => t === undefined)) continue;
    const quiet = Math.min(
      ...tables.map((t) =>
        t?.writes === null || t?.writes === undefined || t.writes.rows > 0 ? 0 : t.writes.overSeconds,
      ),
    );
    // Quiet for at least as long as the calls were counted: every call read what a cache would have held.
    const counted =
      p.s.scope === 'window' || !isNumber(p.s.callsPerSecond) || (p.s.callsPerSecond ?? 0) <= 0
        ? snapshot.windowSeconds
        : p.s.calls / (p.s.callsPerSecond ?? 1);
    if (!(quiet >= counted)) continue;
    const instances = new Set(
      snapshot.runtime.filter((r) => r.service === p.s.service).map((r) => r.instance),
    ).size;
    const routes = routesOf(p.s);
    const cache = instances > 1 ? 'shared' : 'process';
    const names = tables.map((t) => t?.qualified ?? '');
    const subject = p.s.fingerprint;
    out.push(
      draft({
        id: findingId('cache-candidate', p.s.service, subject),
        kind: 'cache-candidate',
        layer: 'database',
        service: p.s.service,
        subject,
        severity: 'info',
        impact: p.secondsPerSecond,
        title: `Cache candidate on ${p.s.service}: ${shortSql(p.s.query, 70)} reads only ${names.join(', ')}, unchanged for ${formatSeconds(quiet)}, ${formatRate(p.callsPerSecond, 'calls/s')}`,
        summary:
          `This statement runs ${formatRate(p.callsPerSecond, 'calls/s')} (mean ${formatSeconds(p.s.meanMs / 1000)}, ` +
          `${formatSeconds(p.secondsPerSecond)} of database time per second) and reads only ${names.join(', ')}, in ` +
          `which no row was inserted, updated or deleted for the last ${formatSeconds(quiet)} (pg_stat_user_tables). ` +
          (routes.length === 0 ? '' : `Routes: ${routes.join(', ')}. `) +
          (instances > 1
            ? `${instances} instances serve ${p.s.service}: a shared cache answers each key once for all of them.`
            : `One instance serves ${p.s.service}: a cache in the process is enough.`),
        facts: {
          fingerprint: p.s.fingerprint,
          statement: p.s.query,
          tables: names,
          calls_per_s: round(p.callsPerSecond, 3),
          mean_ms: round(p.s.meanMs, 2),
          db_s_per_s: round(p.secondsPerSecond, 4),
          quiet_s: Math.round(quiet),
          routes,
          instances,
          cache,
        },
        evidence: {
          window: snapshot.window,
          queries: evidenceQueries(snapshot, ['statements']),
        },
      }),
    );
  }
  return out;
}
