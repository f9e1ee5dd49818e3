// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/**
 * `hotpath serve` in-process on the real PostgreSQL (store) and the real test Prometheus: the API's
 * authorization matrix, validation, lifecycle across a restart, triggered analyses, rate limiting.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDatabase, eventually } from '../../../test/harness.ts';
import { SHARED_FIXTURES } from '../../../test/stack/compose.ts';
import { seedStore } from '../store/testdata.ts';
import { loadServiceConfig } from './config.ts';
import { ROUTES } from './http/routes.ts';
import { type ServiceHandle, startService } from './service.ts';
import { TEST_SECRET, testFinding, testServiceEnv } from './testdata.ts';

const SECRET = TEST_SECRET;
const key = new TextEncoder().encode(SECRET);

async function token(claims: Record<string, unknown>, options: { alg?: string; expiresIn?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setSubject(String(claims.sub ?? 'tester'))
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.alg === 'HS512' ? new TextEncoder().encode(`${SECRET}${SECRET}`) : key);
}

const quiet = pino({ level: 'silent' });

describe('hotpath serve API', () => {
  let storeUrl: string;
  let service: ServiceHandle;
  const svc = `shop-${randomUUID().slice(0, 8)}`;
  const first = testFinding(svc, 'GET /api/products');
  const second = testFinding(svc, 'GET /api/orders');
  // Untouched by the other tests (the authorization matrix acknowledges `first`).
  const third = testFinding(svc, 'GET /api/stats');
  let viewer: string;
  let operator: string;
  let admin: string;

  beforeAll(async () => {
    storeUrl = await emptyDatabase();
    await seedStore(storeUrl, [first, second, third]);
    service = await startService(loadServiceConfig(testServiceEnv(storeUrl)), quiet);
    [viewer, operator, admin] = await Promise.all([
      token({ role: 'viewer', sub: 'vera' }),
      token({ role: 'operator', sub: 'otto' }),
      token({ role: ['viewer', 'admin'], sub: 'ada' }),
    ]);
  });
  afterAll(async () => {
    await service?.stop();
  });

  const call = (path: string, init: RequestInit & { token?: string | undefined; json?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${service.url}${path}`, {
      ...init,
      headers: { ...headers, ...(init.headers as Record<string, string>) },
      ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
    });
  };

  it('enforces every route’s role for every kind of credential', async () => {
    const credentials: Record<string, string | undefined> = {
      none: undefined,
      expired: await token({ role: 'admin' }, { expiresIn: '-1m' }),
      'wrong algorithm': await token({ role: 'admin' }, { alg: 'HS512' }),
      unsigned: new UnsecuredJWT({ role: 'admin', sub: 'mallory' }).setExpirationTime('5m').encode(),
      'bad signature': `${admin.slice(0, -4)}AAAA`,
      'unknown role': await token({ role: 'root' }),
      viewer,
      operator,
      admin,
    };
    const rank = { viewer: 0, operator: 1, admin: 2 } as const;
    const failures: string[] = [];
    let checked = 0;
    for (const route of ROUTES) {
      const path = route.path.replace(':id', route.path.includes('analyses') ? '1' : first.id);
      for (const [name, credential] of Object.entries(credentials)) {
        const response = await call(path, {
          method: route.method.toUpperCase(),
          token: credential,
          ...(route.method === 'post'
            ? { json: route.path.includes('transitions') ? { to: 'acknowledged' } : {} }
            : {}),
        });
        await response.arrayBuffer();
        let expected: 'allowed' | 401 | 403;
        if (route.role === null) expected = 'allowed';
        else if (['none', 'expired', 'wrong algorithm', 'unsigned', 'bad signature'].includes(name))
          expected = 401;
        else if (name === 'unknown role') expected = 403;
        else expected = rank[name as keyof typeof rank] >= rank[route.role] ? 'allowed' : 403;
        const ok =
          expected === 'allowed'
            ? response.status !== 401 && response.status !== 403 && response.status < 500
            : response.status === expected;
        if (!ok)
          failures.push(
            `${route.method.toUpperCase()} ${route.path} as ${name}: ${response.status}, expected ${expected}`,
          );
        checked++;
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(ROUTES.length * 9);
  });

  it('says why a token is refused, with WWW-Authenticate', async () => {
    const expired = await call('/api/v1/findings', {
      token: await token({ role: 'admin' }, { expiresIn: '-1m' }),
    });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe('Bearer');
    expect(expired.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await expired.json()) as object).toMatchObject({ status: 401, detail: 'token expired' });
    const wrongAlg = await call('/api/v1/findings', {
      token: await token({ role: 'admin' }, { alg: 'HS512' }),
    });
    expect(((await wrongAlg.json()) as { detail: string }).detail).toMatch(/algorithm that is not accepted/);
    const forever = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const noExpiry = await call('/api/v1/findings', { token: forever });
    expect(((await noExpiry.json()) as { detail: string }).detail).toMatch(/no expiry/);
    const low = await call('/api/v1/config', { token: operator });
    expect(((await low.json()) as { detail: string }).detail).toBe(
      'this needs the admin role; the token has operator',
    );
  });

  it('answers 400 naming every problem of a bad request, never 500', async () => {
    const cases: { path: string; method?: string; json?: unknown; raw?: string; problems: string[] }[] = [
      {
        path: '/api/v1/findings?limit=0&layer=db,api&severity=urgent&bogus=1',
        problems: ['query.layer.0', 'query.severity.0', 'query.limit', 'query.bogus'],
      },
      { path: '/api/v1/findings?limit=abc&offset=-1', problems: ['query.limit', 'query.offset'] },
      { path: '/api/v1/findings/not-an-id', problems: ['params.id'] },
      { path: '/api/v1/findings/not-an-id/history?x=1', problems: ['params.id', 'query.x'] },
      {
        path: `/api/v1/findings/${first.id}/transitions`,
        method: 'POST',
        json: { to: 'fixed', note: 'x'.repeat(2001), by: 'me' },
        problems: ['body.to', 'body.note', 'body.by'],
      },
      { path: `/api/v1/findings/${first.id}/transitions`, method: 'POST', json: {}, problems: ['body.to'] },
      { path: `/api/v1/findings/${first.id}/transitions`, method: 'POST', json: [1, 2], problems: ['body'] },
      {
        path: `/api/v1/findings/${first.id}/transitions`,
        method: 'POST',
        raw: '{"to": ',
        problems: ['body'],
      },
      {
        path: '/api/v1/analyses',
        method: 'POST',
        json: { window: '2s', force: true },
        problems: ['body.window', 'body.force'],
      },
      { path: '/api/v1/analyses/zero', problems: ['params.id'] },
      { path: '/api/v1/findings?service=%00', problems: ['query.service'] },
      {
        path: `/api/v1/findings/${first.id}/transitions`,
        method: 'POST',
        json: { to: 'acknowledged', note: 'a\u0000b' },
        problems: ['body.note'],
      },
      { path: '/api/v1/analyses?status=done&limit=1000', problems: ['query.status.0', 'query.limit'] },
    ];
    for (const c of cases) {
      const response = await fetch(`${service.url}${c.path}`, {
        method: c.method ?? 'GET',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        ...(c.raw !== undefined
          ? { body: c.raw }
          : c.json !== undefined
            ? { body: JSON.stringify(c.json) }
            : {}),
      });
      const body = (await response.json()) as {
        status: number;
        problems?: { path: string; message: string }[];
      };
      expect({ path: c.path, status: response.status }).toEqual({ path: c.path, status: 400 });
      expect(body.problems?.map((p) => p.path).sort()).toEqual([...c.problems].sort());
      for (const p of body.problems ?? []) expect(p.message.length).toBeGreaterThan(3);
    }
  });

  it('answers 404 for an unknown finding or route and 409 for a transition the lifecycle refuses', async () => {
    expect((await call('/api/v1/findings/slow-endpoint-0000000000000000', { token: viewer })).status).toBe(
      404,
    );
    expect((await call('/api/v1/nothing', { token: viewer })).status).toBe(404);
    const dismissed = await call(`/api/v1/findings/${second.id}/transitions`, {
      method: 'POST',
      token: operator,
      json: { to: 'dismissed', note: 'a nightly batch, expected' },
    });
    expect(dismissed.status).toBe(201);
    const refused = await call(`/api/v1/findings/${second.id}/transitions`, {
      method: 'POST',
      token: operator,
      json: { to: 'acknowledged' },
    });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(
      /from dismissed it can move to open/,
    );
  });

  it('filters findings and serves one with its recommendations', async () => {
    const list = (await (
      await call(`/api/v1/findings?service=${svc}&severity=critical`, { token: viewer })
    ).json()) as {
      items: { id: string }[];
      total: number;
    };
    expect(list.items.map((f) => f.id).sort()).toEqual([first.id, second.id, third.id].sort());
    const recs = (await (
      await call(`/api/v1/findings/${first.id}/recommendations`, { token: viewer })
    ).json()) as {
      items: { action: string }[];
    };
    expect(recs.items[0]?.action).toBe('Cache the product list');
    const none = (await (
      await call(`/api/v1/findings?service=${svc}&status=resolved`, { token: viewer })
    ).json()) as {
      total: number;
    };
    expect(none.total).toBe(0);
  });

  it('keeps transitions and history across a restart', async () => {
    const ack = await call(`/api/v1/findings/${third.id}/transitions`, {
      method: 'POST',
      token: operator,
      json: { to: 'acknowledged', note: 'on it' },
    });
    expect(ack.status).toBe(201);
    await service.stop();
    service = await startService(loadServiceConfig(testServiceEnv(storeUrl)), quiet);
    const finding = (await (await call(`/api/v1/findings/${third.id}`, { token: viewer })).json()) as {
      status: string;
    };
    expect(finding.status).toBe('acknowledged');
    const history = (await (
      await call(`/api/v1/findings/${third.id}/history`, { token: viewer })
    ).json()) as {
      items: { from: string | null; to: string; actor: string; note: string | null }[];
    };
    expect(history.items.map((e) => [e.from, e.to, e.actor])).toEqual([
      [null, 'open', 'analyzer'],
      ['open', 'acknowledged', 'otto'],
    ]);
    expect(history.items[1]?.note).toBe('on it');
  });

  it('runs a triggered analysis against Prometheus and reports its status', async () => {
    const response = await call('/api/v1/analyses', {
      method: 'POST',
      token: operator,
      json: { window: '2m' },
    });
    expect(response.status).toBe(202);
    const run = (await response.json()) as {
      id: number;
      status: string;
      created: boolean;
      windowSeconds: number;
    };
    expect(run).toMatchObject({ status: 'queued', created: true, windowSeconds: 120 });
    expect(response.headers.get('location')).toBe(`/api/v1/analyses/${run.id}`);
    const done = await eventually(async () => {
      const r = (await (await call(`/api/v1/analyses/${run.id}`, { token: viewer })).json()) as {
        status: string;
        requestedBy: string;
      };
      if (r.status !== 'succeeded') throw new Error(`run ${run.id} is ${r.status}`);
      return r;
    }, 60_000);
    expect(done.requestedBy).toBe('otto');
    const runs = (await (await call('/api/v1/analyses?status=succeeded', { token: viewer })).json()) as {
      items: { id: number }[];
    };
    expect(runs.items.map((r) => r.id)).toContain(run.id);
  });

  it('serves its OpenAPI document and, to admins only, its configuration without secrets', async () => {
    const doc = (await (await call('/api/v1/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const config = await (await call('/api/v1/config', { token: admin })).text();
    expect(config).not.toContain(SECRET);
    expect(config).toContain('"secret":"***"');
  });
});

describe('hotpath serve start-up', () => {
  it('refuses to start half-way when a port is taken, and says which', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      const storeUrl = await emptyDatabase();
      const error = await startService(
        loadServiceConfig(testServiceEnv(storeUrl, { HOTPATH_OTLP_PORT: String(taken) })),
        quiet,
      ).catch((e: unknown) => e);
      expect(String(error)).toMatch(new RegExp(`cannot listen \\(HOTPATH_OTLP_PORT ${taken}\\)`));
      // Nothing of it keeps running: no scheduled cycle was ever recorded.
      const pool = new pg.Pool({ connectionString: storeUrl, max: 1 });
      await new Promise((r) => setTimeout(r, 500));
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM analysis_runs');
      await pool.end();
      expect(rows[0]?.n).toBe(0);
    } finally {
      blocker.close();
    }
  });
});

describe('hotpath serve receiver', () => {
  it('takes OTLP traces and the Pyroscope SDK pushes on one port, and counts the profiles in /readyz', async () => {
    const storeUrl = await emptyDatabase();
    const service = await startService(loadServiceConfig(testServiceEnv(storeUrl)), quiet);
    try {
      const receiver = service.otlpUrl as string;
      // The wall profile Pyroscope's own integration test ingests (an Express app, gzipped pprof).
      const body = readFileSync(
        join(SHARED_FIXTURES, 'pyroscope', 'ingest-body.nodejs-wall.grafana-pyroscope.pb.gz'),
      );
      const pushed = await fetch(
        `${receiver}/ingest?name=${encodeURIComponent('shop{env=test}')}&format=pprof`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body,
        },
      );
      expect(pushed.status).toBe(200);
      const refused = await fetch(`${receiver}/ingest?name=`, { method: 'POST', body });
      expect(refused.status).toBe(400);
      const lost = await fetch(`${receiver}/nowhere`, { method: 'POST' });
      expect(lost.status).toBe(404);
      expect(((await lost.json()) as { error: string }).error).toMatch(/POST \/v1\/traces.*POST \/ingest/);
      const ready = (await (await fetch(`${service.url}/readyz`)).json()) as {
        profiles?: { source: string; profiles: number; rejectedPushes: number };
      };
      expect(ready.profiles).toMatchObject({ source: 'embedded', profiles: 1, rejectedPushes: 1 });
    } finally {
      await service.stop();
    }
  });
});

describe('hotpath serve with Pyroscope', () => {
  it('reads profiles from PYROSCOPE_URL, takes no pushes, and /readyz follows Pyroscope’s /ready', async () => {
    // Pyroscope cannot run here: a stand-in with its readiness contract (dskit's GET /ready: 200 "ready", 503
    // with the reason while it starts), as `profilecli ready` in docker-compose.yml reads it.
    let ready = false;
    const pyroscope = createServer((req, res) => {
      if (req.url !== '/ready') res.writeHead(404).end();
      else if (ready) res.writeHead(200).end('ready');
      else res.writeHead(503).end('Some services are not Running:\nStarting: 1\n');
    });
    await new Promise<void>((r) => pyroscope.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(pyroscope.address() as AddressInfo).port}`;
    const storeUrl = await emptyDatabase();
    const service = await startService(
      loadServiceConfig(testServiceEnv(storeUrl, { PYROSCOPE_URL: url })),
      quiet,
    );
    type Ready = {
      status: string;
      checks: Record<string, { status: string; error?: string }>;
      profiles?: unknown;
    };
    try {
      const starting = await fetch(`${service.url}/readyz`);
      expect(starting.status).toBe(503);
      const body = (await starting.json()) as Ready;
      expect(body.checks.pyroscope).toMatchObject({ status: 'down' });
      expect(body.checks.pyroscope?.error).toContain('/ready answered 503');
      // Profiles come from Pyroscope: the embedded window does not count pushes.
      expect(body.profiles).toBeUndefined();
      ready = true;
      const up = await eventually(async () => {
        const r = await fetch(`${service.url}/readyz`);
        if (r.status !== 200) throw new Error(`readyz ${r.status}`);
        return (await r.json()) as Ready;
      }, 10_000);
      expect(up.checks.pyroscope).toMatchObject({ status: 'up' });
    } finally {
      await service.stop();
      pyroscope.close();
    }
  });
});

