import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prometheusName } from './prometheus-names.ts';
import { ALL_METRICS } from './semconv.ts';

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');

describe('instrumentation README', () => {
  it.each(ALL_METRICS.map((m) => [m.name, m] as const))(
    'lists %s with its instrument, unit and Prometheus name',
    (_, m) => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${m.name}\` |`));
      expect(row).toBeDefined();
      const cells = (row ?? '').split(' | ');
      expect(cells[1]).toBe(m.instrument);
      expect(cells[2]).toBe(`\`${m.unit}\``);
      expect(cells[3]).toBe(`\`${prometheusName(m)}\``);
      for (const attribute of m.attributes) expect(cells[4]).toContain(`\`${attribute}\``);
    },
  );

  it('lists no metric that is not in the catalogue', () => {
    const listed = readme
      .split('\n')
      .filter((l) => /^\| `[a-z_.0-9]+` \| (counter|updowncounter|histogram|gauge) \|/.test(l));
    expect(listed).toHaveLength(ALL_METRICS.length);
  });
});
