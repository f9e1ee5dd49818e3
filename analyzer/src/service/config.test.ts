import { describe, expect, it } from 'vitest';
import { loadCompose, readRepoFile, serviceEnv } from '../../../test/stack/compose.ts';
import { ConfigError } from '../errors.ts';
import { loadServiceConfig, RETIRED, redactedConfig, SERVICE_VARIABLES } from './config.ts';

const minimal = {
  HOTPATH_DATABASE_URL: 'postgres://hotpath:secret@localhost:5432/hotpath',
  PROMETHEUS_URL: 'http://localhost:9090',
  HOTPATH_JWT_SECRET: 'x'.repeat(32),
};

describe('hotpath serve configuration', () => {
  it('has sane defaults for everything but the store, Prometheus and the token key', () => {
    const config = loadServiceConfig(minimal);
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      intervalSeconds: 30,
      window: '15m',
      windowSeconds: 900,
      autoResolveAfterSeconds: 180,
      autoResolveCycles: 6,
      rateLimitPerMinute: 600,
      migrate: true,
      logLevel: 'info',
      auth: { kind: 'secret', roleClaim: 'role' },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(loadServiceConfig({ ...minimal, HOTPATH_INTERVAL: 'off' }).intervalSeconds).toBeNull();
  });

  it('turns the auto-resolve time into clean cycles at the interval, rounded up, at least one', () => {
    const cycles = (after: string, interval: string) =>
      loadServiceConfig({ ...minimal, HOTPATH_AUTO_RESOLVE_AFTER: after, HOTPATH_INTERVAL: interval })
        .autoResolveCycles;
    expect(cycles('3m', '1m')).toBe(3);
    expect(cycles('40s', '20s')).toBe(2);
    expect(cycles('100s', '30s')).toBe(4);
    expect(cycles('10s', '1m')).toBe(1);
  });

  it('says what replaced HOTPATH_AUTO_RESOLVE_CYCLES', () => {
    expect(() => loadServiceConfig({ ...minimal, HOTPATH_AUTO_RESOLVE_CYCLES: '3' })).toThrow(
      /HOTPATH_AUTO_RESOLVE_CYCLES: was replaced by HOTPATH_AUTO_RESOLVE_AFTER/,
    );
  });

  it('reports every problem at once, each with its variable', () => {
    let error: unknown;
    try {
      loadServiceConfig({
        PROMETHEUS_URL: 'ftp://x',
        PORT: 'eighty',
        HOTPATH_WINDOW: '10s',
        HOTPATH_AUTO_RESOLVE_AFTER: '3 minutes',
        LOG_LEVEL: 'loud',
        HOTPATH_JWT_SECRET: 'short',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.split(':')[0]);
    expect(problems.sort()).toEqual(
      [
        'HOTPATH_DATABASE_URL',
        'PROMETHEUS_URL',
        'PORT',
        'HOTPATH_WINDOW',
        'HOTPATH_AUTO_RESOLVE_AFTER',
        'LOG_LEVEL',
        'HOTPATH_JWT_SECRET',
      ].sort(),
    );
  });

  it('wants exactly one way to check tokens', () => {
    const both = {
      ...minimal,
      HOTPATH_JWKS_URL: 'https://idp.example/jwks.json',
      HOTPATH_JWT_AUDIENCE: 'hotpath',
    };
    expect(() => loadServiceConfig(both)).toThrowError(
      /set exactly one of HOTPATH_JWT_SECRET .* and HOTPATH_JWKS_URL/,
    );
    const { HOTPATH_JWT_SECRET: _, ...neither } = minimal;
    expect(() => loadServiceConfig(neither)).toThrowError(/set exactly one of/);
    expect(
      loadServiceConfig({ ...neither, HOTPATH_JWKS_URL: 'https://idp.example/jwks.json' }).auth.kind,
    ).toBe('jwks');
  });

  it('treats empty variables as unset', () => {
    expect(
      loadServiceConfig({ ...minimal, APP_DATABASE_URL: '', TEMPO_URL: ' ' }).appDatabaseUrl,
    ).toBeUndefined();
  });

  it('masks passwords and the secret when it shows itself', () => {
    const shown = JSON.stringify(redactedConfig(loadServiceConfig(minimal)));
    expect(shown).not.toContain('secret@');
    expect(shown).not.toContain('x'.repeat(32));
  });

  it('accepts the analyzer environment docker-compose.yml gives it, and nothing it does not know', () => {
    const analyzer = loadCompose().services.analyzer;
    expect(analyzer?.profiles).toBeUndefined();
    const env = serviceEnv(analyzer ?? {});
    // A retired variable is passed through (empty unless an operator's .env still sets it), to be refused.
    const unknown = Object.keys(env).filter(
      (k) => !SERVICE_VARIABLES.includes(k) && !(k in RETIRED) && !k.startsWith('OTEL_'),
    );
    expect(unknown).toEqual([]);
    expect(() => loadServiceConfig({ ...env, HOTPATH_AUTO_RESOLVE_CYCLES: '10' })).toThrow(/was replaced by/);
    const config = loadServiceConfig(env);
    expect(config.prometheusUrl).toBe('http://prometheus:9090');
    expect(config.databaseService).toBe('hotpath/demo-shop');
  });

  it('is documented in the README, one row per variable', () => {
    const readme = readRepoFile('README.md');
    for (const name of SERVICE_VARIABLES) expect(readme, name).toMatch(new RegExp(`\\| \`${name}\` \\|`));
  });
});
