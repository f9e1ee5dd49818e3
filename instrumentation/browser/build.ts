/**
 * Builds the prebuilt browser script (`dist/hotpath-browser.js`, an IIFE of `auto.ts` with `web-vitals`
 * inlined, minified) with rolldown. `npm run generate` writes it; a test checks that the committed file is what
 * this builds, so it cannot drift from the source.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'rolldown';

const HERE = dirname(fileURLToPath(import.meta.url));
/**
 * The script's budget, gzipped: 10 kB. Ours, not an anchor's: a measuring script must not become the page's heavy
 * asset, and web-vitals' attribution build is most of it already. A test holds it; the bench prints the size.
 */
export const BROWSER_BUDGET_GZIP_BYTES = 10_000;

export async function buildBrowserScript(): Promise<string> {
  const result = await build({
    input: join(HERE, 'auto.ts'),
    write: false,
    logLevel: 'silent',
    output: { format: 'iife', minify: true, comments: false },
  });
  const [chunk] = result.output;
  if (chunk === undefined || chunk.type !== 'chunk') throw new Error('rolldown produced no script');
  return chunk.code;
}

/** Bytes of the script as sent with gzip at zlib's default level, as most servers compress it. */
export function gzippedBytes(code: string): number {
  return gzipSync(code).length;
}
