/**
 * Compiles `@hotpath/instrumentation` to JavaScript (`instrumentation/dist`, with declarations and source maps).
 *
 * The package is loaded into other people's processes, from their `node_modules`, where Node refuses to strip
 * TypeScript types (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), and where type stripping would cost the host
 * ~18 MB of RSS and startup time (the amaro compiler). So the package's exports are the compiled files, and
 * everything here that runs it as a guest (the demo, the test apps, the analyzer under `register`, the bench)
 * runs what ships. Type checking and in-process tests read the sources through the `hotpath-source` export
 * condition (tsconfig `customConditions`, vitest `resolve.conditions`), so they never see a stale build.
 *
 * Run by `npm ci` (the root `prepare`), `npm run build`, the integration tests' global setup, `npm run demo` and
 * `npm run bench`. Plain JavaScript: `prepare` runs before anything else exists. Where TypeScript is not
 * installed (a production install, `npm ci --omit=dev`) it says so and does nothing: the images build in a
 * stage of their own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
export const INSTRUMENTATION_DIST = join(ROOT, 'instrumentation', 'dist');

/** Builds `instrumentation/dist`; returns false (and builds nothing) where TypeScript is not installed. */
export function buildInstrumentation() {
  if (!existsSync(TSC)) return false;
  // From scratch, so that a source file deleted since the last build does not linger in the package.
  rmSync(INSTRUMENTATION_DIST, { recursive: true, force: true });
  try {
    execFileSync(TSC, ['-p', join(ROOT, 'instrumentation', 'tsconfig.build.json')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`could not build @hotpath/instrumentation:\n${output || error.message}`);
  }
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    if (buildInstrumentation()) console.log('build: instrumentation/dist');
    else console.log('build: skipped, TypeScript is not installed (a production install)');
  } catch (error) {
    console.error(`build: ${error.message}`);
    process.exit(1);
  }
}
