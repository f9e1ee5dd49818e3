// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/**
 * Property-based fuzzing of every route of the analyzer API, read from the one route table (`api.ts`), against
 * `hotpath serve` on the real PostgreSQL store: over 10 000 generated requests (path parameters, query strings,
 * JSON and non-JSON bodies, injection attempts, tokens), none answers 5xx; every 4xx is a problem document that
 * names the problem, with a status the route declares; every 2xx matches the schema the route declares. After
 * the injection attempts the store holds exactly what it held before.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../../scripts/lib/process.ts';
import { emptyDatabase } from '../../../../test/harness.ts';
import { findingId } from '../../findings.ts';
import { seedStore } from '../../store/testdata.ts';
import type { Finding } from '../../types.ts';
import { loadServiceConfig } from '../config.ts';
import { type ServiceHandle, startService } from '../service.ts';
import { testServiceEnv, testToken } from '../testdata.ts';
import { API, type ApiRoute, problemStatuses } from './api.ts';
import { problemDocument } from './schemas.ts';

/** Requests per route: 12 routes × 850 ≥ 10 000 in all, with the token and injection properties on top. */
const RUNS_PER_ROUTE = 850;

/** What people type into a filter to see whether it reaches SQL, a shell or a template. */
const INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE findings; --",
  "x' UNION SELECT id, title FROM findings --",
  '1; UPDATE findings SET status = $$dismissed$$',
  '%',
  '_',
  '\\',
  '$1',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the payload is the point
  '${process.exit()}',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '\u0000',
  '\uFFFF',
  'a'.repeat(5000),
];

const quiet = pino({ level: 'silent' });

function seeded(service: string, subject: string, severity: Finding['severity']): Finding {
  return {
    id: findingId('slow-statement', service, subject),
    kind: 'slow-statement',
    layer: 'database',
    service,
    subject,
    severity,
    impact: 0.12,
    title: `${subject} takes 240 ms`,
    summary: 'mean over the 100 ms objective',
    evidence: { values: { mean_s: 0.24 }, window: '15m', queries: [{ language: 'sql', text: 'SELECT 1' }] },
    recommendations: [
      {
        action: 'Add an index on orders (customer_id)',
        artifact: 'CREATE INDEX CONCURRENTLY ON orders (customer_id);',
        expectedGain: 'mean −230 ms',
        confidence: 'high',
        verify: 'mean < 10 ms',
      },
    ],
  };
}

