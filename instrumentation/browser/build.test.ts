/**
 * The committed prebuilt script is what the source builds to (so the demo and apps serving the file run the
 * code that is reviewed here), and it stays within its size budget.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BROWSER_SCRIPT_PATH } from '../src/browser-script.ts';
import { BROWSER_BUDGET_GZIP_BYTES, buildBrowserScript, gzippedBytes } from './build.ts';

describe('the prebuilt browser script', () => {
  it('is what auto.ts builds to (run npm run generate after changing the browser entry)', async () => {
    expect(readFileSync(BROWSER_SCRIPT_PATH, 'utf8')).toBe(await buildBrowserScript());
  });

  it(`stays within its budget of ${BROWSER_BUDGET_GZIP_BYTES} bytes gzipped`, () => {
    const size = gzippedBytes(readFileSync(BROWSER_SCRIPT_PATH, 'utf8'));
    console.log(`[browser] hotpath-browser.js: ${size} bytes gzipped`);
    expect(size).toBeLessThanOrEqual(BROWSER_BUDGET_GZIP_BYTES);
  });
});
