// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/** The admin API and input handling, on the real app and a real database (in process, port 0). */
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopDatabase } from '../../test/harness.ts';
import { createApp } from './app.ts';
import { SCENARIO_NAMES, Scenarios } from './scenarios.ts';

describe('demo app', () => {
  let pool: pg.Pool;
  let base: string;
  let close: () => Promise<void>;
  const hookCalls: boolean[] = [];

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: await shopDatabase('app') });
    const scenarios = new Scenarios({
      'missing-index': async (on) => {
        hookCalls.push(on);
      },
    });
    const server = createApp({ pool, scenarios }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((r) => server.close(() => r()));
  });
  afterAll(async () => {
    await close?.();
    await pool?.end();
  });

  const json = (method: string, body: unknown) => ({
    method,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

  it('lists every scenario, all off, with what it does', async () => {
    const body = (await (await fetch(`${base}/admin/scenarios`)).json()) as {
      scenarios: { name: string; on: boolean; description: string }[];
    };
    expect(body.scenarios.map((s) => s.name)).toEqual(SCENARIO_NAMES);
    expect(body.scenarios.every((s) => !s.on && s.description.length > 20)).toBe(true);
  });

  it('switches a scenario on and off, running its hook once per change', async () => {
    const on = await fetch(`${base}/admin/scenarios/missing-index`, json('POST', { on: true }));
    expect(await on.json()).toEqual({ name: 'missing-index', on: true });
    await fetch(`${base}/admin/scenarios/missing-index`, json('POST', { on: true }));
    await fetch(`${base}/admin/scenarios/missing-index`, json('POST', { on: false }));
    expect(hookCalls).toEqual([true, false]);
  });

  it('sets exactly a list of scenarios with PUT', async () => {
    const response = await fetch(`${base}/admin/scenarios`, json('PUT', { on: ['n-plus-one', 'slow-lcp'] }));
    const body = (await response.json()) as { scenarios: { name: string; on: boolean }[] };
    expect(body.scenarios.filter((s) => s.on).map((s) => s.name)).toEqual(['n-plus-one', 'slow-lcp']);
    await fetch(`${base}/admin/scenarios`, json('PUT', { on: [] }));
  });

  it('answers bad input with 400 or 404 naming the problem, never 500', async () => {
    const unknown = await fetch(`${base}/admin/scenarios/warp-drive`, json('POST', { on: true }));
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { details: { valid: string[] } }).details.valid).toContain(
      'n-plus-one',
    );

    const badBody = await fetch(`${base}/admin/scenarios/n-plus-one`, json('POST', { on: 'yes', extra: 1 }));
    expect(badBody.status).toBe(400);
    const details = ((await badBody.json()) as { details: { path: string }[] }).details.map((d) => d.path);
    expect(details).toEqual(expect.arrayContaining(['on']));

    expect((await fetch(`${base}/admin/scenarios`, json('PUT', '{not json'))).status).toBe(400);
    expect((await fetch(`${base}/admin/scenarios`, json('PUT', { on: ['n-plus-one', 'nope'] }))).status).toBe(
      400,
    );
    expect((await fetch(`${base}/api/products/abc`)).status).toBe(400);
    expect((await fetch(`${base}/api/products/999999`)).status).toBe(404);
    expect((await fetch(`${base}/api/orders`, json('POST', { customerId: -1 }))).status).toBe(400);
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
  });

  it('serves the shop page and compresses its script', async () => {
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<img id="hero"');
    const script = await fetch(`${base}/assets/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.headers.get('content-encoding')).toBe('gzip');
  });
});
