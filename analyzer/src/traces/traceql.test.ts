import { describe, expect, it } from 'vitest';
import { duration, quote, routeDescendantsTraceQl, slowTracesTraceQl, statementMatcher } from './traceql.ts';

describe('TraceQL builders', () => {
  it('select the slow server spans of a route', () => {
    expect(slowTracesTraceQl({ service: 'shop', route: '/api/x', minDurationMs: 200 })).toBe(
      '{ resource.service.name = "shop" && span.http.route = "/api/x" && kind = server && duration > 200ms }',
    );
  });

  it('select the traces of a page’s documents: a server span and the browser’s load of the page in one trace', () => {
    expect(slowTracesTraceQl({ service: 'shop', pageLoad: '/reports/sales' })).toBe(
      '{ resource.service.name = "shop" && kind = server } && ' +
        '{ name = "browser.page_load" && span.page.route = "/reports/sales" }',
    );
  });

  it('match a method under either attribute name and a namespaced job by both resource attributes', () => {
    expect(slowTracesTraceQl({ service: 'demo/shop', method: 'GET' })).toBe(
      '{ resource.service.namespace = "demo" && resource.service.name = "shop" && kind = server && ' +
        '(span.http.request.method = "GET" || span.http.method = "GET") }',
    );
  });

  it('escape quotes, backslashes and line breaks in string literals', () => {
    expect(quote('say "hi"\\now\nthen')).toBe('"say \\"hi\\"\\\\now\\nthen"');
    expect(slowTracesTraceQl({ service: 'a"b', route: '/x\\"y' })).toContain(
      'resource.service.name = "a\\"b" && span.http.route = "/x\\\\\\"y"',
    );
  });

  it('keep sub-millisecond limits in microseconds', () => {
    expect(duration(250)).toBe('250ms');
    expect(duration(0.5)).toBe('500us');
  });

  it('select the descendants of a route that ran one statement, with a pipeline', () => {
    expect(
      routeDescendantsTraceQl(
        { service: 'shop', route: '/o' },
        statementMatcher("SELECT 'x'"),
        'count() >= 5',
      ),
    ).toBe(
      '{ resource.service.name = "shop" && span.http.route = "/o" && kind = server } >> ' +
        `{ (span.db.query.text = "SELECT 'x'" || span.db.statement = "SELECT 'x'") } | count() >= 5`,
    );
  });
});