describe('hotpath serve rate limiting', () => {
  it('answers 429 with RateLimit headers once a caller exceeds the limit, and only that caller', async () => {
    const storeUrl = await emptyDatabase();
    const service = await startService(
      loadServiceConfig(testServiceEnv(storeUrl, { HOTPATH_RATE_LIMIT: '5' })),
      quiet,
    );
    try {
      const busy = await token({ role: 'viewer', sub: 'busy' });
      const other = await token({ role: 'viewer', sub: 'other' });
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await fetch(`${service.url}/api/v1/findings`, {
          headers: { authorization: `Bearer ${busy}` },
        });
        statuses.push(r.status);
        if (r.status === 429) {
          expect(r.headers.get('ratelimit-policy')).toMatch(/q=5/);
          expect(((await r.json()) as { detail: string }).detail).toMatch(/more than 5 requests in a minute/);
        } else await r.arrayBuffer();
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const r = await fetch(`${service.url}/api/v1/findings`, {
        headers: { authorization: `Bearer ${other}` },
      });
      expect(r.status).toBe(200);
    } finally {
      await service.stop();
    }
  });

  it('with HOTPATH_INTERVAL=off runs no cycle of its own, only the ones asked for', async () => {
    const storeUrl = await emptyDatabase();
    const service = await startService(
      loadServiceConfig(testServiceEnv(storeUrl, { HOTPATH_INTERVAL: 'off' })),
      quiet,
    );
    try {
      const headers = { authorization: `Bearer ${await token({ role: 'operator', sub: 'ci' })}` };
      const asked = await fetch(`${service.url}/api/v1/analyses`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ window: '1m' }),
      });
      expect(asked.status).toBe(202);
      await service.idle();
      const runs = (await (await fetch(`${service.url}/api/v1/analyses`, { headers })).json()) as {
        items: { trigger: string; status: string }[];
      };
      // Without `off`, a scheduled cycle starts with the service, before this one.
      expect(runs.items.map((r) => `${r.trigger} ${r.status}`)).toEqual(['api succeeded']);
    } finally {
      await service.stop();
    }
  });
});
