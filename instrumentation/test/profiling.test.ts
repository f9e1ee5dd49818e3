/**
 * Profiling with the real Pyroscope Node SDK in a real app (`--import @hotpath/instrumentation/register`,
 * `HOTPATH_PROFILING=on`), pushing to the analyzer's embedded ingest endpoint: each route's wall samples carry
 * its own span name, across `await`s and with the two routes' requests interleaved, and the code that holds
 * the main thread is named (the app function and the Node API it calls). With the profile server down, every
 * request still succeeds.
 */
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedProfileSource, pyroscopeIngestRouter } from '../../analyzer/src/profiles/embedded.ts';
import { hotCode } from '../../analyzer/src/profiles/hot.ts';
import { REPO_ROOT } from '../../scripts/lib/demo.ts';
import { freePort, type ManagedProcess, startProcess, waitFor } from '../../scripts/lib/process.ts';
import { eventually } from '../../test/harness.ts';

const APP = join(import.meta.dirname, 'testdata', 'profiled-app.mjs');
const REGISTER = join(REPO_ROOT, 'instrumentation', 'src', 'register.ts');

async function startApp(profileServer: string): Promise<{ url: string; proc: ManagedProcess }> {
  const port = await freePort();
  const proc = startProcess('profiled-app', process.execPath, ['--import', REGISTER, APP], {
    cwd: REPO_ROOT,
    env: {
      ...(process.env as Record<string, string>),
      PORT: String(port),
      OTEL_SERVICE_NAME: 'reports',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${profileServer}/v1/traces`,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      HOTPATH_PROFILING: 'on',
      PYROSCOPE_SERVER_ADDRESS: profileServer,
      PYROSCOPE_FLUSH_INTERVAL_MS: '2000',
    },
  });
  await waitFor('profiled-app', 30_000, proc, async () => proc.output().includes('ready'));
  return { url: `http://127.0.0.1:${port}`, proc };
}

/** Both routes, interleaved, for `ms`. */
async function traffic(url: string, ms: number): Promise<number[]> {
  const statuses: number[] = [];
  const until = Date.now() + ms;
  let i = 0;
  while (Date.now() < until) {
    const n = i++;
    const rs = await Promise.all([fetch(`${url}/reports/${n}`), fetch(`${url}/items/${n}/score`)]);
    for (const r of rs) {
      await r.arrayBuffer();
      statuses.push(r.status);
    }
  }
  return statuses;
}

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops) await stop();
});

describe('continuous profiles from the app', () => {
  it('labels each route’s samples with its span and names the code that holds the loop', async () => {
    const source = new EmbeddedProfileSource();
    const receiver = express().use(pyroscopeIngestRouter({ source }));
    const server = receiver.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    stops.push(() => new Promise((r) => server.close(() => r())));
    const app = await startApp(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    stops.push(() => app.proc.stop('SIGKILL'));

    const statuses = await traffic(app.url, 5_000);
    expect(statuses.every((s) => s === 200)).toBe(true);
    await eventually(async () => expect(source.stats().profiles).toBeGreaterThanOrEqual(2), 10_000);

    const all = await source.stacks({ service: 'reports', kind: 'wall', sinceSeconds: 60 });
    const names = new Set(all?.samples.map((s) => s.labels.span_name ?? '-'));
    expect([...names]).toContain('GET /reports/:id');
    const route = async (spanName: string) => {
      const set = await source.stacks({ service: 'reports', kind: 'wall', sinceSeconds: 60, spanName });
      expect(set?.samples.length ?? 0, spanName).toBeGreaterThan(0);
      return hotCode(set ?? { samples: [], seconds: 0 }, { source: 'embedded', route: spanName });
    };
    const reports = await route('GET /reports/:id');
    expect(reports?.frames[0]).toMatchObject({
      function: 'compressReport',
      kind: 'app',
      // lib/zlib.js makes every *Sync convenience method one closure, `syncBufferWrapper`.
      callee: 'zlib.*Sync',
      callee_kind: 'node-api',
    });
    expect(reports?.frames[0]?.file).toMatch(/profiled-app\.mjs$/);
    expect(reports?.frames[0]?.line).toBe(10);
    const score = await route('GET /items/:id/score');
    expect(score?.frames[0]).toMatchObject({ function: 'scoreItems', kind: 'app', line: 16 });
    // Each route's samples are its own: the other route's function is not among its top frames.
    expect(score?.frames.map((f) => f.function)).not.toContain('compressReport');
    expect(reports?.frames.map((f) => f.function)).not.toContain('scoreItems');

    const heap = await source.stacks({ service: 'reports', kind: 'heap', sinceSeconds: 60, at: 'latest' });
    expect(heap?.samples.length ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it('serves every request when the profile server is down', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const app = await startApp(dead);
    stops.push(() => app.proc.stop('SIGKILL'));
    const statuses = await traffic(app.url, 5_000);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(app.proc.exited()).toBeUndefined();
  }, 60_000);

  it('serves every request when the profile server takes the pushes and never answers', async () => {
    // A black hole: it accepts each connection and reads what comes, and never sends a byte back.
    const held: Socket[] = [];
    const requests: string[] = [];
    const hole = createNetServer((socket) => {
      held.push(socket);
      socket.once('data', (chunk: Buffer) => requests.push(chunk.toString('latin1').split('\r\n')[0] ?? ''));
      socket.resume();
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    stops.push(async () => {
      for (const s of held) s.destroy();
      await new Promise<void>((r) => hole.close(() => r()));
    });
    const app = await startApp(`http://127.0.0.1:${(hole.address() as AddressInfo).port}`);
    stops.push(() => app.proc.stop('SIGKILL'));
    const statuses = await traffic(app.url, 6_000);
    // The SDK pushed profiles into it (a flush every 2 s) while the app went on serving.
    expect(requests.filter((r) => r.startsWith('POST /ingest?')).length).toBeGreaterThan(0);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(app.proc.exited()).toBeUndefined();
  }, 60_000);
});
