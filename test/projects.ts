/**
 * Which test files are integration tests, decided from what each file uses, so that a new file lands in the
 * right project without a list to keep up to date:
 *
 * - **integration**: the file uses the servers the global setup starts (`inject(…)`), or starts real ones itself
 *   (PostgreSQL, Prometheus, Alertmanager, Chromium, the demo, the analyzer, traffic, any long-lived child process:
 *   the helpers in `scripts/lib/` and `test/`). One-shot tools (`promtool check`, `amtool`) do not count. These run one file at a time, after the unit tests: several assert latencies
 *   against the SLOs, and on a 2-core machine two at once make each other miss them.
 *   An integration file that asserts no latency (counts, rows, statuses, messages, span trees; its waits generous
 *   against what it waits for) says so with the marker `PARALLEL_MARKER` in its source. Those run two at a time,
 *   before the others; a file without the marker runs alone, the safe default.
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

/**
 * What an integration file writes (in a comment) to run beside another one: none of its assertions is a latency,
 * and none breaks when the other file's processes share the two cores. Built from two halves so that this module
 * does not carry it itself.
 */
export const PARALLEL_MARKER = ['integration-test', 'runs-beside-others'].join(': ');

/** Whether an integration file's source says it may run beside another one (see `PARALLEL_MARKER`). */
export function runsBesideOthers(source: string): boolean {
  return source.includes(PARALLEL_MARKER);
}

/** The repository's integration test files, relative to `root`. */
export function integrationTestFiles(root: string): string[] {
  return testFiles(root, root, [])
    .filter((file) => isIntegrationTest(readFileSync(join(root, file), 'utf8')))
    .sort();
}

/** The integration files split into those that run two at a time and those that run alone. */
export function integrationGroups(root: string): { parallel: string[]; serial: string[] } {
  const parallel: string[] = [];
  const serial: string[] = [];
  for (const file of integrationTestFiles(root))
    (runsBesideOthers(readFileSync(join(root, file), 'utf8')) ? parallel : serial).push(file);
  return { parallel, serial };
}
