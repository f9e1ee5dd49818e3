/**
 * docker-compose.yml against the Compose Specification and against the rest of the stack. Docker cannot run
 * here: these checks are what stands between a typo and a user's failed `docker compose up --wait`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  bindMounts,
  composeVariables,
  containerPorts,
  dependsOn,
  hostPort,
  loadCompose,
  readRepoFile,
  repoPathExists,
  SHARED_FIXTURES,
  serviceEnv,
} from './compose.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const compose = loadCompose();
const services = Object.entries(compose.services);

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema', () => {
    const schema = JSON.parse(readFileSync(join(SHARED_FIXTURES, 'schemas', 'compose-spec.json'), 'utf8'));
    // Ajv knows draft-07 by its canonical id (http://…#); the fixture names it by the https alias.
    delete schema.$schema;
    const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
    // The schema is strict enough to catch the typos that matter.
    const typo = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    (typo.services.grafana ?? {}).helthcheck = {};
    expect(validate(typo)).toBe(false);
  });

  it('pins every image, overridable by a variable, never latest', () => {
    // Images built here (demo, analyzer) are tagged with HOTPATH_VERSION; everything pulled is pinned.
    for (const [name, service] of services.filter(([, s]) => s.build === undefined)) {
      expect(service.image, name).toBeDefined();
      const image = service.image ?? '';
      const tag = image.slice(image.lastIndexOf(':') + 1);
      expect(image, name).toContain(':');
      expect(tag, name).not.toBe('latest');
      expect(tag, name).toMatch(/\d/);
    }
    const raw = readRepoFile('docker-compose.yml');
    for (const line of raw.split('\n').filter((l) => /^\s+image: /.test(l))) {
      expect(line, 'tag comes from a VERSION variable with a default').toMatch(
        /:\$\{[A-Z0-9_]+_VERSION:-[^}]+\}$/,
      );
    }
  });

  it('gates start-up on health: every service_healthy dependency has a health check', () => {
    for (const [name, service] of services) {
      for (const [target, condition] of dependsOn(service)) {
        const dep = compose.services[target];
        expect(dep, `${name} depends on unknown ${target}`).toBeDefined();
        if (condition === 'service_healthy') {
          expect(
            dep?.healthcheck?.test,
            `${target} (needed healthy by ${name}) has no healthcheck`,
          ).toBeDefined();
          expect(dep?.healthcheck?.disable).not.toBe(true);
        } else {
          // One-shot init containers are the only other kind of dependency.
          expect(condition, `${name} → ${target}`).toBe('service_completed_successfully');
          expect(dep?.restart, `${target} is one-shot`).toBeUndefined();
        }
      }
    }
  });

  it('adopts every one-shot container, so `up --wait` does not count its clean exit as a failure', () => {
    // docker/compose#10596: --wait fails on an exited container unless a running service depends on it with
    // service_completed_successfully.
    const oneShots = services.filter(([, s]) => s.restart === undefined && s.profiles === undefined);
    expect(oneShots.map(([n]) => n)).toEqual(['otelcol-queue-init']);
    for (const [name] of oneShots) {
      const adopters = services.filter(([, s]) =>
        dependsOn(s).some(([t, c]) => t === name && c === 'service_completed_successfully'),
      );
      expect(adopters.length, name).toBeGreaterThan(0);
      for (const [, adopter] of adopters) expect(adopter.restart).toBe('unless-stopped');
    }
  });

  it('makes Grafana wait for everything it reads from', () => {
    const deps = new Map(dependsOn(compose.services.grafana ?? {}));
    for (const upstream of ['prometheus', 'tempo', 'pyroscope', 'postgres'])
      expect(deps.get(upstream)).toBe('service_healthy');
  });

  it('mounts only files that exist in the repository, configs read-only', () => {
    // Where a service writes results for the host (k6's run records, read by `hotpath compare`): ignored by
    // git, so absent from a clone and created by Compose on first use.
    const outputs = new Set(['./.hotpath/runs']);
    const ignored = readRepoFile('.gitignore').split('\n');
    for (const [name, service] of services) {
      for (const source of bindMounts(service)) {
        if (outputs.has(source)) {
          expect(
            ignored.some((l) => source.startsWith(`./${l.replace(/\/$/, '')}`)),
            `${source} in .gitignore`,
          ).toBe(true);
          continue;
        }
        expect(repoPathExists(source), `${name} mounts ${source}`).toBe(true);
      }
      for (const v of service.volumes ?? []) {
        if (
          typeof v === 'string' &&
          v.startsWith('./') &&
          !v.includes('/k6') &&
          !outputs.has(v.split(':')[0] ?? '')
        )
          expect(v, name).toMatch(/:ro$/);
      }
    }
  });

  it('documents every variable in .env.example, with the same default', () => {
    const example = readRepoFile('.env.example');
    const documented = new Map(
      example
        .split('\n')
        .filter((l) => /^#?\s*[A-Z0-9_]+=/.test(l))
        .map((l) => {
          const [key = '', ...rest] = l.replace(/^#\s*/, '').split('=');
          return [key, rest.join('=')] as const;
        }),
    );
    for (const [name, fallback] of composeVariables(readRepoFile('docker-compose.yml'))) {
      expect(documented.has(name), `${name} missing from .env.example`).toBe(true);
      if (fallback !== undefined) expect(documented.get(name), name).toBe(fallback);
    }
  });

  it('points every in-network URL at a compose service and a port it listens on', () => {
    const urls: [string, string][] = [];
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(serviceEnv(service))) {
        const found = value.match(/(?:https?|postgres):\/\/[^\s,]+/g) ?? [];
        for (const url of found) urls.push([`${name}.${key}`, url.replace(/\/\/[^@/]*@/, '//')]);
      }
      const smtp = serviceEnv(service).GF_SMTP_HOST;
      if (smtp !== undefined) urls.push([`${name}.GF_SMTP_HOST`, smtp]);
    }
    expect(urls.length).toBeGreaterThan(5);
    for (const [where, url] of urls) {
      const { host, port } = hostPort(url);
      // localhost URLs are the user's browser or machine (CORS origins); dotted names are outside (Slack, a
      // webhook): neither is the compose network, whose service names have no dots.
      if (host === 'localhost' || host === '127.0.0.1' || host.includes('.')) continue;
      const target = compose.services[host];
      expect(target, `${where}: ${url} names no compose service`).toBeDefined();
      expect(containerPorts(target ?? {}).has(port), `${where}: ${host} does not listen on ${port}`).toBe(
        true,
      );
    }
  });
});
