import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prometheusName } from './prometheus-names.ts';
import { ALL_METRICS } from './semconv.ts';

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
/** Rows of every Markdown table, as trimmed cells (the formatter pads them). */
const rows = readme
  .split('\n')
  .filter((line) => line.startsWith('|'))
  .map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
const INSTRUMENTS = new Set(['counter', 'updowncounter', 'histogram', 'gauge']);

describe('instrumentation README', () => {
  it.each(ALL_METRICS.map((m) => [m.name, m] as const))(
    'lists %s with its instrument, unit and Prometheus name',
    (_, m) => {
      const cells = rows.find((r) => r[0] === `\`${m.name}\``);
      expect(cells).toBeDefined();
      expect(cells?.[1]).toBe(m.instrument);
      expect(cells?.[2]).toBe(`\`${m.unit}\``);
      expect(cells?.[3]).toBe(`\`${prometheusName(m)}\``);
      for (const attribute of m.attributes) expect(cells?.[4]).toContain(`\`${attribute}\``);
    },
  );

  it('lists no metric that is not in the catalogue', () => {
    expect(rows.filter((r) => INSTRUMENTS.has(r[1] ?? ''))).toHaveLength(ALL_METRICS.length);
  });
});
