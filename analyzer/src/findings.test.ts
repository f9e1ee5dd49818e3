import { describe, expect, it } from 'vitest';
import { snapshot } from './detectors/testdata.ts';
import {
  evidenceQueries,
  findingId,
  formatBytes,
  formatPercent,
  formatRate,
  formatSeconds,
  rank,
  severityFor,
  shortSql,
} from './findings.ts';
import type { Finding, Severity } from './types.ts';

function finding(id: string, severity: Severity, impact: number): Finding {
  return {
    id,
    kind: 'slow-endpoint',
    layer: 'api',
    service: 'shop',
    subject: id,
    severity,
    impact,
    title: id,
    summary: id,
    evidence: { values: {}, window: '15m', queries: [] },
    recommendations: [],
  };
}

describe('findingId', () => {
  it('is the kind and the first 16 hex digits of the sha256 of kind, service and subject', () => {
    const id = findingId('slow-endpoint', 'shop', 'GET /api/products/:id');

    expect(id).toMatch(/^slow-endpoint-[0-9a-f]{16}$/);
    expect(findingId('slow-endpoint', 'shop', 'GET /api/products/:id')).toBe(id);
  });

  it('differs when any part differs, also when the parts only shift between fields', () => {
    const ids = new Set([
      findingId('slow-endpoint', 'shop', 'GET /a'),
      findingId('error-rate', 'shop', 'GET /a'),
      findingId('slow-endpoint', 'shop2', 'GET /a'),
      findingId('slow-endpoint', 'shop', 'GET /b'),
      findingId('slow-endpoint', 'a', 'b c'),
      findingId('slow-endpoint', 'a b', 'c'),
    ]);

    expect(ids.size).toBe(6);
  });
});

describe('severityFor', () => {
  it('is a warning over the limit and critical from twice the limit, or a given factor', () => {
    expect(severityFor(0.3, 0.2)).toBe('warning');
    expect(severityFor(0.4, 0.2)).toBe('critical');
    expect(severityFor(0.04, 0.01, 5)).toBe('warning');
    expect(severityFor(0.05, 0.01, 5)).toBe('critical');
  });
});

describe('rank', () => {
  it('orders by severity, then impact, then id, without changing its input', () => {
    const input = [
      finding('b', 'warning', 0.5),
      finding('a', 'info', 9),
      finding('d', 'critical', 0.1),
      finding('c', 'warning', 0.5),
      finding('e', 'warning', 2),
    ];

    const ranked = rank(input);

    expect(ranked.map((f) => f.id)).toEqual(['d', 'e', 'b', 'c', 'a']);
    expect(input.map((f) => f.id)).toEqual(['b', 'a', 'd', 'c', 'e']);
  });
});

describe('evidence and formatting helpers', () => {
  it('copies the snapshot queries it is asked for and skips the ones it does not hold', () => {
    const s = snapshot();

    expect(evidenceQueries(s, ['routes.p95', 'missing', 'statements'])).toEqual([
      s.queries['routes.p95'],
      s.queries.statements,
    ]);
  });

  it('writes durations, rates, ratios and sizes the way a person reads them', () => {
    expect([formatSeconds(0.4123), formatSeconds(0.0042), formatSeconds(2.5), formatSeconds(1)]).toEqual([
      '412 ms',
      '4.2 ms',
      '2.5 s',
      '1 s',
    ]);
    expect([formatRate(3.14), formatRate(123.4), formatRate(0.0512)]).toEqual([
      '3.1 req/s',
      '123 req/s',
      '0.051 req/s',
    ]);
    expect([formatPercent(0.4), formatPercent(0.0123)]).toEqual(['40 %', '1.2 %']);
    expect([formatBytes(312e6), formatBytes(2.5e9), formatBytes(256e3)]).toEqual([
      '312 MB',
      '2.5 GB',
      '256 kB',
    ]);
  });

  it('shortens SQL to one line', () => {
    expect(shortSql('SELECT *\n  FROM orders\n WHERE id = $1', 20)).toBe('SELECT * FROM order…');
    expect(shortSql('SELECT 1')).toBe('SELECT 1');
  });
});
