/**
 * TraceQL builders: the Tempo client searches with them, and trace findings carry them as evidence a person
 * can paste into Grafana Explore. Pure, so detectors use them without depending on the HTTP client.
 * Language: https://grafana.com/docs/tempo/latest/traceql/
 */
import { ATTR, LEGACY_ATTR, SPAN_NAMES } from '@hotpath/instrumentation/semconv';
import type { TraceQuery } from './source.ts';

/** A TraceQL string literal. Tempo unquotes with Go's rules, so backslash escapes are the ones to use. */
export function quote(s: string): string {
  const escaped = s
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r')
    .replaceAll('\t', '\\t');
  return `"${escaped}"`;
}

/** `service.namespace/service.name` jobs match both resource attributes; plain jobs match service.name. */
export function serviceMatcher(service: string): string {
  const slash = service.indexOf('/');
  if (slash < 0) return `resource.${ATTR.serviceName} = ${quote(service)}`;
  return (
    `resource.${ATTR.serviceNamespace} = ${quote(service.slice(0, slash))} && ` +
    `resource.${ATTR.serviceName} = ${quote(service.slice(slash + 1))}`
  );
}

/** `200ms`; sub-millisecond limits in microseconds so they are not rounded away. */
export function duration(ms: number): string {
  return Number.isInteger(ms) ? `${ms}ms` : `${Math.round(ms * 1000)}us`;
}

/** Either spelling of an attribute equal to `value`, for traces from SDKs before and after the stable names. */
function eitherName(stable: string, legacy: string, value: string): string {
  return `(span.${stable} = ${quote(value)} || span.${legacy} = ${quote(value)})`;
}

/** The conditions selecting the server spans of `query` (service, route, method, minimum duration). */
export function serverSpanConditions(query: Omit<TraceQuery, 'limit' | 'sinceSeconds'>): string[] {
  const parts = [serviceMatcher(query.service)];
  if (query.route !== undefined) parts.push(`span.${ATTR.httpRoute} = ${quote(query.route)}`);
  parts.push('kind = server');
  if (query.method !== undefined) {
    parts.push(eitherName(ATTR.httpRequestMethod, LEGACY_ATTR.httpMethod, query.method));
  }
  if (query.minDurationMs !== undefined && query.minDurationMs > 0) {
    parts.push(`duration > ${duration(query.minDurationMs)}`);
  }
  return parts;
}

/**
 * The slow server spans of a route:
 * `{ resource.service.name = "shop" && span.http.route = "/api/x" && kind = server && duration > 200ms }`.
 */
export function slowTracesTraceQl(query: Omit<TraceQuery, 'limit' | 'sinceSeconds'>): string {
  const server = `{ ${serverSpanConditions(query).join(' && ')} }`;
  if (query.pageLoad === undefined) return server;
  // Both spansets in one trace: the document's server span and the browser's load of the page.
  return `${server} && { name = ${quote(SPAN_NAMES.pageLoad)} && span.${ATTR.pageRoute} = ${quote(query.pageLoad)} }`;
}

/** Spans that ran `statement` (by either attribute name). */
export function statementMatcher(statement: string): string {
  return eitherName(ATTR.dbQueryText, LEGACY_ATTR.dbStatement, statement);
}

/** Any database span. */
export const DB_SPAN_MATCHER = `(span.${ATTR.dbSystemName} != nil || span.${LEGACY_ATTR.dbSystem} != nil)`;

/**
 * Descendants of a route's server spans that match `child`, with an optional pipeline stage:
 * `{ …route… } >> { …child… } | count() >= 5`.
 */
export function routeDescendantsTraceQl(
  route: Omit<TraceQuery, 'limit' | 'sinceSeconds'>,
  child: string,
  pipeline?: string,
): string {
  const base = `${slowTracesTraceQl(route)} >> { ${child} }`;
  return pipeline === undefined ? base : `${base} | ${pipeline}`;
}
