import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRun, runId, writeRun } from '../../analyzer/src/runs.ts';
import { type K6SummaryData, runIdOf, runRecord } from './run-record.ts';

// handleSummary's data as k6 documents it (https://grafana.com/docs/k6/latest/results-output/end-of-test/
// custom-summary/): metrics by name, each with its type and values; trends in milliseconds.
const data: K6SummaryData = {
  state: { testRunDurationMs: 421_503.2 },
  metrics: {
    http_reqs: { type: 'counter', values: { count: 66_880, rate: 158.67 } },
    http_req_duration: {
      type: 'trend',
      values: {
        avg: 21.4,
        min: 0.81,
        med: 6.123,
        max: 903.9,
        'p(90)': 51.2,
        'p(95)': 88.456,
        'p(99)': 241.07,
      },
    },
    http_req_failed: { type: 'rate', values: { rate: 0.0004, passes: 27, fails: 66_853 } },
    checks: { type: 'rate', values: { rate: 0.9991, passes: 66_820, fails: 60 } },
  },
};

describe('a k6 run, recorded as the local driver records one', () => {
  it('is a run hotpath reads: the same id, the window k6 ran, its counts and latency', () => {
    const end = new Date('2026-12-04T20:12:03.700Z');
    const run = runRecord(data, 'load', 'http://Demo:3000/some/path', end);
    expect(run).toEqual({
      id: 'load-20261204T200502Z',
      profile: 'load',
      target: 'http://demo:3000',
      scale: 1,
      start: '2026-12-04T20:05:02.197Z',
      end: '2026-12-04T20:12:03.700Z',
      requests: 66_880,
      unexpected: 60,
      errors: 27,
      latency_ms: { p50: 6.12, p95: 88.46, p99: 241.07, max: 903.9 },
    });
    expect(run.id).toBe(runId('load', new Date(run.start)));
    expect(runIdOf('stress', new Date(run.start))).toBe(runId('stress', new Date(run.start)));
    // analyzer/src/runs.ts validates it with its schema on write and on read.
    const dir = mkdtempSync(join(tmpdir(), 'k6-runs-'));
    writeRun(dir, run);
    expect(readRun(dir, run.id)).toEqual(run);
  });
});
