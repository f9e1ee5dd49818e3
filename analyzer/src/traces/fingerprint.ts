/**
 * Statement fingerprints for DB spans: the async step before the pure detectors. libpg-query's
 * fingerprint (the one `sources/statements.ts` gives pg_stat_statements rows, so a trace finding and a
 * slow-statement finding about the same statement name the same fingerprint); a normalised-text hash for what
 * it cannot parse (MySQL backticks, a Redis command, a statement cut short by the SDK's length limit).
 */
import { createHash } from 'node:crypto';
import { fingerprint } from 'libpg-query';
import type { TraceData } from '../types.ts';
import { dbQueryText, isDbSpan, spanKey, type Trace } from './model.ts';

/**
 * Statement text with what varies between calls taken out: string and numeric literals and placeholders
 * become `?`, `IN (?, ?, ?)` becomes `IN (?)`, whitespace collapses, case folds.
 */
export function normalizeSql(sql: string): string {
  return sql
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\$\d+|:\w+|@\w+/g, '?')
    .replace(/(?<![\w$.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w$])/gi, '?')
    .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?)')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/;$/, '')
    .toLowerCase();
}

/** libpg-query's fingerprint, or a 16-hex-character hash of `normalizeSql` when it cannot parse the text. */
export async function fingerprintSql(sql: string): Promise<string> {
  try {
    return await fingerprint(sql);
  } catch {
    return createHash('sha256').update(normalizeSql(sql)).digest('hex').slice(0, 16);
  }
}

/** The fingerprint of every DB span that carries a statement, by `spanKey(span)`. */
export async function fingerprintSpans(traces: readonly Trace[]): Promise<Map<string, string>> {
  const byText = new Map<string, Promise<string>>();
  const out = new Map<string, string>();
  for (const trace of traces) {
    for (const span of trace.spans) {
      if (!isDbSpan(span)) continue;
      const text = dbQueryText(span);
      if (text === undefined) continue;
      // The same parameterised text repeats across spans; parse it once.
      let print = byText.get(text);
      if (print === undefined) {
        print = fingerprintSql(text);
        byText.set(text, print);
      }
      out.set(spanKey(span), await print);
    }
  }
  return out;
}

/** The traces with their statement fingerprints: what the trace detectors read from the snapshot. */
export async function traceData(traces: readonly Trace[], routes: readonly string[]): Promise<TraceData> {
  return { traces, fingerprints: await fingerprintSpans(traces), routes };
}
