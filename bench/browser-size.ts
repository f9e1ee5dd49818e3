/**
 * The browser entry's weight on a page: the prebuilt script's bytes as served (minified, and gzipped at zlib's
 * default level), beside the web-vitals attribution build it carries, and against its 10 kB budget.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BROWSER_BUDGET_GZIP_BYTES, gzippedBytes } from '../instrumentation/browser/build.ts';
import { BROWSER_SCRIPT_PATH } from '../instrumentation/src/browser-script.ts';

export function benchBrowserSize(): void {
  const script = readFileSync(BROWSER_SCRIPT_PATH, 'utf8');
  const require = createRequire(import.meta.url);
  const vitals = readFileSync(
    require.resolve('web-vitals/attribution', { paths: [BROWSER_SCRIPT_PATH] }),
    'utf8',
  );
  const gzip = gzippedBytes(script);
  console.log(
    `  hotpath-browser.js: ${script.length} bytes minified, ${gzip} gzipped (budget ${BROWSER_BUDGET_GZIP_BYTES}, ` +
      `${((gzip / BROWSER_BUDGET_GZIP_BYTES) * 100).toFixed(0)} % of it); web-vitals/attribution alone: ` +
      `${gzippedBytes(vitals)} gzipped, ratio ${(gzip / gzippedBytes(vitals)).toFixed(2)}`,
  );
}
