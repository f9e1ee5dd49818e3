// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { UpstreamError } from '../errors.ts';
import { PrometheusClient } from './prometheus.ts';

let server: Server | undefined;
afterEach(() => server?.close());

/** A stand-in Prometheus for failure modes only (the real one cannot be made to misbehave on cue). */
async function fake(handler: (n: number) => { status: number; body: string } | 'hang'): Promise<string> {
  let n = 0;
  server = createServer((_req, res) => {
    const answer = handler(n++);
    if (answer === 'hang') return;
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('PrometheusClient', () => {
  it('runs instant queries against the real Prometheus', async () => {
    const client = new PrometheusClient({ url: inject('prometheusUrl') });
    expect(await client.ready()).toBe(true);
    const [sample] = await client.query('vector(42)');
    expect(sample?.value).toBe(42);
    const series = await client.query('up');
    expect(series.every((s) => typeof s.labels.job === 'string')).toBe(true);
  });

  it('runs range queries against the real Prometheus, points in time order', async () => {
    const client = new PrometheusClient({ url: inject('prometheusUrl') });
    const end = new Date();
    const start = new Date(end.getTime() - 60_000);
    const [series] = await client.queryRange('vector(7)', start, end, 15);
    expect(series?.points.length).toBe(5);
    expect(series?.points.every(([, v]) => v === 7)).toBe(true);
    const times = series?.points.map(([t]) => t) ?? [];
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBe(60);
    await expect(client.queryRange('vector(', start, end, 15)).rejects.toThrowError(
      /query refused \(HTTP 400\)/,
    );
  });

  it('names the upstream and the reason when a query is refused, without retrying it', async () => {
    const client = new PrometheusClient({ url: inject('prometheusUrl'), retries: 3 });
    const error = await client.query('sum(rate(x[1m])').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(String((error as Error).message)).toMatch(
      /^prometheus \(http:\/\/127\.0\.0\.1:\d+\): query refused \(HTTP 400\)/,
    );
  });

  it('retries 5xx with backoff and succeeds when Prometheus recovers', async () => {
    const url = await fake((n) =>
      n < 2
        ? { status: 503, body: '{"status":"error","error":"overloaded"}' }
        : {
            status: 200,
            body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"7"]}]}}',
          },
    );
    const client = new PrometheusClient({ url, retries: 2, backoffMs: 10 });
    expect((await client.query('x'))[0]?.value).toBe(7);
  });

  it('gives up on an unreachable or hanging Prometheus within its timeout, saying where it tried', async () => {
    const hanging = await fake(() => 'hang');
    const client = new PrometheusClient({ url: hanging, timeoutMs: 200, retries: 1, backoffMs: 10 });
    const started = Date.now();
    const error = await client.query('up').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toMatch(/unreachable after 2 attempts/);
    const closed = new PrometheusClient({ url: 'http://127.0.0.1:9', retries: 0 });
    expect(await closed.ready()).toBe(false);
    await expect(closed.query('up')).rejects.toThrow(/prometheus \(http:\/\/127\.0\.0\.1:9\)/);
  });
});
