// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNTHETIC_HEADERS } from '../k6/lib/visit.ts';
import type { DemoProcess } from '../scripts/lib/demo.ts';
import { type CapturedSpan, eventually, startOtlpCapture, startTestDemo } from './harness.ts';

const SERVER = 2; // OTLP SpanKind SERVER
const CLIENT = 3;

describe('spans of a demo request, received over OTLP', () => {
  let demo: DemoProcess;
  let capture: Awaited<ReturnType<typeof startOtlpCapture>>;

  beforeAll(async () => {
    capture = await startOtlpCapture();
    demo = await startTestDemo({ otlpEndpoint: capture.url });
  });
  afterAll(async () => {
    await demo?.stop();
    await capture?.close();
  });

  it('puts pg spans with db.query.text, db.operation.name and db.system.name under the HTTP server span', async () => {
    const response = await fetch(`${demo.url}/api/customers/7/orders`);
    expect(response.status).toBe(200);
    const { server, children } = await eventually(async () => {
      const spans = capture.spans();
      const server = spans.find(
        (s) => s.kind === SERVER && s.attributes['http.route'] === '/api/customers/:id/orders',
      );
      expect(server).toBeDefined();
      const children = spans.filter(
        (s) => s.traceId === server?.traceId && s.parentSpanId === server?.spanId,
      );
      expect(children.length).toBeGreaterThan(0);
      return { server: server as CapturedSpan, children };
    });
    expect(server.name).toBe('GET /api/customers/:id/orders');
    // A user's request: not marked as a load test.
    expect(server.attributes['hotpath.synthetic']).toBeUndefined();
    expect(server.resource['service.name']).toBe(demo.service);
    expect(server.resource['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.resource['deployment.environment.name']).toBe(process.env.NODE_ENV ?? 'development');
    const query = children.find((s) => String(s.attributes['db.query.text'] ?? '').includes('FROM orders o'));
    expect(query).toBeDefined();
    expect(query?.kind).toBe(CLIENT);
    expect(query?.attributes['db.system.name']).toBe('postgresql');
    expect(query?.attributes['db.operation.name']).toBe('SELECT');
  });

  it('makes no span per Express middleware layer', async () => {
    await fetch(`${demo.url}/api/products/3`);
    const spans = await eventually(async () => {
      const server = capture
        .spans()
        .find((s) => s.kind === SERVER && s.attributes['http.route'] === '/api/products/:id');
      expect(server).toBeDefined();
      return capture.spans().filter((s) => s.traceId === server?.traceId);
    });
    expect(
      spans.filter((s) => s.resource['service.name'] === demo.service && s.name.includes('middleware')),
    ).toEqual([]);
    expect(spans.map((s) => s.kind).sort()).toEqual([SERVER, CLIENT].sort());
  });

  it('marks the server span of a load-test request (the baggage k6 sends) as synthetic', async () => {
    const response = await fetch(`${demo.url}/api/products/5/stock`, { headers: SYNTHETIC_HEADERS });
    expect(response.status).toBe(200);
    const server = await eventually(async () => {
      const found = capture
        .spans()
        .find((s) => s.kind === SERVER && s.attributes['http.route'] === '/api/products/:id/stock');
      expect(found).toBeDefined();
      return found as CapturedSpan;
    });
    expect(server.attributes['hotpath.synthetic']).toBe(true);
  });
});
