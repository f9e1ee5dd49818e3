/**
 * The analyzer image holds every file the analyzer reads at run time. Docker cannot build here, so the
 * Dockerfile's COPY sources are checked against the paths the code resolves (the SLO file's default, the
 * migrations directory) and the source trees it imports.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sloFilePath } from '../../analyzer/src/slo.ts';
import { MIGRATIONS_DIR } from '../../analyzer/src/store/migrate.ts';
import { REPO_ROOT } from '../../scripts/lib/demo.ts';

const dockerfile = readFileSync(join(REPO_ROOT, 'analyzer', 'Dockerfile'), 'utf8');
/**
 * The source paths of every COPY of the final stage, relative to the repository root. A `COPY --from=build`
 * counts when the build stage (WORKDIR /app) copied those files' sources from the context and built them.
 */
const [buildStage = '', finalStage = ''] = dockerfile.split(/^FROM .*$/m).slice(1);
const copies = (stage: string) =>
  [...stage.matchAll(/^COPY\s+(.+)$/gm)].map((m) => (m[1] ?? '').split(/\s+/));
const copied = copies(finalStage).flatMap((parts) => {
  const fromBuild = parts.includes('--from=build');
  return parts
    .slice(0, -1)
    .filter((p) => !p.startsWith('--'))
    .map((p) => (fromBuild ? p.replace(/^\/app\//, '') : p));
});
const covered = (path: string) =>
  copied.some((c) => path === c || path.startsWith(`${c.replace(/\/$/, '')}/`));

describe('analyzer image', () => {
  it.each([
    ['the SLO file', relative(REPO_ROOT, sloFilePath())],
    ['the store migrations', relative(REPO_ROOT, MIGRATIONS_DIR)],
    ['the analyzer sources', 'analyzer/src/cli.ts'],
    // The analyzer runs under `--import @hotpath/instrumentation/register`: the package's compiled exports.
    ['the instrumentation it imports', 'instrumentation/dist/semconv.js'],
    ['the instrumentation it runs under', 'instrumentation/dist/register.js'],
  ])('copies %s (%s)', (_, path) => {
    expect(covered(path), `${path} is read at run time but not copied: ${copied.join(', ')}`).toBe(true);
  });

  it('builds the instrumentation it copies from its sources, with the build the package ships', () => {
    expect(copies(buildStage).flat()).toContain('instrumentation/src');
    expect(buildStage).toMatch(/tsc -p instrumentation\/tsconfig\.build\.json/);
    expect(dockerfile).toMatch(/^FROM .* AS build$/m);
  });
});
