/** Test helpers for `hotpath serve` in-process: its environment on the harness, and API tokens. */
import { SignJWT } from 'jose';
import { inject } from 'vitest';
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
