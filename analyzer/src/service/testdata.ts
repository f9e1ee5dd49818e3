/** Test helpers for `hotpath serve` in-process: its environment on the harness, and API tokens. */
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { SignJWT } from 'jose';
import { inject } from 'vitest';
import { eventually } from '../../../test/harness.ts';
import { findingId } from '../findings.ts';
import type { Finding } from '../types.ts';
import type { Role } from './http/auth.ts';

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256!';

/**
 * The environment of a service on the harness: the test Prometheus, free ports, one cycle at start (tests
 * trigger the others). `extra` overrides any of it.
 */
export function testServiceEnv(storeUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOTPATH_DATABASE_URL: storeUrl,
    PROMETHEUS_URL: inject('prometheusUrl'),
    HOTPATH_JWT_SECRET: TEST_SECRET,
    HOST: '127.0.0.1',
    PORT: '0',
    HOTPATH_OTLP_PORT: '0',
    HOTPATH_INTERVAL: '1h',
    HOTPATH_WINDOW: '5m',
    ...extra,
  };
}

/** A token for `role`, signed with the test secret. */
export function testToken(role: Role | readonly string[], subject = 'tester'): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime('30m')
    .sign(new TextEncoder().encode(TEST_SECRET));
}

/**
 * A TCP relay to an upstream (the real Prometheus or PostgreSQL) on a fixed port: `cut()` drops every connection
 * and makes the port refuse new ones, `restore()` listens again on the same port. With `delayMs`, every chunk the
 * upstream sends reaches the client that much later: an upstream that answers, slowly.
 */
export async function relay(to: URL, options: { readonly delayMs?: number } = {}) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const open = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(to.port), to.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream);
      if (options.delayMs === undefined) upstream.pipe(client);
      else
        upstream.on('data', (chunk: Buffer) => {
          setTimeout(() => {
            if (!client.destroyed) client.write(chunk);
          }, options.delayMs);
        });
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  await open();
  return {
    port: () => port,
    url: () => `http://127.0.0.1:${port}`,
    async cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    },
    restore: open,
  };
}

/** A slow-endpoint finding of `service` about `subject`, as a cycle would store it. */
export function testFinding(service: string, subject: string): Finding {
  return {
    id: findingId('slow-endpoint', service, subject),
    kind: 'slow-endpoint',
    layer: 'api',
    service,
    subject,
    severity: 'critical',
    impact: 0.3,
    title: `${subject} p95 is 612 ms`,
    summary: 'p95 over the 200 ms objective',
    evidence: { values: { p95_s: 0.612 }, window: '15m', queries: [{ language: 'promql', text: 'up' }] },
    recommendations: [
      {
        action: 'Cache the product list',
        expectedGain: 'p95 −400 ms',
        confidence: 'medium',
        verify: 'p95 < 200 ms',
      },
    ],
  };
}

/** Resolves once the service's `/readyz` answers 200. */
export async function untilReady(serviceUrl: string, ms = 15_000): Promise<void> {
  await eventually(async () => {
    const r = await fetch(`${serviceUrl}/readyz`);
    if (r.status !== 200) throw new Error(`readyz ${r.status}`);
  }, ms);
}
