/**
 * Which backend route serves each page: the browser's page-load spans (`browser.page_load`, recorded by the
 * collection endpoint under the server span of the document, from its `traceparent`) name their page, and their
 * parent is the request that rendered it. A page rendered by several routes maps to the one most of its loads
 * name.
 */

import { ATTR } from '@hotpath/instrumentation/semconv';
import type { Snapshot } from '../types.ts';
import { isPageLoad, routeSubject, serviceJob, stringOf } from './model.ts';
import { indexTraces } from './requests.ts';

/** `job\0page` → `GET /route` of the request that rendered it. */
export function documentRoutes(snapshot: Snapshot): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const { trace, tree } of indexTraces(snapshot.traces?.traces ?? [])) {
    for (const span of trace.spans) {
      if (!isPageLoad(span) || span.parentSpanId === undefined) continue;
      const page = stringOf(span.attributes[ATTR.pageRoute]);
      const server = tree.byId.get(span.parentSpanId);
      if (page === undefined || server === undefined || server.kind !== 'server') continue;
      const key = `${serviceJob(server)}\0${page}`;
      const routes = counts.get(key) ?? new Map<string, number>();
      const route = routeSubject(server);
      routes.set(route, (routes.get(route) ?? 0) + 1);
      counts.set(key, routes);
    }
  }
  return new Map(
    [...counts].map(([key, routes]) => [key, [...routes].reduce((a, b) => (b[1] > a[1] ? b : a))[0]]),
  );
}
