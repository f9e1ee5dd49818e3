/**
 * Which test files are integration tests, decided from what each file uses, so that a new file lands in the
 * right project without a list to keep up to date:
 *
 * - **integration**: the file uses the servers the global setup starts (`inject(…)`), or starts real ones itself
 *   (PostgreSQL, Prometheus, Alertmanager, Chromium, the demo, the analyzer, traffic, any long-lived child process:
 *   the helpers in `scripts/lib/` and `test/`). One-shot tools (`promtool check`, `amtool`) do not count. These run one file at a time, after the unit tests: several assert latencies
 *   against the SLOs, and on a 2-core machine two at once make each other miss them.
 * - **unit**: everything else, in parallel, with no global setup: a single detector test starts no PostgreSQL.
 *
 * A file put in the wrong project fails loudly rather than silently: `inject()` outside the integration project
 * returns nothing and the test that needs it breaks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Helpers that start real servers or browsers, or use the global setup's (`scripts/lib/` and `test/`). Matched as
 * calls, not imports: many unit tests import `REPO_ROOT` or `freePort` from the same modules.
 */
const SERVER_HELPERS = [
  'startProcess', // a long-lived child: an instrumented app, the demo, `npm run demo`
  'startPostgres',
  'createDatabase',
  'startPrometheus',
  'startAlertmanager',
  'startDemo',
  'startAnalyzer',
  'startInstrumentedApp',
  'startTraffic',
  'startTestDemo',
  'startTestAnalyzer',
  'shopDatabase',
  'emptyDatabase',
  'scraped',
  'promQuery',
  'drive',
  'firing',
  'expectFires',
  'launchChromium',
];
const USES_SERVERS = new RegExp(`\\b(inject|${SERVER_HELPERS.join('|')})\\(`);

/** Whether the test file's source makes it an integration test (see the module comment). */
export function isIntegrationTest(source: string): boolean {
  return USES_SERVERS.test(source);
}

function testFiles(dir: string, root: string, out: string[]): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) testFiles(path, root, out);
    else if (entry.name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

/** The repository's integration test files, relative to `root`. */
export function integrationTestFiles(root: string): string[] {
  return testFiles(root, root, [])
    .filter((file) => isIntegrationTest(readFileSync(join(root, file), 'utf8')))
    .sort();
}
