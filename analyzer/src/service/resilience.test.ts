/**
 * `hotpath serve` when things go wrong, on the real PostgreSQL and Prometheus: Prometheus goes away and comes
 * back (through a TCP relay the test can cut), two replicas share one store, and analyses queued through the
 * API are claimed by whichever replica is up.
 */

import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { emptyDatabase, eventually } from '../../../test/harness.ts';
import { migrate } from '../store/migrate.ts';
import { queueRun } from '../store/runs.ts';
import { loadServiceConfig } from './config.ts';
import { startService } from './service.ts';
import { relay, testServiceEnv, testToken, untilReady } from './testdata.ts';

const quiet = pino({ level: 'silent' });

describe('hotpath serve without Prometheus', () => {
  it('says which upstream is down, records the failed cycle, stays up and recovers by itself', async () => {
    const prometheus = await relay(new URL(inject('prometheusUrl')));
    const storeUrl = await emptyDatabase();
    const config = loadServiceConfig(
      testServiceEnv(storeUrl, {
        PROMETHEUS_URL: prometheus.url(),
        HOTPATH_INTERVAL: '5s',
        HOTPATH_WINDOW: '1m',
      }),
    );
    await prometheus.cut();
    const service = await startService(config, quiet);
    const store = new pg.Pool({ connectionString: storeUrl, max: 1 });
    try {
      const readyz = await fetch(`${service.url}/readyz`);
      expect(readyz.status).toBe(503);
      const body = (await readyz.json()) as {
        status: string;
        checks: Record<string, { status: string; target: string; error?: string }>;
      };
      expect(body.status).toBe('unavailable');
      expect(body.checks.store?.status).toBe('up');
      expect(body.checks.prometheus).toMatchObject({
        status: 'down',
        target: new URL(prometheus.url()).host,
      });
      expect(body.checks.prometheus?.error).toMatch(/-\/ready did not answer 200/);

      const failed = await eventually(async () => {
        const { rows } = await store.query<{ status: string; error: string | null }>(
          `SELECT status, error FROM analysis_runs WHERE status = 'failed' ORDER BY id LIMIT 1`,
        );
        if (rows[0] === undefined) throw new Error('no failed run yet');
        return rows[0];
      }, 30_000);
      expect(failed.error).toMatch(/^prometheus \(http:\/\/127\.0\.0\.1:\d+\): unreachable/);
      expect((await fetch(`${service.url}/healthz`)).status).toBe(200);

      await prometheus.restore();
      await untilReady(service.url);
      const recovered = await eventually(async () => {
        const { rows } = await store.query<{ id: string }>(
          `SELECT id FROM analysis_runs WHERE status = 'succeeded' AND trigger = 'schedule' LIMIT 1`,
        );
        if (rows[0] === undefined) throw new Error('no scheduled cycle has succeeded yet');
        return rows[0];
      }, 30_000);
      expect(Number(recovered.id)).toBeGreaterThan(0);
    } finally {
      await store.end();
      await service.stop();
      await prometheus.cut().catch(() => {});
    }
  }, 90_000);
});

