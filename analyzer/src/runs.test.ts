import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.ts';
import { listRuns, type RecordedRun, readRun, resolveSince, runId, writeRun } from './runs.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'hotpath-runs-'));
const run = (start: Date, profile = 'load'): RecordedRun => ({
  id: runId(profile, start),
  profile,
  target: 'http://localhost:3000',
  scale: 1,
  start: start.toISOString(),
  end: new Date(start.getTime() + 420_000).toISOString(),
  requests: 50_000,
  unexpected: 3,
  errors: 0,
  latency_ms: { p50: 4, p95: 31, p99: 80, max: 900 },
});

describe('recorded load-test runs', () => {
  it('are written and read back by their id, profile and start to the second', () => {
    const d = dir();
    const r = run(new Date('2026-12-04T20:05:01.734Z'));
    expect(r.id).toBe('load-20261204T200501Z');
    expect(writeRun(d, r)).toBe(join(d, 'load-20261204T200501Z.json'));
    writeRun(d, run(new Date('2026-12-04T19:00:00Z'), 'stress'));
    expect(readRun(d, r.id)).toEqual(r);
    expect(listRuns(d)).toEqual(['stress-20261204T190000Z', 'load-20261204T200501Z']);
  });

  it('name the runs a directory holds when asked for another, and refuse a file that is not a run', () => {
    const d = dir();
    expect(() => readRun(d, 'load-20261204T200501Z')).toThrow(/holds none: record one with npm run load/);
    writeRun(d, run(new Date('2026-12-04T20:05:01Z')));
    expect(() => readRun(d, 'load-20261204T210000Z')).toThrow(/known: load-20261204T200501Z/);
    writeFileSync(join(d, 'spike-20261204T220000Z.json'), '{"id": "spike-20261204T220000Z"}');
    expect(() => readRun(d, 'spike-20261204T220000Z')).toThrow(/is not a recorded run: profile: /);
  });

  it('give --since its window: from a time or a run’s start to now, at least 30 s, never in the future', () => {
    const d = dir();
    const now = new Date('2026-12-04T20:15:00Z');
    writeRun(d, run(new Date('2026-12-04T20:05:00Z')));
    expect(resolveSince('load-20261204T200500Z', d, now)).toMatchObject({
      window: '600s',
      run: { profile: 'load' },
    });
    expect(resolveSince('2026-12-04T20:14:00Z', d, now)).toMatchObject({ window: '60s' });
    for (const [value, message] of [
      ['2026-12-04T20:14:50Z', /only 10 s ago/],
      ['2026-12-04T21:00:00Z', /in the future/],
      ['yesterday', /neither a time like .* nor a run id/],
      ['load-20261204T000000Z', /no run "load-20261204T000000Z"/],
    ] as const) {
      expect(() => resolveSince(value, d, now), value).toThrow(UsageError);
      expect(() => resolveSince(value, d, now), value).toThrow(message);
    }
  });
});
