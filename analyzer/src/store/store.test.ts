// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/** The store on a real PostgreSQL: migrations, cycle reconciliation, transitions and history. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDatabase } from '../../../test/harness.ts';
import { ConfigError, ConflictError, NotFoundError } from '../errors.ts';
import { findingId } from '../findings.ts';
import type { Finding, Severity } from '../types.ts';
import { findingHistory, getFinding, listFindings, openCounts, transitionFinding } from './findings.ts';
import { loadMigrations, MIGRATIONS_DIR, migrate, schemaVersion } from './migrate.ts';
import {
  claimScheduledRun,
  failRunsOfPreviousStart,
  getRun,
  markFailed,
  markSucceeded,
  queueRun,
} from './runs.ts';
import { recordTestCycle } from './testdata.ts';

function finding(subject: string, severity: Severity = 'warning', impact = 0.1): Finding {
  return {
    id: findingId('slow-endpoint', 'shop', subject),
    kind: 'slow-endpoint',
    layer: 'api',
    service: 'shop',
    subject,
    severity,
    impact,
    title: `${subject} is slow`,
    summary: 'p95 over the objective',
    evidence: { values: { p95_s: 0.4 }, window: '15m', queries: [] },
    recommendations: [
      { action: 'Make it faster', expectedGain: 'p95 under 200 ms', confidence: 'medium', verify: 'p95' },
    ],
  };
}

let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await emptyDatabase(), max: 6 });
  await migrate(pool);
});
afterAll(async () => {
  await pool?.end();
});

const cycle = (findings: Finding[], covered = true) => recordTestCycle(pool, findings, { covered });

