/**
 * A newcomer's first minutes: on a fresh clone (no node_modules, the machine's own Node), `npm run demo` and
 * `npm test` say in one line to run `npm run setup` first — never a Node stack trace or `vitest: not found` —
 * and on a set-up machine the preflight is silent. The fresh clone is a copy of the tracked files npm needs
 * (package.json, the lock file, scripts/) in a temporary directory, run with the PATH the shell has before set-up
 * (without node_modules/.bin, so the Node is the machine's: Debian's 20 on these machines).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './lib/demo.ts';

const run = promisify(execFile);

/** Runs `command` and returns its exit code and everything it printed. */
async function npm(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('npm', [...args], { cwd, env, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The environment of a shell before set-up: no project binaries on the PATH, no npm script variables. */
function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_')) env[k] = v;
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .join(delimiter);
  return { ...env, ...extra };
}

function expectOneLineTellingSetup(result: { code: number; output: string }): void {
  expect(result.code).toBe(1);
  const ours = result.output.split('\n').filter((line) => line.startsWith('hotpath: '));
  expect(ours).toHaveLength(1);
  expect(ours[0]).toContain('`npm run setup`');
  // Not a stack trace, not a shell's "not found", not Node's loader error.
  expect(result.output).not.toMatch(/^\s+at \S/m);
  expect(result.output).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|: not found|Error:/);
}

describe('before set-up', () => {
  let clone: string;
  beforeAll(() => {
    clone = mkdtempSync(join(tmpdir(), 'hotpath-fresh-'));
    for (const path of ['package.json', 'package-lock.json', 'scripts']) {
      cpSync(join(REPO_ROOT, path), join(clone, path), { recursive: true });
    }
  });
  afterAll(() => rmSync(clone, { recursive: true, force: true }));

  it('npm run demo says in one line to run npm run setup', async () => {
    const result = await npm(['run', 'demo'], clone, shellEnv());
    expectOneLineTellingSetup(result);
    expect(result.output).toContain('not set up yet');
  });

  it('npm test says the same, instead of vitest: not found', async () => {
    const result = await npm(['test'], clone, shellEnv());
    expectOneLineTellingSetup(result);
  });
});

describe('after set-up', () => {
  it('a missing program is named in one line, with its package and variable', async () => {
    const result = await npm(
      ['run', 'demo'],
      REPO_ROOT,
      shellEnv({ HOTPATH_ALERTMANAGER_BIN: join(tmpdir(), 'no-such-alertmanager') }),
    );
    expectOneLineTellingSetup(result);
    expect(result.output).toContain(
      'hotpath: Alertmanager not found: run `npm run setup` first (Debian: prometheus-alertmanager), or set HOTPATH_ALERTMANAGER_BIN.',
    );
  });

  it('the preflight of npm test is silent when everything is there', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'preflight.mjs'), 'test'],
      {
        cwd: REPO_ROOT,
      },
    );
    expect(stdout + stderr).toBe('');
  });
});