describe('two replicas on one store', () => {
  it('run each scheduled cycle once, never two cycles at the same time', async () => {
    const storeUrl = await emptyDatabase();
    const env = testServiceEnv(storeUrl, { HOTPATH_INTERVAL: '5s', HOTPATH_WINDOW: '1m' });
    const replicas = await Promise.all(
      ['a', 'b'].map((r) =>
        startService(loadServiceConfig({ ...env, HOTPATH_REPLICA: `replica-${r}` }), quiet),
      ),
    );
    const store = new pg.Pool({ connectionString: storeUrl, max: 1 });
    try {
      // Both replicas are also asked for analyses at once: those must queue behind the lock too.
      const operator = await testToken('operator', 'otto');
      const triggered = await Promise.all(
        replicas.flatMap((s) =>
          [0, 1].map(() =>
            fetch(`${s.url}/api/v1/analyses`, {
              method: 'POST',
              headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
              body: JSON.stringify({ window: '1m' }),
            }).then((r) => r.status),
          ),
        ),
      );
      expect(triggered).toEqual([202, 202, 202, 202]);
      await new Promise((r) => setTimeout(r, 12_000));
      await Promise.all(replicas.map((s) => s.idle()));
      const { rows } = await store.query<{
        slot: string | null;
        replica: string;
        status: string;
        started_at: Date;
        finished_at: Date;
      }>(`SELECT slot, replica, status, started_at, finished_at FROM analysis_runs ORDER BY started_at`);
      const slots = rows.map((r) => r.slot).filter((slot) => slot !== null);
      expect(slots.length).toBeGreaterThanOrEqual(2);
      expect(rows.length).toBe(slots.length + 4);
      expect(new Set(slots).size).toBe(slots.length);
      expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
      for (let i = 1; i < rows.length; i++) {
        const previous = rows[i - 1];
        const current = rows[i];
        if (previous === undefined || current === undefined) continue;
        expect(current.started_at.getTime()).toBeGreaterThanOrEqual(previous.finished_at.getTime());
      }
    } finally {
      await store.end();
      await Promise.all(replicas.map((s) => s.stop()));
    }
  }, 60_000);
});

describe('analyses asked for through the API', () => {
  it('are claimed from the store by any replica: runs queued while none was up each run once', async () => {
    const storeUrl = await emptyDatabase();
    const store = new pg.Pool({ connectionString: storeUrl, max: 2 });
    const env = testServiceEnv(storeUrl, { HOTPATH_INTERVAL: 'off', HOTPATH_WINDOW: '1m' });
    let replicas: Awaited<ReturnType<typeof startService>>[] = [];
    try {
      // What a replica's API does before it runs anything: queue for no replica in particular. That replica
      // then stops; these runs must not wait for it to come back.
      await migrate(store);
      const queued = [];
      for (const window of [60, 120, 180, 240, 300]) {
        queued.push(
          await queueRun(store, {
            trigger: 'api',
            windowSeconds: window,
            replica: null,
            requestedBy: 'otto',
          }),
        );
      }
      replicas = await Promise.all(
        ['a', 'b'].map((r) =>
          startService(loadServiceConfig({ ...env, HOTPATH_REPLICA: `replica-${r}` }), quiet),
        ),
      );
      const runs = await eventually(async () => {
        const { rows } = await store.query<{
          id: string;
          status: string;
          replica: string | null;
          window_s: number;
        }>(`SELECT id, status, replica, window_s FROM analysis_runs ORDER BY id`);
        if (rows.some((r) => r.status === 'queued' || r.status === 'running'))
          throw new Error('still running');
        return rows;
      }, 60_000);
      expect(runs.map((r) => Number(r.id))).toEqual(queued.map((r) => r.id));
      expect(runs.map((r) => r.status)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'succeeded',
        'succeeded',
      ]);
      expect(runs.every((r) => r.replica === 'replica-a' || r.replica === 'replica-b')).toBe(true);
      // Each ran with its own window, not the replica's default.
      expect(runs.map((r) => r.window_s)).toEqual([60, 120, 180, 240, 300]);

      // One asked of replica a now is claimed and run at once.
      const operator = await testToken('operator', 'otto');
      const ask = () =>
        fetch(`${replicas[0]?.url}/api/v1/analyses`, {
          method: 'POST',
          headers: { authorization: `Bearer ${operator}` },
        }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { id: number; status: string },
        }));
      const first = await ask();
      expect(first.status).toBe(202);
      await eventually(async () => {
        const { rows } = await store.query<{ status: string }>(
          'SELECT status FROM analysis_runs WHERE id = $1',
          [first.body.id],
        );
        if (rows[0]?.status !== 'succeeded') throw new Error(`run ${first.body.id} is ${rows[0]?.status}`);
      }, 30_000);
    } finally {
      await Promise.all(replicas.map((s) => s.stop()));
      await store.end();
    }
  }, 120_000);
});
