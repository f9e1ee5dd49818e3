// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoProcess } from '../scripts/lib/demo.ts';
import { drive, eventually, promQuery, startTestDemo } from './harness.ts';

describe('pull mode: the demo scraped by the real Prometheus', () => {
  let demo: DemoProcess;
  const requests = 30;

  beforeAll(async () => {
    demo = await startTestDemo();
    const paths = ['/api/products/1', '/api/products/42', '/api/customers/7/orders', '/api/products?limit=5'];
    const results = await drive(requests, 4, (i) => fetch(`${demo.url}${paths[i % paths.length]}`));
    expect(results.every((r) => r.status === 200)).toBe(true);
  });
  afterAll(() => demo?.stop());

  it('stores the HTTP duration histogram under its OTLP name, with job = service name and route templates', async () => {
    const job = demo.service;
    const series = await eventually(async () => {
      const result = await promQuery(`http_server_request_duration_seconds_bucket{job="${job}", le="+Inf"}`);
      expect(result.length).toBeGreaterThan(0);
      return result;
    });
    const routes = new Set(series.map((s) => s.metric.http_route));
    expect(routes).toEqual(new Set(['/api/products/:id', '/api/customers/:id/orders', '/api/products']));
    for (const route of routes) expect(route).not.toMatch(/\d/);
  });

  it('counts only app requests: the exporter serving /metrics is not app traffic', async () => {
    await eventually(async () => {
      const [total] = await promQuery(
        `sum(http_server_request_duration_seconds_count{job="${demo.service}"})`,
      );
      expect(total?.value).toBe(requests);
    });
    // Prometheus has scraped /metrics many times by now; none of it may show up as a route.
    await eventually(async () => {
      const scrapes = await promQuery(`count_over_time(up{job="${demo.service}"}[1m])`);
      expect(scrapes[0]?.value ?? 0).toBeGreaterThanOrEqual(3);
    });
    const [after] = await promQuery(`sum(http_server_request_duration_seconds_count{job="${demo.service}"})`);
    expect(after?.value).toBe(requests);
  });

  it('has DB, event-loop and heap series under their OTLP names', async () => {
    const job = demo.service;
    await eventually(async () => {
      const db = await promQuery(`db_client_operation_duration_seconds_count{job="${job}"}`);
      expect(db.length).toBeGreaterThan(0);
      expect(db[0]?.metric.db_system_name).toBe('postgresql');
      expect(await promQuery(`nodejs_eventloop_delay_p99_seconds{job="${job}"}`)).toHaveLength(1);
      const heap = await promQuery(`sum(v8js_memory_heap_used_bytes{job="${job}"})`);
      expect(heap[0]?.value).toBeGreaterThan(1_000_000);
      // What survived the latest mark-compact (start-up runs several): part of the heap in use, never more.
      const [live] = await promQuery(`hotpath_v8js_heap_live_bytes{job="${job}"}`);
      expect(live?.value).toBeGreaterThan(1_000_000);
      expect(live?.value).toBeLessThan(
        (await promQuery(`hotpath_v8js_heap_size_limit_bytes{job="${job}"}`))[0]?.value ?? 0,
      );
      expect(await promQuery(`nodejs_eventloop_utilization_ratio{job="${job}"}`)).toHaveLength(1);
      expect((await promQuery(`process_cpu_time_seconds_total{job="${job}"}`)).length).toBeGreaterThan(0);
    });
    // Nothing catalogued stays under its unsuffixed pull name.
    expect(
      await promQuery(`{__name__=~"http_server_request_duration_(bucket|sum|count)", job="${job}"}`),
    ).toEqual([]);
    expect(await promQuery(`v8js_memory_heap_used{job="${job}"}`)).toEqual([]);
  });
});
