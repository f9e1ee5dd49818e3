// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/**
 * `hotpath serve` losing its own store mid-cycle, and killed with SIGKILL mid-cycle, on the real PostgreSQL and
 * Prometheus: it does not crash, `/readyz` says what is down, it recovers by itself, the run that was cut off is
 * marked failed instead of staying `running`, and no finding is lost or recorded twice.
 *
 * Cycles are made slow (a Prometheus relay that delays every answer) so that "mid-cycle" is a state the test
 * waits for, not a race it hopes to win.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { startAnalyzer } from '../../../scripts/lib/analyzer.ts';
import { emptyDatabase, eventually } from '../../../test/harness.ts';
import { seedStore } from '../store/testdata.ts';
import { loadServiceConfig } from './config.ts';
import { startService } from './service.ts';
import { relay, testFinding, testServiceEnv, untilReady } from './testdata.ts';

const quiet = pino({ level: 'silent' });

/** A store with two findings already in it, as a replica would have left them. */
async function seededStore(): Promise<{ url: string; ids: string[] }> {
  const url = await emptyDatabase();
  const service = `outage-${randomUUID().slice(0, 8)}`;
  const findings = [testFinding(service, 'GET /api/a'), testFinding(service, 'GET /api/b')];
  await seedStore(url, findings);
  return { url, ids: findings.map((f) => f.id) };
}

/**
 * What must hold after an outage: every finding once, each opened once, and no run up to `upTo` (the first run
 * that succeeded after it) left `running`; a later one may be running now.
 */
async function expectConsistent(store: pg.Pool, ids: readonly string[], upTo: number) {
  const { rows: found } = await store.query<{ id: string }>('SELECT id FROM findings WHERE id = ANY($1)', [
    ids,
  ]);
  expect(found.map((r) => r.id).sort()).toEqual([...ids].sort());
  const { rows: twice } = await store.query(
    `SELECT finding_id FROM finding_events WHERE from_status IS NULL GROUP BY finding_id HAVING count(*) > 1`,
  );
  expect(twice).toEqual([]);
  const { rows: running } = await store.query(
    `SELECT id FROM analysis_runs WHERE status = 'running' AND id <= $1`,
    [upTo],
  );
  expect(running).toEqual([]);
}

async function runningRun(store: pg.Pool): Promise<number> {
  return eventually(async () => {
    const { rows } = await store.query<{ id: string }>(
      `SELECT id FROM analysis_runs WHERE status = 'running' AND trigger = 'schedule' ORDER BY id DESC LIMIT 1`,
    );
    if (rows[0] === undefined) throw new Error('no cycle running yet');
    return Number(rows[0].id);
  }, 30_000);
}

describe('hotpath serve when its own store goes away mid-cycle', () => {
  it('stays up, says the store is down, marks the cut-off run failed and recovers by itself', async () => {
    const { url, ids } = await seededStore();
    const database = new URL(url);
    const storeRelay = await relay(database);
    const slowPrometheus = await relay(new URL(inject('prometheusUrl')), { delayMs: 400 });
    const throughRelay = new URL(url);
    throughRelay.port = String(storeRelay.port());
    const service = await startService(
      loadServiceConfig(
        testServiceEnv(throughRelay.toString(), {
          PROMETHEUS_URL: slowPrometheus.url(),
          HOTPATH_INTERVAL: '5s',
          HOTPATH_WINDOW: '1m',
        }),
      ),
      quiet,
    );
    const store = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const cutOff = await runningRun(store);
      await storeRelay.cut();
      const readyz = await eventually(async () => {
        const r = await fetch(`${service.url}/readyz`);
        const body = (await r.json()) as { checks: Record<string, { status: string }> };
        if (body.checks.store?.status !== 'down') throw new Error('store still up');
        return { status: r.status, body };
      }, 15_000);
      expect(readyz.status).toBe(503);
      expect(readyz.body.checks.prometheus?.status).toBe('up');
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
      // A few slots pass with the store gone: each is skipped, none crashes the process.
      await new Promise((r) => setTimeout(r, 8_000));

      await storeRelay.restore();
      await untilReady(service.url);
      const recovered = await eventually(async () => {
        const { rows } = await store.query<{ id: string }>(
          `SELECT id FROM analysis_runs WHERE status = 'succeeded' AND trigger = 'schedule' AND id > $1 LIMIT 1`,
          [cutOff],
        );
        if (rows[0] === undefined) throw new Error('no cycle has succeeded since the outage');
        return Number(rows[0].id);
      }, 60_000);
      expect(recovered).toBeGreaterThan(cutOff);
      await service.idle();
      const { rows } = await store.query<{ status: string; error: string | null }>(
        'SELECT status, error FROM analysis_runs WHERE id = $1',
        [cutOff],
      );
      expect(rows[0]?.status).toBe('failed');
      await expectConsistent(store, ids, recovered);
    } finally {
      await service.stop();
      await store.end();
      await storeRelay.cut().catch(() => {});
      await slowPrometheus.cut().catch(() => {});
    }
  }, 150_000);
});

describe('hotpath serve killed with SIGKILL mid-cycle', () => {
  it('restarted under the same replica name: the killed run is failed, the next cycle succeeds, nothing doubles', async () => {
    const { url, ids } = await seededStore();
    const slowPrometheus = await relay(new URL(inject('prometheusUrl')), { delayMs: 400 });
    const replica = `crash-${randomUUID().slice(0, 8)}`;
    const start = () =>
      startAnalyzer({
        storeUrl: url,
        prometheusUrl: slowPrometheus.url(),
        interval: '5s',
        window: '1m',
        env: { HOTPATH_REPLICA: replica },
      });
    const store = new pg.Pool({ connectionString: url, max: 1 });
    let analyzer = await start();
    try {
      const killed = await runningRun(store);
      await analyzer.process.stop('SIGKILL');
      analyzer = await start();
      const recovered = await eventually(async () => {
        const { rows } = await store.query<{ id: string }>(
          `SELECT id FROM analysis_runs WHERE status = 'succeeded' AND id > $1 LIMIT 1`,
          [killed],
        );
        if (rows[0] === undefined) throw new Error('no cycle has succeeded since the restart');
        return Number(rows[0].id);
      }, 60_000);
      expect(recovered).toBeGreaterThan(killed);
      const { rows } = await store.query<{ status: string; error: string | null }>(
        'SELECT status, error FROM analysis_runs WHERE id = $1',
        [killed],
      );
      expect(rows[0]).toEqual({
        status: 'failed',
        error: 'abandoned: the replica restarted before the run finished',
      });
      await expectConsistent(store, ids, recovered);
    } finally {
      await analyzer.stop().catch(() => {});
      await store.end();
      await slowPrometheus.cut().catch(() => {});
    }
  }, 150_000);
});
