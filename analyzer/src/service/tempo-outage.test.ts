// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/**
 * `hotpath serve` reading traces from Tempo while Tempo goes away and comes back, on the real PostgreSQL and a
 * real Prometheus. Tempo cannot run here, so it is played by a server that answers Tempo's HTTP API with a
 * recorded trace body (`../shared/fixtures/tempo`, the N+1 shape of `nPlusOneTempoBody`), behind a relay the test
 * cuts; Prometheus holds the traced route's series, backfilled with promtool, so every cycle reads its traces.
 *
 * What must hold: the N+1 the traces show is opened; while Tempo is down `/readyz` says so, cycles go on
 * (metrics stand on their own) and each run records that it went without traces and why, and the finding is
 * neither resolved nor reopened, however many cycles pass; once Tempo is back the next cycle sees it again, and
 * it was opened exactly once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { backfill, startPrometheus } from '../../../scripts/lib/prometheus.ts';
import { emptyDatabase, eventually } from '../../../test/harness.ts';
import { fingerprintSql } from '../traces/fingerprint.ts';
import { nPlusOneTempoBody, nPlusOneTraceId } from '../traces/testdata.ts';
import { loadServiceConfig } from './config.ts';
import { startService } from './service.ts';
import { relay, testServiceEnv, untilReady } from './testdata.ts';

const quiet = pino({ level: 'silent' });
/** The recorded trace's server span: service `mythical-server`, `POST /:endpoint`. */
const JOB = 'mythical-server';
const TRACES = [1, 2, 3];
const AUTO_RESOLVE_CYCLES = 2;

/** 150 s of the route's duration histogram at a 10 s step, ending ten minutes ago: healthy, 5 requests/s. */
function routeSeries(): string {
  const end = Math.floor(Date.now() / 10_000) * 10 - 600;
  const labels = `job="${JOB}",instance="10.0.0.1:9464",http_route="/:endpoint",http_request_method="POST",http_response_status_code="200"`;
  const lines: string[] = [];
  const family = (name: string, value: (n: number) => number, extra = '') => {
    for (let t = end - 150; t <= end; t += 10) {
      lines.push(`${name}{${labels}${extra}} ${value((t - end + 3600) * 5)} ${t}`);
    }
  };
  for (const le of ['0.025', '0.05', '+Inf']) {
    family(
      'http_server_request_duration_seconds_bucket',
      (n) => (le === '0.025' ? Math.round(n / 2) : n),
      `,le="${le}"`,
    );
  }
  family('http_server_request_duration_seconds_count', (n) => n);
  family('http_server_request_duration_seconds_sum', (n) => n * 0.02);
  return `${lines.join('\n')}\n# EOF\n`;
}

/** Tempo's HTTP API as far as the analyzer uses it (readiness, TraceQL search, trace by id v2), answering with
 * three traces of the route, each with 30 inserts of ~2.8 ms: over Sentry's N+1 thresholds (5 calls, 50 ms). */
