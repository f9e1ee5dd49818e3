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
/** The source paths of every COPY (relative to the build context, the repository root). */
const copied = [...dockerfile.matchAll(/^COPY\s+(.+)$/gm)].flatMap((m) => {
  const parts = (m[1] ?? '').split(/\s+/);
  return parts.slice(0, -1).filter((p) => !p.startsWith('--'));
});
const covered = (path: string) =>
  copied.some((c) => path === c || path.startsWith(`${c.replace(/\/$/, '')}/`));

describe('analyzer image', () => {
  it.each([
    ['the SLO file', relative(REPO_ROOT, sloFilePath())],
    ['the store migrations', relative(REPO_ROOT, MIGRATIONS_DIR)],
    ['the analyzer sources', 'analyzer/src/cli.ts'],
    ['the instrumentation it imports', 'instrumentation/src/semconv.ts'],
  ])('copies %s (%s)', (_, path) => {
    expect(covered(path), `${path} is read at run time but not copied: ${copied.join(', ')}`).toBe(true);
  });
});