describe('migrations', () => {
  it('apply once; a second run finds nothing to do', async () => {
    const again = await migrate(pool);
    expect(again.applied).toEqual([]);
    expect(again.version).toBe(loadMigrations().at(-1)?.version);
    expect(await schemaVersion(pool)).toBe(again.version);
  });

  it('serialise concurrent runs: every migration is applied exactly once', async () => {
    const fresh = new pg.Pool({ connectionString: await emptyDatabase(), max: 6 });
    try {
      const results = await Promise.all([migrate(fresh), migrate(fresh), migrate(fresh)]);
      const applied = results.flatMap((r) => r.applied);
      expect(applied.sort()).toEqual(
        loadMigrations()
          .map((m) => m.name)
          .sort(),
      );
    } finally {
      await fresh.end();
    }
  });

  it('refuse a migration edited after it was applied, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    for (const m of loadMigrations(MIGRATIONS_DIR)) writeFileSync(join(dir, m.name), `${m.sql}\n-- edited\n`);
    const error = await migrate(pool, { dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(/001_findings\.sql was changed after it was applied/);
  });

  it('reject misnamed and duplicate migration files with every problem listed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    writeFileSync(join(dir, '001_a.sql'), 'SELECT 1');
    writeFileSync(join(dir, '001_b.sql'), 'SELECT 1');
    writeFileSync(join(dir, 'two.sql'), 'SELECT 1');
    expect(() => loadMigrations(dir)).toThrowError(
      /version 001 is also used[\s\S]*two\.sql: migration files are named/,
    );
  });

  it('roll a failing migration back and apply nothing of it', async () => {
    const fresh = new pg.Pool({ connectionString: await emptyDatabase(), max: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    writeFileSync(join(dir, '001_ok.sql'), 'CREATE TABLE a (x int);');
    writeFileSync(join(dir, '002_bad.sql'), 'CREATE TABLE b (x int); SELECT no_such_function();');
    try {
      await expect(migrate(fresh, { dir })).rejects.toThrowError(/002_bad\.sql failed and was rolled back/);
      const { rows } = await fresh.query(`SELECT to_regclass('b') AS b, to_regclass('a') AS a`);
      expect(rows[0]).toEqual({ a: 'a', b: null });
      expect(await schemaVersion(fresh)).toBe(1);
    } finally {
      await fresh.end();
    }
  });
});

describe('cycles', () => {
  it('open new findings, refresh known ones and record a severity change in the history', async () => {
    const a = finding('GET /a');
    expect(await cycle([a])).toEqual({ opened: 1, updated: 0, reopened: 0, resolved: 0 });
    expect(await cycle([finding('GET /a', 'critical', 0.5)])).toEqual({
      opened: 0,
      updated: 1,
      reopened: 0,
      resolved: 0,
    });
    const stored = await getFinding(pool, a.id);
    expect(stored).toMatchObject({ status: 'open', severity: 'critical', impact: 0.5, cleanCycles: 0 });
    const history = await findingHistory(pool, a.id);
    expect(history.map((e) => [e.from, e.to, e.actor])).toEqual([
      [null, 'open', 'analyzer'],
      ['open', 'open', 'analyzer'],
    ]);
    expect(history[1]?.note).toMatch(/severity warning → critical/);
  });

  it('auto-resolve after N clean cycles and reopen on regression', async () => {
    const b = finding('GET /b');
    await cycle([b]);
    await cycle([]);
    await cycle([]);
    expect((await getFinding(pool, b.id)).cleanCycles).toBe(2);
    const third = await cycle([]);
    expect(third.resolved).toBeGreaterThanOrEqual(1);
    expect((await getFinding(pool, b.id)).status).toBe('resolved');
    expect((await cycle([b])).reopened).toBe(1);
    const history = await findingHistory(pool, b.id);
    expect(history.map((e) => e.to)).toEqual(['open', 'resolved', 'open']);
    expect(history.at(-1)?.note).toMatch(/regressed/);
  });

  it('count no clean cycle when the cycle did not cover the finding', async () => {
    const c = finding('GET /c');
    await cycle([c]);
    for (let i = 0; i < 4; i++) await cycle([], false);
    expect(await getFinding(pool, c.id)).toMatchObject({ status: 'open', cleanCycles: 0 });
  });

  it('keep a dismissed finding dismissed when it is seen again', async () => {
    const d = finding('GET /d');
    await cycle([d]);
    await transitionFinding(pool, d.id, 'dismissed', 'alice', 'expected: batch endpoint');
    await cycle([finding('GET /d', 'critical')]);
    expect(await getFinding(pool, d.id)).toMatchObject({ status: 'dismissed', severity: 'critical' });
  });
});

describe('transitions', () => {
  it('record the actor and note, and refuse a transition the lifecycle does not allow', async () => {
    const e = finding('GET /e');
    await cycle([e]);
    const { finding: after, event } = await transitionFinding(pool, e.id, 'acknowledged', 'bob', 'looking');
    expect(after.status).toBe('acknowledged');
    expect(event).toMatchObject({ from: 'open', to: 'acknowledged', actor: 'bob', note: 'looking' });
    await transitionFinding(pool, e.id, 'resolved', 'bob', null);
    const refused = await transitionFinding(pool, e.id, 'acknowledged', 'bob', null).catch((x: unknown) => x);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as Error).message).toMatch(
      /is resolved; from resolved it can move to open, not to acknowledged/,
    );
    await expect(
      transitionFinding(pool, 'slow-endpoint-0000000000000000', 'resolved', 'bob', null),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serialise concurrent transitions of one finding: exactly one wins', async () => {
    const f = finding('GET /f');
    await cycle([f]);
    const results = await Promise.allSettled(
      ['acknowledged', 'resolved', 'dismissed'].map((to) =>
        transitionFinding(pool, f.id, to as 'resolved', 'carol', null),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    // The first wins; from its state only `open` (or resolved/dismissed from acknowledged) may follow.
    expect(won.length).toBeGreaterThanOrEqual(1);
    const history = await findingHistory(pool, f.id);
    expect(history.length).toBe(1 + won.length);
    for (let i = 1; i < history.length; i++) expect(history[i]?.from).toBe(history[i - 1]?.to);
  });
});

describe('queries', () => {
  it('filter and rank findings, and count the active ones', async () => {
    const all = await listFindings(pool, { limit: 100, offset: 0 });
    expect(all.total).toBe(all.items.length);
    const severities = all.items.map((f) => f.severity);
    expect(severities.indexOf('warning')).toBeGreaterThan(severities.lastIndexOf('critical'));
    const open = await listFindings(pool, { status: ['open'], layer: ['api'], limit: 2, offset: 0 });
    expect(open.items.length).toBeLessThanOrEqual(2);
    expect(open.items.every((f) => f.status === 'open')).toBe(true);
    const counts = await openCounts(pool);
    const active = await listFindings(pool, { status: ['open', 'acknowledged'], limit: 100, offset: 0 });
    expect(counts.reduce((s, c) => s + c.count, 0)).toBe(active.total);
  });
  it('find by subject: a route answers for its `METHOD /route` findings and for the causes that absorbed them', async () => {
    const route = finding('POST /alerts/orders');
    const cause: Finding = {
      ...finding('SELECT 1 FROM alerts_orders'),
      id: findingId('slow-statement', 'shop', 'SELECT 1 FROM alerts_orders'),
      kind: 'slow-statement',
      layer: 'database',
      evidence: {
        values: {},
        window: '15m',
        queries: [],
        symptoms: [
          { kind: 'slow-endpoint', subject: 'GET /alerts/report', title: 'slow', impact: 0.1, values: {} },
        ],
      },
    };
    const other = finding('GET /alerts/orders/:id');
    await cycle([route, cause, other]);
    const ids = async (subject: string) =>
      (await listFindings(pool, { service: 'shop', subject, limit: 100, offset: 0 })).items
        .map((f) => f.id)
        .sort();
    expect(await ids('/alerts/orders')).toEqual([route.id]);
    expect(await ids('POST /alerts/orders')).toEqual([route.id]);
    expect(await ids('/alerts/report')).toEqual([cause.id]);
    expect(await ids("/alerts/orders' OR 1=1 --")).toEqual([]);
    expect(await ids('%')).toEqual([]);
  });
});

describe('runs', () => {
  it('fail what a previous start of the same replica left unfinished, and nothing of other replicas', async () => {
    const mine = await queueRun(pool, {
      trigger: 'api',
      windowSeconds: 60,
      replica: 'host:1',
      requestedBy: 'a',
    });
    const theirs = await queueRun(pool, {
      trigger: 'api',
      windowSeconds: 60,
      replica: 'host:2',
      requestedBy: 'b',
    });
    expect(await failRunsOfPreviousStart(pool, 'host:1')).toBe(1);
    expect(await getRun(pool, mine.id)).toMatchObject({ status: 'failed', error: /abandoned/ });
    expect((await getRun(pool, theirs.id)).status).toBe('queued');
  });

  it('never turn a succeeded run into a failed one', async () => {
    const run = await queueRun(pool, { trigger: 'cli', windowSeconds: 60, replica: 'x', requestedBy: null });
    await markSucceeded(pool, run.id, {
      findings: 0,
      changes: { opened: 0, updated: 0, reopened: 0, resolved: 0 },
    });
    await markFailed(pool, run.id, 'store: read-back failed');
    expect(await getRun(pool, run.id)).toMatchObject({ status: 'succeeded', error: null });
  });

  it('let exactly one replica claim a scheduled slot', async () => {
    const claims = await Promise.all(
      ['r1', 'r2', 'r3'].map((replica) => claimScheduledRun(pool, { slot: 42, windowSeconds: 900, replica })),
    );
    expect(claims.filter((c) => c !== null)).toHaveLength(1);
    const claimed = claims.find((c) => c !== null);
    expect(await getRun(pool, claimed?.id ?? 0)).toMatchObject({
      status: 'queued',
      trigger: 'schedule',
      slot: 42,
    });
  });
});
