import { describe, expect, it } from 'vitest';
import { detect, estimatedP95Ms, MIN_CALLS } from './slow-statement.ts';
import { bare, CUSTOMER_ORDERS_SQL, finished, LIMITS, SERVICE, snapshot, statement } from './testdata.ts';

describe('slow-statement detector', () => {
  it('reports the demo’s missing-index lookup with its EXPLAIN (index advice is the advisor’s, from plans)', () => {
    const s = snapshot({ statements: [statement({ meanMs: 110, stddevMs: 10, callsPerSecond: 3 })] });

    const [finding, ...rest] = finished(detect(s, LIMITS), s);

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'slow-statement',
      layer: 'database',
      service: SERVICE,
      subject: 'a1b2c3d4e5f60708',
      severity: 'warning',
    });
    expect(finding?.title).toMatch(
      /^Slow statement on shop: p95 ≈ 126 ms vs the 100 ms objective at 3 calls\/s: SELECT/,
    );
    // p95 ≈ 110 + 1.645 × 10 = 126.45 ms; 26.45 ms over the objective, 3 times a second.
    expect(finding?.impact).toBeCloseTo((3 * 26.45) / 1000);
    expect(finding?.evidence.values).toMatchObject({
      mean_ms: 110,
      calls_per_s: 3,
      statement: CUSTOMER_ORDERS_SQL,
    });
    expect(finding?.evidence.queries).toEqual([s.queries.statements]);
    const [explain, ...others] = finding?.recommendations ?? [];
    expect(explain?.artifact).toContain(`EXPLAIN (GENERIC_PLAN) ${CUSTOMER_ORDERS_SQL};`);
    // No index guessed from the text: the advisor proposes one from plans, and absorbs this finding.
    expect(others.map((r) => r.artifact ?? '').join('\n')).not.toMatch(/CREATE INDEX/);
  });

  it('judges the estimated p95, so a statement with a mean just under the objective but a wide spread fires', () => {
    const s = snapshot({ statements: [statement({ meanMs: 95, stddevMs: 20 })] });

    expect(detect(s, LIMITS)).toHaveLength(1);
  });

  it('is critical at twice the objective', () => {
    const s = snapshot({ statements: [statement({ meanMs: 250, stddevMs: 0 })] });

    expect(detect(s, LIMITS)[0]?.severity).toBe('critical');
  });

  it('stays quiet at the objective and below it', () => {
    const s = snapshot({
      statements: [
        statement({ fingerprint: 'at', meanMs: LIMITS.slowStatement.p95Seconds * 1000, stddevMs: 0 }),
        statement({ fingerprint: 'fast' }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('stays quiet for one-off statements and for schema changes and maintenance', () => {
    const s = snapshot({
      statements: [
        statement({ fingerprint: 'seed', meanMs: 8_000, calls: MIN_CALLS - 1 }),
        statement({
          fingerprint: 'ddl',
          meanMs: 900,
          query: 'CREATE INDEX orders_created_at ON orders (created_at)',
        }),
        statement({ fingerprint: 'vacuum', meanMs: 900, query: 'vacuum analyze orders' }),
      ],
    });

    expect(detect(s, LIMITS)).toEqual([]);
  });

  it('costs calls over the window when the statistics’ age is unknown, and works without queries', () => {
    const s = bare({
      statements: [statement({ meanMs: 300, stddevMs: 0, calls: 900, callsPerSecond: null })],
    });

    const [finding] = finished(detect(s, LIMITS), s);

    expect(finding?.impact).toBeCloseTo((1 * 200) / 1000);
    expect(finding?.evidence.values).not.toHaveProperty('calls_per_s');
    expect(finding?.evidence.queries).toEqual([]);
  });

  it('suggests no index when the statement has no equality filter on a parameter, but still EXPLAIN', () => {
    const s = snapshot({
      statements: [
        statement({ meanMs: 400, query: 'SELECT sum(quantity) FROM orders WHERE created_at > $1' }),
      ],
    });

    const recommendations = finished(detect(s, LIMITS), s)[0]?.recommendations ?? [];

    expect(recommendations.map((r) => r.artifact ?? '')).toEqual([
      expect.stringContaining('EXPLAIN (GENERIC_PLAN)'),
    ]);
  });

  it('suggests fetching fewer rows when a statement returns thousands per call', () => {
    const s = snapshot({ statements: [statement({ meanMs: 400, rowsPerCall: 5_000 })] });

    const actions = finished(detect(s, LIMITS), s)[0]?.recommendations.map((r) => r.action) ?? [];

    expect(actions.some((a) => a.startsWith('Fetch fewer rows'))).toBe(true);
  });

  it('estimates p95 as mean + 1.645 standard deviations once there are enough calls', () => {
    expect(estimatedP95Ms({ meanMs: 10, stddevMs: 2, calls: 1000 })).toBeCloseTo(13.29);
    expect(estimatedP95Ms({ meanMs: 10, stddevMs: Number.NaN, calls: 1000 })).toBe(10);
  });

  it('uses the mean alone for a statement with few calls, whose spread is its cold first runs', () => {
    expect(estimatedP95Ms({ meanMs: 30, stddevMs: 60, calls: 18 })).toBe(30);
  });
});
