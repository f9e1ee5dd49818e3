/** The split into unit and integration projects, read from what each test file uses (test/projects.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import {
  integrationGroups,
  integrationTestFiles,
  isIntegrationTest,
  PARALLEL_MARKER,
  runsBesideOthers,
} from './projects.ts';

/** `name(args)` as source text, built so that this file itself does not read as calling the helpers it names. */
const call = (name: string, args = '') => `${name}${'('}${args})`;

describe('test projects', () => {
  it('reads a file as integration when it uses the shared servers or starts real ones', () => {
    expect(isIntegrationTest(`const url = ${call('inject', "'postgresUrl'")};`)).toBe(true);
    expect(isIntegrationTest(`const demo = await ${call('startTestDemo', '{ scenarios: [] }')};`)).toBe(true);
    expect(isIntegrationTest(`const browser = await ${call('launchChromium')};`)).toBe(true);
    expect(isIntegrationTest(`const app = ${call('startProcess', "'app', process.execPath, [file]")};`)).toBe(
      true,
    );
  });

  it('reads a file as unit when it only imports paths or pure helpers from the same modules', () => {
    expect(
      isIntegrationTest("import { REPO_ROOT } from '../scripts/lib/demo.ts';\nreadFileSync(REPO_ROOT);"),
    ).toBe(false);
    expect(isIntegrationTest(`import { median } from './harness.ts';\n${call('median', '[1, 2]')};`)).toBe(
      false,
    );
    // A one-shot tool is not a server.
    expect(isIntegrationTest(call('execFileSync', "'promtool', ['check', 'rules', file]"))).toBe(false);
    // A name that merely ends like a helper is not a call to it.
    expect(isIntegrationTest(`${call('restartPostgresLater')}; ${call('mydrive', 'x')};`)).toBe(false);
  });

  it('runs an integration file beside others only when it says so; the end-to-end tests run alone', () => {
    expect(runsBesideOthers(`// ${PARALLEL_MARKER}\n${call('inject', "'postgresUrl'")};`)).toBe(true);
    expect(runsBesideOthers(call('inject', "'postgresUrl'"))).toBe(false);
    const { parallel, serial } = integrationGroups(REPO_ROOT);
    expect([...parallel, ...serial].sort()).toEqual(integrationTestFiles(REPO_ROOT));
    expect(parallel).toContain('analyzer/src/store/store.test.ts');
    for (const e2e of ['test/root-cause-e2e.test.ts', 'test/analyzer-e2e.test.ts', 'test/scenarios.test.ts'])
      expect(serial).toContain(e2e);
    // The files that reset pg_stat_statements server-wide, or rebuild the instrumentation's dist, run alone.
    for (const exclusive of [
      'analyzer/src/commands/advise.test.ts',
      'analyzer/src/advisor/advisor.test.ts',
      'instrumentation/test/package.test.ts',
    ])
      expect(serial).toContain(exclusive);
    // Nor may a new one that does the same carry the marker.
    for (const file of parallel)
      expect(readFileSync(join(REPO_ROOT, file), 'utf8'), file).not.toMatch(
        /pg_stat_statements_reset|'pack'|buildInstrumentation\(/,
      );
  });

  it('puts the detectors in the unit project and the end-to-end tests in integration', () => {
    const integration = integrationTestFiles(REPO_ROOT);
    expect(integration).toContain('test/root-cause-e2e.test.ts');
    expect(integration).toContain('test/demo-run.test.ts');
    expect(integration).toContain('analyzer/src/store/store.test.ts');
    expect(integration.filter((f) => f.startsWith('analyzer/src/detectors/'))).toEqual([]);
    expect(integration).not.toContain('test/projects.test.ts');
  });
});
