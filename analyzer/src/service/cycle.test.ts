import { describe, expect, it } from 'vitest';
import { route, SERVICE, snapshot, statement } from '../detectors/testdata.ts';
import { coverage } from './cycle.ts';

describe('what a cycle covers (and so may count as clean)', () => {
  const observed = snapshot({ routes: [route()], queries: {} });
  const noTraces = { read: false, routes: [] };

  it('covers a metric finding of a service the snapshot saw, not of one it did not', () => {
    const covered = coverage(observed, noTraces);
    expect(covered({ kind: 'slow-endpoint', service: SERVICE, subject: 'GET /x' })).toBe(true);
    expect(covered({ kind: 'slow-endpoint', service: 'gone', subject: 'GET /x' })).toBe(false);
  });

  it('covers slow statements only when pg_stat_statements was read', () => {
    const finding = { kind: 'slow-statement', service: SERVICE, subject: 'fp' };
    expect(coverage(observed, noTraces)(finding)).toBe(false);
    const withStatements = snapshot({
      routes: [route()],
      statements: [statement()],
      queries: { statements: { language: 'sql', text: 'SELECT …' } },
    });
    expect(coverage(withStatements, noTraces)(finding)).toBe(true);
  });

  it('covers a trace finding only when this cycle read traces of one of its routes', () => {
    const traces = { read: true, routes: [`${SERVICE}\0GET /api/products/:id`] };
    const covered = coverage(observed, traces);
    const nPlusOne = (routes: string) => ({
      kind: 'n-plus-one',
      service: SERVICE,
      subject: 'abc123',
      values: { routes },
    });
    expect(covered(nPlusOne('GET /api/other\nGET /api/products/:id'))).toBe(true);
    expect(covered(nPlusOne('GET /api/other'))).toBe(false);
    const parallel = { kind: 'parallelizable-queries', service: SERVICE, subject: 'GET /api/products/:id' };
    expect(covered({ ...parallel, values: { route: 'GET /api/products/:id' } })).toBe(true);
    expect(
      coverage(observed, { ...traces, read: false })({
        ...parallel,
        values: { route: 'GET /api/products/:id' },
      }),
    ).toBe(false);
  });
});
