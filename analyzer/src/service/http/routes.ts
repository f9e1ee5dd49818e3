/** Every route of the analyzer API: method, Express path, the role it needs (null = public). */
import type { Role } from './auth.ts';

/** Every route: method, path, the role it needs (none = public). The OpenAPI test checks both agree. */
export const ROUTES: readonly { method: 'get' | 'post'; path: string; role: Role | null }[] = [
  { method: 'get', path: '/healthz', role: null },
  { method: 'get', path: '/readyz', role: null },
  { method: 'get', path: '/api/v1/openapi.json', role: null },
  { method: 'get', path: '/api/v1/findings', role: 'viewer' },
  { method: 'get', path: '/api/v1/findings/:id', role: 'viewer' },
  { method: 'get', path: '/api/v1/findings/:id/history', role: 'viewer' },
  { method: 'get', path: '/api/v1/findings/:id/recommendations', role: 'viewer' },
  { method: 'post', path: '/api/v1/findings/:id/transitions', role: 'operator' },
  { method: 'get', path: '/api/v1/analyses', role: 'viewer' },
  { method: 'post', path: '/api/v1/analyses', role: 'operator' },
  { method: 'get', path: '/api/v1/analyses/:id', role: 'viewer' },
  { method: 'get', path: '/api/v1/config', role: 'admin' },
];

export function roleOf(method: string, path: string): Role | null {
  const route = ROUTES.find((r) => r.method === method && r.path === path);
  if (route === undefined) throw new Error(`route ${method} ${path} is not in ROUTES`);
  return route.role;
}
