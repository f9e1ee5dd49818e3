import { describe, expect, inject, it } from 'vitest';
import { hotpath } from './run-cli.ts';

describe('hotpath analyze, failures a user meets', () => {
  it('says which upstream is down and exits 3, without a stack trace', async () => {
    const { code, stderr } = await hotpath('analyze', '--prometheus', 'http://127.0.0.1:9');
    expect(code).toBe(3);
    expect(stderr).toMatch(/hotpath: prometheus \(http:\/\/127\.0\.0\.1:9\): unreachable after \d attempts/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects a bad window, a bad URL, a missing Prometheus and a broken SLO file with exit 2', async () => {
    const prometheus = inject('prometheusUrl');
    for (const [args, message] of [
      [['--prometheus', prometheus, '--window', 'soon'], /window "soon" is not a duration/],
      [['--prometheus', 'localhost'], /is not a URL/],
      [[], /--prometheus/],
      [['--prometheus', prometheus, '--slo', '/nonexistent/slo.yaml'], /\/nonexistent\/slo.yaml/],
    ] as const) {
      const { code, stderr } = await hotpath('analyze', ...args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('prints a ranked table by default, and says so when every objective is met', async () => {
    const { code, stdout } = await hotpath(
      'analyze',
      '--prometheus',
      inject('prometheusUrl'),
      '--window',
      '30s',
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Hotpath analysis — window 30s/);
  });
});
