/**
 * The prebuilt browser script (`instrumentation/browser/dist/hotpath-browser.js`, built by `npm run generate`
 * from `instrumentation/browser/auto.ts`), for an app without a bundler of its own: it serves the file
 * (`res.sendFile(BROWSER_SCRIPT_PATH)`) and adds `<script src="…" data-endpoint="/rum" async>` to its pages.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSpanContextValid, trace } from '@opentelemetry/api';

export const BROWSER_SCRIPT_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'browser',
  'dist',
  'hotpath-browser.js',
);

/**
 * `<meta name="traceparent" content="00-…">` for the span serving this request (the HTTP server span of the page),
 * or `''` outside one. A page that renders it has its page load and its API calls in the same trace as the
 * document (W3C Trace Context; the OpenTelemetry web document-load instrumentation reads the same tag).
 */
export function traceparentMeta(): string {
  const context = trace.getActiveSpan()?.spanContext();
  if (context === undefined || !isSpanContextValid(context)) return '';
  const flags = (context.traceFlags & 1).toString(16).padStart(2, '0');
  return `<meta name="traceparent" content="00-${context.traceId}-${context.spanId}-${flags}">`;
}
