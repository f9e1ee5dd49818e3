import type { DiagLogger } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { RateLimitedDiagLogger } from './diag-logger.ts';

function recorder(): DiagLogger & { lines: string[] } {
  const lines: string[] = [];
  const record = (message: string) => {
    lines.push(message);
  };
  return { lines, error: record, warn: record, info: record, debug: record, verbose: record };
}

describe('RateLimitedDiagLogger', () => {
  it('says a repeated message once per quiet period, then how many it held back', () => {
    let now = 0;
    const inner = recorder();
    const logger = new RateLimitedDiagLogger(inner, 60_000, () => now);
    for (let i = 0; i < 5; i++) logger.warn('export failed');
    logger.warn('something else');
    now = 61_000;
    logger.warn('export failed');
    expect(inner.lines).toEqual([
      'export failed',
      'something else',
      'export failed (4 similar messages held back)',
    ]);
  });

  it('turns the SDK error JSON into one readable line', () => {
    const inner = recorder();
    new RateLimitedDiagLogger(inner).error(
      JSON.stringify({
        stack: 'Error: connect ECONNREFUSED\n    at x',
        message: 'connect ECONNREFUSED 127.0.0.1:4318',
        code: 'ECONNREFUSED',
      }),
    );
    expect(inner.lines).toHaveLength(1);
    expect(inner.lines[0]).toMatch(
      /^OpenTelemetry export failed: connect ECONNREFUSED 127.0.0.1:4318 \(ECONNREFUSED\)\. The app is unaffected/,
    );
    expect(inner.lines[0]).not.toContain('at x');
  });
});
