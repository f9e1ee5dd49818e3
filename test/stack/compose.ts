/** Reading the compose stack's files the way their tools do, for the contract tests. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/lib/demo.ts';

/**
 * The project's recorded upstream contracts (read-only): `../shared/fixtures` beside the checkout, as CI and
 * every developer machine have it, or HOTPATH_SHARED_DIR.
 */
export const SHARED_FIXTURES = join(
  process.env.HOTPATH_SHARED_DIR ?? join(REPO_ROOT, '..', 'shared'),
  'fixtures',
);
if (!existsSync(SHARED_FIXTURES)) {
  throw new Error(
    `shared fixtures not found at ${SHARED_FIXTURES}: check out ../shared beside the repository or set HOTPATH_SHARED_DIR`,
  );
}

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

export function repoPathExists(path: string): boolean {
  return existsSync(join(REPO_ROOT, path));
}

/** Variables the compose file interpolates (`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`). */
export function composeVariables(text: string): Map<string, string | undefined> {
  const vars = new Map<string, string | undefined>();
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?]([^}]*))?\}/g)) {
    const [, name = '', fallback] = m;
    if (!vars.has(name) || vars.get(name) === undefined) vars.set(name, fallback);
  }
  return vars;
}

/** Interpolates like `docker compose` with an empty environment: defaults apply, `$$` is a literal `$`. */
export function interpolate(text: string, env: Readonly<Record<string, string>> = {}): string {
  return text
    .replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
      (_, name: string, colon, op, arg: string) => {
        const value = env[name];
        const unset = value === undefined || (colon === ':' && value === '');
        if (op === '-') return unset ? arg : (value ?? '');
        if (op === '?' && unset) throw new Error(`compose: required variable ${name} is not set: ${arg}`);
        return value ?? '';
      },
    )
    .replaceAll('$$', '$');
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published?: string | number })[];
  expose?: (string | number)[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: unknown; disable?: boolean };
  profiles?: string[];
  restart?: string;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function loadCompose(env: Readonly<Record<string, string>> = {}): ComposeFile {
  return parse(interpolate(readRepoFile('docker-compose.yml'), env), { merge: true }) as ComposeFile;
}

/** The environment of a service as a plain object. */
export function serviceEnv(service: ComposeService): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => [e.split('=', 1)[0] ?? '', e.slice(e.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Ports a service listens on inside the compose network: the container side of `ports`, plus `expose`. */
export function containerPorts(service: ComposeService): Set<number> {
  const ports = new Set<number>();
  for (const p of service.ports ?? []) {
    if (typeof p === 'object') ports.add(p.target);
    else ports.add(Number(String(p).split(':').at(-1)?.split('/')[0]));
  }
  for (const e of service.expose ?? []) ports.add(Number(String(e).split('/')[0]));
  return ports;
}

/** Host-side paths of bind mounts (`./x:/y[:ro]`). */
export function bindMounts(service: ComposeService): string[] {
  return (service.volumes ?? []).flatMap((v) => {
    if (typeof v === 'object') return v.type === 'bind' && v.source !== undefined ? [v.source] : [];
    const source = v.split(':')[0] ?? '';
    return source.startsWith('.') || source.startsWith('/') ? [source] : [];
  });
}

export function dependsOn(service: ComposeService): [string, string][] {
  const d = service.depends_on;
  if (d === undefined) return [];
  if (Array.isArray(d)) return d.map((name) => [name, 'service_started']);
  return Object.entries(d).map(([name, spec]) => [name, spec.condition ?? 'service_started']);
}

/** `host:port` of a URL or a bare `host:port`. */
export function hostPort(address: string): { host: string; port: number } {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? new URL(address) : new URL(`tcp://${address}`);
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  return { host: url.hostname, port: url.port === '' ? defaultPort : Number(url.port) };
}
