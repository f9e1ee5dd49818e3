/** Helpers for tests that use the real PostgreSQL, Prometheus and demo processes of the global setup. */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { type DemoProcess, type StartDemoOptions, startDemo } from '../scripts/lib/demo.ts';
import { withClient } from '../scripts/lib/postgres.ts';

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A fresh copy of the seeded shop database; returns its URL. */
export async function shopDatabase(prefix = 'shop'): Promise<string> {
  const name = `${prefix}_${randomUUID().slice(0, 8)}`;
  const serverUrl = inject('postgresUrl');
  // FILE_COPY copies the template's files directly: much faster than the WAL_LOG default for a 300 MB shop.
  await withClient(serverUrl, (c) =>
    c.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(inject('shopTemplate'))} STRATEGY FILE_COPY`),
  );
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh, empty database (e.g. an analyzer store); returns its URL. */
export async function emptyDatabase(prefix = 'hotpath'): Promise<string> {
  const name = `${prefix}_${randomUUID().slice(0, 8)}`;
  const serverUrl = inject('postgresUrl');
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${ident(name)}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A unique service name, so a test's series never mix with another test's. */
export function uniqueService(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Starts the demo on a fresh database, scraped by the test Prometheus. */
export async function startTestDemo(
  options: Partial<StartDemoOptions> & { readonly service?: string } = {},
): Promise<DemoProcess & { readonly databaseUrl: string }> {
  const databaseUrl = options.databaseUrl ?? (await shopDatabase());
  const demo = await startDemo({
    scrapeTargetsDir: inject('prometheusTargetsDir'),
    ...options,
    databaseUrl,
    service: options.service ?? uniqueService('demo'),
  });
  return Object.assign(demo, { databaseUrl });
}

/**
 * Resolves once Prometheus scrapes `service`. file_sd discovery takes up to ~10 s: traffic sent before the
 * first scrape leaves counters that never move within a window (no rate) and heap growth that is never seen.
 */
export async function scraped(service: string, timeoutMs = 60_000): Promise<void> {
  await eventually(async () => {
    const [up] = await promQuery(`up{job="${service}"}`);
    if (up?.value !== 1) throw new Error(`Prometheus does not scrape ${service} yet`);
  }, timeoutMs);
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/** An instant PromQL query against the test Prometheus. */
export async function promQuery(expr: string): Promise<PromSample[]> {
  const url = new URL('/api/v1/query', inject('prometheusUrl'));
  url.searchParams.set('query', expr);
  const response = await fetch(url);
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success' || body.data === undefined) {
    throw new Error(`PromQL ${expr} failed: ${body.error ?? response.status}`);
  }
  if (body.data.resultType !== 'vector') throw new Error(`PromQL ${expr}: expected a vector`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** Retries `check` until it stops throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 30_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** Sends `count` requests, `concurrency` at a time; returns each response's status and duration. */
export async function drive(
  count: number,
  concurrency: number,
  request: (i: number) => Promise<Response>,
): Promise<{ status: number; ms: number }[]> {
  const results: { status: number; ms: number }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      const response = await request(i);
      await response.arrayBuffer();
      results.push({ status: response.status, ms: performance.now() - started });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** A span as received over OTLP/HTTP JSON, attributes flattened. */
export interface CapturedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly resource: Readonly<Record<string, string | number | boolean>>;
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};
type OtlpKv = { key: string; value: OtlpValue };

function flatten(attributes: readonly OtlpKv[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    const v = value.stringValue ?? value.doubleValue ?? value.boolValue ?? value.intValue;
    if (v !== undefined) out[key] = typeof v === 'string' && value.intValue !== undefined ? Number(v) : v;
  }
  return out;
}

/** A minimal OTLP/HTTP JSON trace receiver: what a collector would get, kept for assertions. */
export async function startOtlpCapture(): Promise<{
  readonly url: string;
  spans(): CapturedSpan[];
  close(): Promise<void>;
}> {
  const spans: CapturedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans?: {
            resource?: { attributes?: OtlpKv[] };
            scopeSpans?: {
              spans?: {
                traceId: string;
                spanId: string;
                parentSpanId?: string;
                name: string;
                kind: number;
                startTimeUnixNano: string;
                endTimeUnixNano: string;
                attributes?: OtlpKv[];
              }[];
            }[];
          }[];
        };
        for (const rs of body.resourceSpans ?? []) {
          const resource = flatten(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId === '' ? undefined : s.parentSpanId,
                name: s.name,
                kind: s.kind,
                startNs: BigInt(s.startTimeUnixNano),
                endNs: BigInt(s.endTimeUnixNano),
                attributes: flatten(s.attributes),
                resource,
              });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
