/** `hotpath compare`, the failures a user meets: bad windows and runs are usage errors, a dead Prometheus exit 3. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runId, writeRun } from '../runs.ts';
import { hotpath } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'hotpath-compare-'));
const recorded = (start: string, end: string) => {
  const run = {
    id: runId('benchmark', new Date(start)),
    profile: 'benchmark',
    target: 'http://127.0.0.1:3000',
    scale: 1,
    start,
    end,
    requests: 100,
    unexpected: 0,
    errors: 0,
    latency_ms: { p50: 1, p95: 2, p99: 3, max: 4 },
  };
  writeRun(dir, run);
  return run.id;
};

describe('hotpath compare, failures a user meets', () => {
  const a = recorded('2026-12-01T10:00:00.000Z', '2026-12-01T10:01:00.000Z');
  const b = recorded('2026-12-01T11:00:00.000Z', '2026-12-01T11:01:00.000Z');
  const short = recorded('2026-12-01T12:00:00.000Z', '2026-12-01T12:00:10.000Z');
  const args = (baseline: string, candidate: string) => [
    ...['compare', '--baseline', baseline, '--candidate', candidate],
    ...['--runs-dir', dir, '--prometheus', 'http://127.0.0.1:9'],
  ];

  it('explains a bad window, an unknown run and a run too short to judge in one line, exit 2', async () => {
    for (const [baseline, candidate, message] of [
      [a, 'yesterday', /--candidate "yesterday" is neither a run id like .* nor a window like .*\/.*/],
      [
        a,
        'load-20261201T000000Z',
        /no run "load-20261201T000000Z" in .* \(known: .*benchmark-20261201T100000Z/,
      ],
      [
        short,
        b,
        /--baseline benchmark-20261201T120000Z covers 10 s: a comparison needs at least 30 s a side/,
      ],
      [a, '2026-12-01T10:00:00Z/2099-01-01T00:00:00Z', /--candidate .* ends in the future/],
    ] as const) {
      const { code, stderr } = await hotpath(...args(baseline, candidate));
      expect(stderr).toMatch(message);
      expect(code).toBe(2);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
    const missing = await hotpath('compare', '--candidate', a, '--prometheus', 'http://127.0.0.1:9');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '--baseline <run\|window>' not specified/);
  });

  it('says which upstream is down and exits 3, without a stack trace', async () => {
    const { code, stderr } = await hotpath(...args(a, b));
    expect(stderr).toMatch(/hotpath: prometheus \(http:\/\/127\.0\.0\.1:9\): unreachable after \d attempts/);
    expect(code).toBe(3);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
