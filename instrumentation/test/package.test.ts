/**
 * The package as a user gets it: `npm pack`, installed into a project of its own (a real `node_modules`, no
 * workspace link), and an app started there under `--import @hotpath/instrumentation/register`. Node refuses to
 * strip TypeScript types under `node_modules` (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), so this is what
 * shows the compiled exports (scripts/lib/build.mjs) are complete: a missing file, an import of a `.ts` path or
 * a dependency only the workspace has fails here and nowhere else.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/lib/demo.ts';
import { freePort, type ManagedProcess, startProcess, waitFor } from '../../scripts/lib/process.ts';
import { startOtlpCapture } from '../../test/harness.ts';

const NPM_ENV = { ...(process.env as Record<string, string>), npm_config_loglevel: 'error' };
let project: string;
let files: string[];
let app: ManagedProcess | undefined;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'hotpath-package-'));
  // `prepack` builds dist from the sources first, as a publish would.
  const packed = execFileSync(
    'npm',
    ['pack', '--json', '--pack-destination', project, '-w', '@hotpath/instrumentation'],
    { cwd: REPO_ROOT, env: NPM_ENV, encoding: 'utf8' },
  );
  const [info] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
  if (info === undefined) throw new Error(`npm pack printed no package: ${packed}`);
  files = info.files.map((f) => f.path);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'an-app', private: true, type: 'module' }),
  );
  // From npm's cache where it can (`npm ci` filled it); the app's own dependency is Express, as in testdata.
  execFileSync(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(project, info.filename), 'express@5'],
    { cwd: project, env: NPM_ENV, stdio: ['ignore', 'pipe', 'pipe'], timeout: 170_000 },
  );
  copyFileSync(join(import.meta.dirname, 'testdata', 'esm-app.mjs'), join(project, 'app.mjs'));
}, 180_000);

afterAll(async () => {
  await app?.stop('SIGKILL');
  rmSync(project, { recursive: true, force: true });
});

describe('@hotpath/instrumentation installed from its tarball', () => {
  it('ships the compiled entry points and their declarations, and no tests', () => {
    for (const entry of ['index', 'register', 'semconv']) {
      expect(files).toContain(`dist/${entry}.js`);
      expect(files).toContain(`dist/${entry}.d.ts`);
    }
    expect(files).toContain('browser/dist/hotpath-browser.js');
    expect(files.filter((f) => f.endsWith('.test.ts') || f.startsWith('test/'))).toEqual([]);
  });

  it('instruments an app in a project of its own: the server span reaches the collector', async () => {
    const installed = readdirSync(join(project, 'node_modules', '@hotpath', 'instrumentation'));
    expect(installed).toContain('dist');
    const capture = await startOtlpCapture();
    try {
      const port = await freePort();
      app = startProcess(
        'packaged-app',
        join(REPO_ROOT, 'node_modules', '.bin', 'node'),
        ['--import', '@hotpath/instrumentation/register', 'app.mjs'],
        {
          cwd: project,
          env: {
            PATH: process.env.PATH ?? '',
            PORT: String(port),
            OTEL_SERVICE_NAME: 'packaged',
            OTEL_METRICS_EXPORTER: 'none',
            OTEL_LOGS_EXPORTER: 'none',
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${capture.url}/v1/traces`,
            OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
            OTEL_BSP_SCHEDULE_DELAY: '100',
          },
        },
      );
      await waitFor('the packaged app', 30_000, app, async () => app?.output().includes('ready') ?? false);
      const response = await fetch(`http://127.0.0.1:${port}/items/7`);
      expect(await response.json()).toEqual({ id: '7', kind: 'esm' });
      await waitFor('its server span', 15_000, app, async () =>
        capture.spans().some((s) => s.kind === 2 && s.attributes['http.route'] === '/items/:id'),
      );
      expect(app.output()).not.toMatch(/ERR_|TypeError|Cannot find/);
    } finally {
      await capture.close();
    }
  });
});