describe('the API under generated input', () => {
  let storeUrl: string;
  let service: ServiceHandle;
  let admin: string;
  let viewer: string;
  const svc = `fuzz-${randomUUID().slice(0, 8)}`;
  const findings = [seeded(svc, 'a1b2c3d4e5f60718', 'critical'), seeded(svc, '0f1e2d3c4b5a6978', 'warning')];
  const ids = findings.map((f) => f.id);

  beforeAll(async () => {
    storeUrl = await emptyDatabase();
    await seedStore(storeUrl, findings);
    // A rate limit the fuzzer cannot reach (service.test.ts tests it), and a Prometheus that is not there: the
    // analyses the fuzzer queues fail at once instead of each running a cycle, and /readyz answers 503.
    service = await startService(
      loadServiceConfig(
        testServiceEnv(storeUrl, {
          HOTPATH_RATE_LIMIT: '1000000',
          HOTPATH_INTERVAL: 'off',
          PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}`,
        }),
      ),
      quiet,
    );
    [admin, viewer] = await Promise.all([testToken('admin', 'fuzzer'), testToken('viewer', 'reader')]);
  });
  afterAll(async () => {
    await service?.stop();
  });

  /** The store's contents that no request of the injection property may change. */
  async function storeState(): Promise<string> {
    const client = new pg.Client({ connectionString: storeUrl });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT (SELECT json_agg(f ORDER BY f.id) FROM findings f) AS findings,
                (SELECT count(*) FROM finding_events) AS events,
                (SELECT count(*) FROM analysis_runs) AS runs`,
      );
      return JSON.stringify(rows[0]);
    } catch (error) {
      return `unreadable: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      await client.end();
    }
  }

  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    // A small alphabet of the characters that break things (NUL, quotes, LIKE wildcards, escapes), often.
    fc.string({
      unit: fc.constantFrom('a', '-', '\0', "'", '"', '%', '_', '\\', ' ', ',', 'é', '\uFFFF'),
      maxLength: 12,
    }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constantFrom(...INJECTIONS),
    fc.constantFrom('', '0', '-1', '1', '1e309', 'NaN', '9007199254740993', 'true', 'null', '[]', '{}'),
  );

  /** A value for a path parameter: the route's real ids, near misses and anything at all. */
  function paramArb(route: ApiRoute): fc.Arbitrary<string> {
    const real = route.path.includes('analyses')
      ? fc.constantFrom('1', '2', '999999')
      : fc.constantFrom(...ids, `${ids[0]}0`, ids[0]?.toUpperCase() ?? '');
    return fc.oneof(
      real,
      text,
      fc
        .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 })
        .map((h) => `slow-endpoint-${h}`),
    );
  }

  /** A query string: the route's own parameters with generated values, sometimes repeated, sometimes unknown. */
  function queryArb(route: ApiRoute): fc.Arbitrary<[string, string][]> {
    const known =
      route.query !== undefined && 'shape' in route.query
        ? Object.keys((route.query as unknown as { shape: object }).shape)
        : [];
    // Mostly the route's own keys, so that many requests get past validation and reach the store.
    const key = fc.oneof(...(known.length > 0 ? [{ arbitrary: fc.constantFrom(...known), weight: 6 }] : []), {
      arbitrary: fc.constantFrom('bogus', 'limit[]', '__proto__', 'constructor'),
      weight: 1,
    });
    const value = fc.oneof(
      text,
      fc.constantFrom('api,database', 'open,acknowledged', 'critical', 'slow-endpoint', '500', '0'),
    );
    const pair = fc.tuple(key, value);
    // One parameter alone as often as several: a single bad value then reaches the store instead of hiding
    // behind another parameter's 400.
    return fc.oneof(
      pair.map((p) => [p]),
      fc.array(pair, { maxLength: 6 }),
    );
  }

  /** A body: JSON of any shape, the route's own fields with generated values, or bytes that are not JSON. */
  function bodyArb(route: ApiRoute): fc.Arbitrary<{ raw: string; type: string } | undefined> {
    const fields =
      route.body !== undefined && 'shape' in route.body.schema
        ? Object.keys((route.body.schema as unknown as { shape: object }).shape)
        : [];
    const shaped = fc.dictionary(
      fc.oneof(...(fields.length > 0 ? [fc.constantFrom(...fields)] : []), fc.string({ maxLength: 8 })),
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom('acknowledged', 'resolved', 'dismissed', 'open', '5m', '1h', '7d', '8d', '30s'),
        text,
      ),
      { maxKeys: 4 },
    );
    return fc.oneof(
      fc.constant(undefined),
      shaped.map((b) => ({ raw: JSON.stringify(b), type: 'application/json' })),
      fc.jsonValue({ maxDepth: 3 }).map((b) => ({ raw: JSON.stringify(b), type: 'application/json' })),
      text.map((raw) => ({ raw, type: 'application/json' })),
      text.map((raw) => ({ raw, type: 'text/plain' })),
    );
  }

  async function send(
    route: ApiRoute,
    path: string,
    query: [string, string][],
    body: { raw: string; type: string } | undefined,
    token: string | undefined,
  ): Promise<{ status: number; type: string; json: unknown; text: string }> {
    const search = new URLSearchParams(query).toString();
    const response = await fetch(`${service.url}${path}${search === '' ? '' : `?${search}`}`, {
      method: route.method.toUpperCase(),
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': body.type }),
      },
      ...(body === undefined || route.method === 'get' ? {} : { body: body.raw }),
    });
    const raw = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    return { status: response.status, type: response.headers.get('content-type') ?? '', json, text: raw };
  }

  /** Why an answer breaks the route's contract, or undefined when it keeps it. */
  function breach(route: ApiRoute, answer: Awaited<ReturnType<typeof send>>): string | undefined {
    const { status, type, json, text: raw } = answer;
    if (status >= 500 && !(route.path === '/readyz' && status === 503))
      return `${status}: ${raw.slice(0, 300)}`;
    const declared = route.responses[status];
    if (declared !== undefined) {
      const parsed = declared.schema.safeParse(json);
      return parsed.success
        ? undefined
        : `${status} does not match its schema: ${parsed.error.message.slice(0, 300)}`;
    }
    if (status < 400) return `${status} is not a status the route declares`;
    // A path that no longer matches the route (an encoded slash in a parameter) is the router's 404.
    if (!(status in problemStatuses(route)) && status !== 404)
      return `${status} is not declared by the route`;
    if (!type.startsWith('application/problem+json')) return `${status} with content-type ${type}`;
    const problem = problemDocument.safeParse(json);
    if (!problem.success) return `${status} is not a problem document: ${raw.slice(0, 200)}`;
    if (status === 400 && (problem.data.problems ?? []).length === 0) return '400 without `problems`';
    return undefined;
  }

  it.each(API.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route] as const))(
    '%s: no 5xx, every 4xx a problem that names itself, every 2xx its declared schema',
    async (_name, route) => {
      const names = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1] ?? '');
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(...names.map(() => paramArb(route))),
          queryArb(route),
          bodyArb(route),
          async (values, query, body) => {
            let path = route.path;
            names.forEach((name, i) => {
              path = path.replace(`:${name}`, encodeURIComponent(values[i] ?? ''));
            });
            // An empty, `.` or `..` parameter makes another URL (`/api/v1/findings/` is the list): that is a
            // request to another route, judged by its own property, not by this one's.
            const segments = new URL(path, 'http://x').pathname.split('/');
            fc.pre(
              segments.length === route.path.split('/').length && segments.slice(1).every((s) => s !== ''),
            );
            const problem = breach(route, await send(route, path, query, body, admin));
            if (problem !== undefined) throw new Error(problem);
          },
        ),
        { numRuns: RUNS_PER_ROUTE },
      );
    },
  );

  it('refuses any malformed token with 401 and a problem that says why', async () => {
    const findingsRoute = API.find((r) => r.path === '/api/v1/findings') as ApiRoute;
    const segment = fc.base64String({ maxLength: 40 }).map((s) => s.replace(/[+/=]/g, 'A'));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 60 }).filter((s) => s.trim() !== '' && !/[\r\n\0]/.test(s)),
          fc.tuple(segment, segment, segment).map((parts) => parts.join('.')),
          fc.tuple(segment, segment).map(([a, b]) => `${viewer.split('.')[0]}.${a}.${b}`),
        ),
        async (token) => {
          let answer: Awaited<ReturnType<typeof send>>;
          try {
            answer = await send(findingsRoute, '/api/v1/findings', [], undefined, token);
          } catch {
            return; // fetch refuses a header value it cannot send: nothing reached the server
          }
          expect(answer.status).toBe(401);
          expect(problemDocument.parse(answer.json).detail.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('changes nothing in the store when filters and notes carry injection attempts', async () => {
    await service.idle(); // the analyses queued by the fuzzing above
    const before = await storeState();
    const list = API.find((r) => r.path === '/api/v1/findings') as ApiRoute;
    const transition = API.find((r) => r.path === '/api/v1/findings/:id/transitions') as ApiRoute;
    const statuses: number[] = [];
    for (const payload of INJECTIONS) {
      for (const key of ['service', 'subject', 'kind', 'layer', 'status', 'limit', 'offset']) {
        statuses.push((await send(list, '/api/v1/findings', [[key, payload]], undefined, viewer)).status);
      }
      // A transition a viewer may not make, and one to an id that is not a finding: neither may write.
      const body = { raw: JSON.stringify({ to: 'dismissed', note: payload }), type: 'application/json' };
      const forbidden = await send(transition, `/api/v1/findings/${ids[0]}/transitions`, [], body, viewer);
      statuses.push(forbidden.status);
      expect(forbidden.status).toBe(403);
      const missing = `/api/v1/findings/${encodeURIComponent(payload)}/transitions`;
      statuses.push((await send(transition, missing, [], body, admin)).status);
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    // The filters matched nothing they should not have: a service that is an injection finds no findings.
    const probe = await send(list, '/api/v1/findings', [['service', "' OR '1'='1"]], undefined, viewer);
    expect((probe.json as { total: number }).total).toBe(0);
    await service.idle();
    expect(await storeState()).toBe(before);
  });

  it('refuses a body over 64 kB with 413, before reading it all', async () => {
    const transition = API.find((r) => r.path === '/api/v1/findings/:id/transitions') as ApiRoute;
    const body = {
      raw: JSON.stringify({ to: 'acknowledged', note: 'x'.repeat(100_000) }),
      type: 'application/json',
    };
    const answer = await send(transition, `/api/v1/findings/${ids[0]}/transitions`, [], body, admin);
    expect(answer.status).toBe(413);
    expect(breach(transition, answer)).toBeUndefined();
  });
});
