/**
 * The compose PostgreSQL image and its HypoPG package must match: Docker cannot build here, so the contract is
 * checked across the files. The image compose builds is the pinned official one (the same version compose and
 * .env.example pin), the Dockerfile installs the HypoPG package of that image's own major version from the
 * image's apt sources, and the init script creates the extension in the app database, where the advisor looks.
 */
import { describe, expect, it } from 'vitest';
import { loadCompose, readRepoFile } from './compose.ts';

const dockerfile = readRepoFile('stack/postgres/Dockerfile');
const compose = loadCompose();
const postgres = compose.services.postgres;

describe('compose PostgreSQL image', () => {
  it('is built from the pinned official image, at the version compose and .env.example pin', () => {
    const build = postgres?.build as { context?: string; args?: Record<string, string | number> } | undefined;
    expect(build?.context).toBe('stack/postgres');
    // YAML reads 17.6 as a number; compose passes build args as strings.
    const version = String(build?.args?.POSTGRES_VERSION);
    expect(version).toMatch(/^\d+\.\d+$/);
    expect(postgres?.image).toBe(`hotpath/postgres:${version}`);
    expect(dockerfile).toMatch(/^FROM postgres:\$\{POSTGRES_VERSION\}$/m);
    expect(dockerfile).toContain(`ARG POSTGRES_VERSION=${version}`);
    expect(readRepoFile('.env.example')).toMatch(
      new RegExp(`^POSTGRES_VERSION=${version.replace('.', '\\.')}$`, 'm'),
    );
  });

  it("installs the HypoPG package of the image's own major version, never a fixed one", () => {
    const packages = [...dockerfile.matchAll(/postgresql-([^-\s"]+)-hypopg/g)].map((m) => m[1]);
    // PG_MAJOR is the official image's own variable: the package follows the FROM line's version.
    expect(packages).toEqual([String.raw`\${PG_MAJOR}`.slice(1)]);
    expect(dockerfile).toMatch(
      /apt-get install -y --no-install-recommends "postgresql-\$\{PG_MAJOR\}-hypopg"/,
    );
  });

  it('creates the extension in the app database, as the advisor needs it', () => {
    const init = readRepoFile('stack/postgres/init/01-hotpath.sh');
    const shop = init.slice(init.indexOf('--dbname shop'));
    expect(shop.slice(0, shop.indexOf('\nSQL'))).toContain('CREATE EXTENSION IF NOT EXISTS hypopg;');
  });
});
