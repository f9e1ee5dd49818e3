// @ts-check
/**
 * Where the machine's own programs are — the ones `npm run setup` installs from Debian's packages and the tests,
 * `npm run demo` and the benchmarks start: PostgreSQL's server binaries, Prometheus (with promtool), Alertmanager
 * and Chromium. Each can be pointed elsewhere with its variable.
 *
 * Plain JavaScript on purpose: `scripts/preflight.mjs` uses it before set-up, on whatever Node the machine has
 * (the project's own Node 24 arrives with `npm ci`), where a `.ts` file cannot be loaded.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @typedef {object} Tool
 * @property {string} name what it is, for messages
 * @property {string} variable the environment variable that points to it
 * @property {string} packages the Debian packages that provide it
 * @property {() => string | undefined} locate its path, or undefined when it is not there
 */

/**
 * The path `name` points to; a path that does not exist counts as not found, so that the message names the
 * variable instead of a later spawn failing.
 * @param {string} name
 * @returns {string | undefined | false} the path, undefined when unset, false when set to a missing path
 */
function fromEnv(name) {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  return existsSync(value) ? value : false;
}

/**
 * @param {string} variable
 * @param {() => string | undefined} fallback
 */
function envOr(variable, fallback) {
  const set = fromEnv(variable);
  return set === false ? undefined : (set ?? fallback());
}

/** @param {readonly string[]} candidates */
function firstExisting(candidates) {
  return candidates.find((c) => existsSync(c));
}

/** @type {Record<'postgres' | 'prometheus' | 'alertmanager' | 'chromium', Tool>} */
export const TOOLS = {
  postgres: {
    name: 'PostgreSQL server',
    variable: 'HOTPATH_PG_BIN',
    packages: 'postgresql-15, postgresql-15-hypopg',
    // The newest Debian /usr/lib/postgresql/N/bin.
    locate: () =>
      envOr('HOTPATH_PG_BIN', () => {
        const root = '/usr/lib/postgresql';
        if (!existsSync(root)) return undefined;
        const newest = readdirSync(root)
          .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
          .sort((a, b) => Number(b) - Number(a))[0];
        return newest === undefined ? undefined : join(root, newest, 'bin');
      }),
  },
  prometheus: {
    name: 'Prometheus',
    variable: 'HOTPATH_PROMETHEUS_BIN',
    packages: 'prometheus',
    locate: () =>
      envOr('HOTPATH_PROMETHEUS_BIN', () =>
        firstExisting(['/usr/bin/prometheus', '/usr/local/bin/prometheus']),
      ),
  },
  alertmanager: {
    name: 'Alertmanager',
    variable: 'HOTPATH_ALERTMANAGER_BIN',
    packages: 'prometheus-alertmanager',
    locate: () =>
      envOr('HOTPATH_ALERTMANAGER_BIN', () =>
        firstExisting([
          '/usr/bin/prometheus-alertmanager',
          '/usr/local/bin/alertmanager',
          '/usr/bin/alertmanager',
        ]),
      ),
  },
  chromium: {
    name: 'Chromium',
    variable: 'HOTPATH_CHROMIUM',
    packages: 'chromium',
    locate: () => envOr('HOTPATH_CHROMIUM', () => firstExisting(['/usr/bin/chromium'])),
  },
};

/**
 * What to tell someone whose machine lacks `tool`: one sentence, with the fix.
 * @param {Tool} tool
 */
export function missingMessage(tool) {
  return `${tool.name} not found: run \`npm run setup\` (Debian: ${tool.packages}) or set ${tool.variable}.`;
}

/**
 * The path of `tool`, or an Error naming the fix.
 * @param {Tool} tool
 * @returns {string}
 */
export function locate(tool) {
  const found = tool.locate();
  if (found === undefined) throw new Error(missingMessage(tool));
  return found;
}
