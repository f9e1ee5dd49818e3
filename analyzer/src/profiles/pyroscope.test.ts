/**
 * The Pyroscope query client against Pyroscope's published contract, over real HTTP: a server that answers
 * `SelectMergeStacktraces` with the recorded response of Pyroscope's own UI tests
 * (../shared/fixtures/pyroscope), so the request the client sends (Connect JSON, milliseconds, the label
 * selector) and the answer it decodes are both the documented ones.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_FIXTURES } from '../../../test/stack/compose.ts';
import { UpstreamError } from '../errors.ts';
import { labelSelector, PyroscopeClient, SELECT_MERGE_STACKTRACES_PATH } from './pyroscope.ts';

const recorded = readFileSync(
  join(SHARED_FIXTURES, 'pyroscope', 'select-merge-stacktraces.pyroscope-cpu.grafana-pyroscope-ui-e2e.json'),
  'utf8',
);
const NOW = 1_779_729_327_372;

describe('Pyroscope query client', () => {
  let server: Server;
  let url: string;
  const requests: { path: string; type: string; body: Record<string, unknown> }[] = [];
  let answer: { status: number; body: string } = { status: 200, body: recorded };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c.toString('utf8');
      });
      req.on('end', () => {
        requests.push({
          path: req.url ?? '',
          type: req.headers['content-type'] ?? '',
          body: JSON.parse(text || '{}'),
        });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('asks for one service’s, or one route’s, wall time over the stretch, in milliseconds', async () => {
    const client = new PyroscopeClient({ url: `${url}/`, now: () => NOW, retries: 0 });
    const set = await client.stacks({
      service: 'prod/shop',
      kind: 'wall',
      sinceSeconds: 900,
      spanName: 'GET /a "b"',
    });
    expect(requests.at(-1)).toEqual({
      path: SELECT_MERGE_STACKTRACES_PATH,
      type: 'application/json',
      body: {
        profileTypeID: 'wall:wall:nanoseconds:wall:nanoseconds',
        labelSelector: '{service_name="shop",span_name="GET /a \\"b\\""}',
        start: NOW - 900_000,
        end: NOW,
        maxNodes: 8192,
      },
    });
    // The recorded graph: 11.1 s of samples over the 15 minutes asked for.
    expect(set?.seconds).toBe(900);
    expect(set?.samples.reduce((sum, s) => sum + s.value, 0)).toBe(11_100_000_000);
  });

  it('cuts a heap query to about one push at the end, since heap profiles do not add up', async () => {
    const client = new PyroscopeClient({ url, now: () => NOW, retries: 0 });
    await client.stacks({ service: 'shop', kind: 'heap', sinceSeconds: 900, at: 'latest' });
    expect(requests.at(-1)?.body).toMatchObject({
      profileTypeID: 'memory:space:bytes:space:bytes',
      labelSelector: '{service_name="shop"}',
      start: NOW - 60_000,
      end: NOW,
    });
  });

  it('answers null for no profile, and names Pyroscope for a wrong answer or server', async () => {
    const client = new PyroscopeClient({ url, now: () => NOW, retries: 0 });
    answer = { status: 200, body: '{}' };
    expect(await client.stacks({ service: 'shop', kind: 'wall', sinceSeconds: 60 })).toBeNull();
    answer = { status: 200, body: '{"flamegraph":{"names":["total"],"levels":[{"values":["x"]}]}}' };
    await expect(client.stacks({ service: 'shop', kind: 'wall', sinceSeconds: 60 })).rejects.toThrow(
      /pyroscope \(http:.*\): SelectMergeStacktraces answered a flamegraph without/,
    );
    answer = { status: 404, body: '404 page not found' };
    const error = await client.stacks({ service: 'shop', kind: 'wall', sinceSeconds: 60 }).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(String(error)).toContain('not a Pyroscope server');
    answer = { status: 400, body: '{"code":"invalid_argument","message":"parse error"}' };
    await expect(client.stacks({ service: 'shop', kind: 'wall', sinceSeconds: 60 })).rejects.toThrow(
      /POST .*SelectMergeStacktraces refused \(HTTP 400\)/,
    );
    answer = { status: 200, body: recorded };
  });

  it('escapes label values', () => {
    expect(labelSelector({ service: 'a\\b' })).toBe('{service_name="a\\\\b"}');
  });
});
