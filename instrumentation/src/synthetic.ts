/**
 * Load-test traffic, told from users: k6 and `npm run load` send W3C Baggage `hotpath.synthetic=true`
 * (`k6/lib/visit.ts`). The server span of such a request carries `hotpath.synthetic: true`, so a trace query
 * (`{ span.hotpath.synthetic = true }`) keeps or drops it. Spans only: as a metric label it would double every
 * latency series of the app.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { type Attributes, defaultTextMapGetter, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { ATTR } from './semconv.ts';

/** The baggage entry k6 and the local driver send. */
export const SYNTHETIC_BAGGAGE = ATTR.hotpathSynthetic;

// The W3C propagator itself, not the global one: an app may configure propagators without baggage, and the
// marker must not depend on that.
const baggage = new W3CBaggagePropagator();

/** `{ 'hotpath.synthetic': true }` for a request whose baggage marks it as a load test, else nothing. */
export function syntheticAttributes(headers: IncomingHttpHeaders): Attributes {
  if (headers.baggage === undefined) return {};
  try {
    const context = baggage.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    const entry = propagation.getBaggage(context)?.getEntry(SYNTHETIC_BAGGAGE);
    return entry?.value === 'true' ? { [ATTR.hotpathSynthetic]: true } : {};
  } catch {
    return {};
  }
}
