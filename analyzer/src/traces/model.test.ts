import { describe, expect, it } from 'vitest';
import {
  ancestry,
  buildSpanTree,
  dbQueryText,
  dbSystem,
  descendants,
  enclosingServerSpan,
  httpMethod,
  httpStatusCode,
  isDbSpan,
  isHttpClientSpan,
  routeSubject,
  serviceJob,
  unionLength,
} from './model.ts';
import { httpCall, query, server, span, spanId } from './testdata.ts';

describe('span tree', () => {
  it('links children to parents in start order and makes spans with a missing parent roots', () => {
    const root = server({ id: 1, startMs: 0, durationMs: 100 });
    const late = span({ id: 3, parent: 1, startMs: 50, durationMs: 10 });
    const early = span({ id: 2, parent: 1, startMs: 10, durationMs: 10 });
    const orphan = span({ id: 4, parent: 99, startMs: 5, durationMs: 1 });
    const grandchild = query({ id: 5, parent: 2, startMs: 11, durationMs: 2, sql: 'SELECT 1' });

    const tree = buildSpanTree([late, grandchild, root, orphan, early]);

    expect(tree.roots).toEqual([root, orphan]);
    expect(tree.children(root)).toEqual([early, late]);
    expect(tree.parent(grandchild)).toBe(early);
    expect(ancestry(tree, grandchild).map((s) => s.spanId)).toEqual([spanId(5), spanId(2), spanId(1)]);
    expect(enclosingServerSpan(tree, grandchild)).toBe(root);
    expect(enclosingServerSpan(tree, orphan)).toBeUndefined();
    expect(descendants(tree, root)).toEqual([early, grandchild, late]);
    expect(descendants(tree, root, (s) => s === early)).toEqual([early, late]);
  });

  it('survives parent links that loop', () => {
    const a = span({ id: 1, parent: 2, startMs: 0, durationMs: 1 });
    const b = span({ id: 2, parent: 1, startMs: 0, durationMs: 1 });

    const tree = buildSpanTree([a, b]);

    expect(tree.roots).toEqual([]);
    expect(ancestry(tree, a)).toEqual([a, b]);
    expect(descendants(tree, a)).toEqual([b]);
  });
});

describe('semantic-convention accessors', () => {
  it('read the stable names and fall back to the pre-stable ones', () => {
    const stable = query({ id: 1, startMs: 0, durationMs: 1, sql: 'SELECT 1' });
    const legacy = span({
      id: 2,
      kind: 'client',
      startMs: 0,
      durationMs: 1,
      attributes: {
        'db.system': 'mysql',
        'db.statement': 'SELECT 2',
        'http.method': 'PUT',
        'http.status_code': '503',
      },
    });

    expect([dbSystem(stable), dbQueryText(stable)]).toEqual(['postgresql', 'SELECT 1']);
    expect([dbSystem(legacy), dbQueryText(legacy), httpMethod(legacy), httpStatusCode(legacy)]).toEqual([
      'mysql',
      'SELECT 2',
      'PUT',
      503,
    ]);
  });

  it('tell DB spans from outbound HTTP calls', () => {
    const db = query({ id: 1, startMs: 0, durationMs: 1, sql: 'SELECT 1' });
    const call = httpCall({ id: 2, startMs: 0, durationMs: 1 });
    const legacyCall = span({
      id: 3,
      kind: 'client',
      startMs: 0,
      durationMs: 1,
      attributes: { 'http.url': 'http://x/' },
    });
    const dns = span({ id: 4, kind: 'client', startMs: 0, durationMs: 1 });
    const incoming = server({ id: 5, startMs: 0, durationMs: 1 });

    expect([db, call, legacyCall, dns, incoming].map(isDbSpan)).toEqual([true, false, false, false, false]);
    expect([db, call, legacyCall, dns, incoming].map(isHttpClientSpan)).toEqual([
      false,
      true,
      true,
      false,
      false,
    ]);
  });

  it('name the service as its Prometheus job and the route as method and template', () => {
    const s = server({ id: 1, startMs: 0, durationMs: 1, route: '/api/x/:id', method: 'POST' });
    const namespaced = {
      ...s,
      service: 'app',
      resource: { 'service.name': 'app', 'service.namespace': 'shop' },
    };
    const unrouted = span({ id: 2, kind: 'server', name: 'GET', startMs: 0, durationMs: 1 });

    expect(serviceJob(s)).toBe('shop');
    expect(serviceJob(namespaced)).toBe('shop/app');
    expect(routeSubject(s)).toBe('POST /api/x/:id');
    expect(routeSubject(unrouted)).toBe('GET');
  });
});

describe('unionLength', () => {
  it('counts overlapping and nested intervals once', () => {
    expect(unionLength([])).toBe(0);
    expect(unionLength([[0, 10]])).toBe(10);
    expect(
      unionLength([
        [0, 10],
        [5, 15],
        [20, 30],
        [22, 25],
        [30, 31],
      ]),
    ).toBe(26);
    expect(
      unionLength([
        [5, 5],
        [7, 6],
      ]),
    ).toBe(0);
  });
});
