/** Every route of the analyzer API: method, Express path, the role it needs (null = public), from `api.ts`. */
import { API } from './api.ts';
import type { Role } from './auth.ts';

export const ROUTES: readonly { method: 'get' | 'post'; path: string; role: Role | null }[] = API.map(
  ({ method, path, role }) => ({ method, path, role }),
);
