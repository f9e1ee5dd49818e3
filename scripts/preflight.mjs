#!/usr/bin/env node
// @ts-check
/**
 * Run before every npm script but `setup`: on a machine that is not set up yet it says in one line what to run
 * first and exits 1, instead of a Node stack trace (`ERR_UNKNOWN_FILE_EXTENSION` on a system Node that cannot
 * load `.ts`) or `vitest: not found`. Silent when everything is there.
 *
 *   node scripts/preflight.mjs <demo|test|bench|deps>
 *
 * Plain JavaScript that any Node since 14 runs: before `npm ci` there is no project Node yet.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOLS } from './lib/tools.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What each command starts, besides the npm dependencies. */
const NEEDS = {
  deps: [],
  demo: [TOOLS.postgres, TOOLS.prometheus, TOOLS.alertmanager],
  bench: [TOOLS.postgres],
  test: [TOOLS.postgres, TOOLS.prometheus, TOOLS.alertmanager, TOOLS.chromium],
};

const command = process.argv[2] ?? 'deps';
const needs = NEEDS[/** @type {keyof typeof NEEDS} */ (command)];
if (needs === undefined) {
  console.error(`preflight: unknown command ${command} (one of ${Object.keys(NEEDS).join(', ')})`);
  process.exit(2);
}

/** @param {string} problem */
function stop(problem) {
  console.error(`hotpath: ${problem}`);
  process.exit(1);
}

// `npm ci` brings the project's Node (the `node` package) and everything else; without it nothing here runs.
if (
  !existsSync(join(root, 'node_modules', '.bin', 'node')) ||
  !existsSync(join(root, 'node_modules', 'vitest'))
) {
  stop('not set up yet: run `npm run setup` first (Debian packages where missing, then npm ci).');
}
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  stop(
    `this is Node ${process.versions.node}, and the project runs on the Node 24 that npm ci installed: ` +
      'run it through npm (npm run …), or run `npm run setup` again.',
  );
}
const missing = needs.filter((tool) => tool.locate() === undefined);
if (missing.length > 0) {
  stop(
    `${missing.map((t) => t.name).join(', ')} not found: run \`npm run setup\` first ` +
      `(Debian: ${missing.map((t) => t.packages).join(', ')}), or set ${missing.map((t) => t.variable).join(', ')}.`,
  );
}