async function recordedTempo() {
  const bodies = new Map(TRACES.map((n) => [nPlusOneTraceId(n), nPlusOneTempoBody(n, 30)]));
  let searches = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://tempo');
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/ready') return res.writeHead(200).end('ready');
    if (url.pathname === '/api/search') {
      searches += 1;
      return json(200, {
        traces: [...bodies.keys()].map((traceID) => ({
          traceID,
          rootServiceName: 'mythical-requester',
          rootTraceName: 'requester',
          startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
          durationMs: 60,
        })),
      });
    }
    const byId = /^\/api\/v2\/traces\/([0-9a-f]+)$/.exec(url.pathname);
    const body = byId === null ? undefined : bodies.get(byId[1] ?? '');
    if (body !== undefined) return json(200, { trace: JSON.parse(body) as unknown });
    return json(404, { error: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    searches: () => searches,
    close: () => server.close(),
  };
}

describe('hotpath serve when Tempo goes away and comes back', () => {
  it('keeps the trace finding open through the outage, says Tempo is down, and sees it again after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotpath-tempo-outage-'));
    const file = join(dir, 'series.om');
    writeFileSync(file, routeSeries());
    backfill(file, join(dir, 'data'));
    const prometheus = await startPrometheus({ dataDir: join(dir, 'data'), scrapeInterval: '10s' });
    const tempo = await recordedTempo();
    const link = await relay(tempo.url);
    const storeUrl = await emptyDatabase();
    const service = await startService(
      loadServiceConfig(
        testServiceEnv(storeUrl, {
          PROMETHEUS_URL: prometheus.url,
          TEMPO_URL: link.url(),
          HOTPATH_INTERVAL: '5s',
          HOTPATH_WINDOW: '15m',
          HOTPATH_AUTO_RESOLVE_AFTER: `${AUTO_RESOLVE_CYCLES * 5}s`,
        }),
      ),
      quiet,
    );
    const store = new pg.Pool({ connectionString: storeUrl, max: 1 });
    const finding = async () => {
      const { rows } = await store.query<{ id: string; status: string; subject: string; last_seen: Date }>(
        `SELECT id, status, subject, last_seen FROM findings WHERE kind = 'n-plus-one'`,
      );
      return rows;
    };
    const succeededSince = async (id: number) => {
      const { rows } = await store.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM analysis_runs WHERE status = 'succeeded' AND trigger = 'schedule' AND id > $1`,
        [id],
      );
      return rows[0]?.n ?? 0;
    };
    const lastRun = async () => {
      const { rows } = await store.query<{ id: string }>('SELECT max(id) AS id FROM analysis_runs');
      return Number(rows[0]?.id ?? 0);
    };
    try {
      const [opened] = await eventually(async () => {
        const rows = await finding();
        if (rows.length === 0) throw new Error('no n-plus-one finding yet');
        return rows;
      }, 30_000);
      expect(opened?.status).toBe('open');
      // One finding per statement: its subject is the statement's fingerprint, the same as pg_stat_statements'.
      expect(opened?.subject).toBe(await fingerprintSql('INSERT INTO illithid(name) VALUES ($1)'));
      expect(tempo.searches()).toBeGreaterThan(0);

      await link.cut();
      const cutAt = await lastRun();
      const readyz = await eventually(async () => {
        const r = await fetch(`${service.url}/readyz`);
        if (r.status !== 503) throw new Error(`readyz ${r.status}`);
        return (await r.json()) as { checks: Record<string, { status: string; target: string }> };
      }, 15_000);
      expect(readyz.checks.tempo).toMatchObject({ status: 'down', target: `127.0.0.1:${link.port()}` });
      expect(readyz.checks.prometheus?.status).toBe('up');
      // More cycles without traces than it takes to auto-resolve a finding that is gone, all succeeding.
      await eventually(async () => {
        if ((await succeededSince(cutAt)) <= AUTO_RESOLVE_CYCLES) throw new Error('not enough cycles yet');
      }, 40_000);
      const during = await finding();
      expect(during.map((f) => f.status)).toEqual(['open']);
      // Each of those runs says what it went without, and why.
      const { rows: skipped } = await store.query<{ skipped: Record<string, string> }>(
        `SELECT skipped FROM analysis_runs WHERE status = 'succeeded' AND id > $1 ORDER BY id`,
        [cutAt],
      );
      for (const run of skipped) {
        expect(run.skipped.traces).toMatch(
          /^tempo \(http:\/\/127\.0\.0\.1:\d+\): GET .*\/api\/search.* failed .*ECONNREFUSED/,
        );
      }

      await link.restore();
      await untilReady(service.url);
      const restoredAt = await lastRun();
      const seen = await eventually(async () => {
        const [f] = await finding();
        if (
          (await succeededSince(restoredAt)) < 1 ||
          f === undefined ||
          f.last_seen <= (during[0]?.last_seen ?? f.last_seen)
        )
          throw new Error('no cycle has seen the finding since Tempo came back');
        return f;
      }, 30_000);
      expect(seen.status).toBe('open');
      const { rows: latest } = await store.query<{ skipped: Record<string, string> }>(
        `SELECT skipped FROM analysis_runs WHERE status = 'succeeded' ORDER BY id DESC LIMIT 1`,
      );
      expect(latest[0]?.skipped).toEqual({});
      const { rows: events } = await store.query<{ from_status: string | null; to_status: string }>(
        'SELECT from_status, to_status FROM finding_events WHERE finding_id = $1 ORDER BY id',
        [seen.id],
      );
      expect(events).toEqual([{ from_status: null, to_status: 'open' }]);
    } finally {
      await store.end();
      await service.stop();
      await link.cut().catch(() => {});
      tempo.close();
      await prometheus.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
