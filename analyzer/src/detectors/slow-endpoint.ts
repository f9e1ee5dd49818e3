/**
 * Slow endpoint: a route whose p95 is over the latency objective while it has enough traffic to judge. Ranked by
 * request rate × excess latency, the user time it loses per second (Sentry ranks endpoints by total time).
 */

import type { Draft } from '../facts.ts';
import {
  draft,
  evidenceQueries,
  findingId,
  formatRate,
  formatSeconds,
  isNumber,
  routeSubject,
  severityFor,
} from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import type { Snapshot } from '../types.ts';

export function detect(snapshot: Snapshot, limits: DetectorLimits): Draft<'slow-endpoint'>[] {
  const { p95Seconds: limit, minRequestRatePerS: minRate } = limits.slowEndpoint;
  const findings: Draft<'slow-endpoint'>[] = [];
  for (const r of snapshot.routes) {
    const p95 = r.p95Seconds;
    if (!isNumber(p95) || !isNumber(r.requestRate) || r.requestRate <= 0 || r.requestRate < minRate) continue;
    if (p95 <= limit) continue;
    const subject = routeSubject(r);
    const excess = p95 - limit;
    // Impact: each request waits the excess over the objective, p95 standing in for the route's latency.
    const impact = r.requestRate * excess;
    const p99 = isNumber(r.p99Seconds) ? ` (p99 ${formatSeconds(r.p99Seconds)})` : '';
    const before = isNumber(r.baselineP95Seconds)
      ? ` In the ${snapshot.window} before, its p95 was ${formatSeconds(r.baselineP95Seconds)}.`
      : '';
    findings.push(
      draft({
        id: findingId('slow-endpoint', r.service, subject),
        kind: 'slow-endpoint',
        layer: 'api',
        service: r.service,
        subject,
        severity: severityFor(p95, limit),
        impact,
        title: `${subject} is slow: p95 ${formatSeconds(p95)} vs the ${formatSeconds(limit)} objective at ${formatRate(r.requestRate)}`,
        summary:
          `Over the last ${snapshot.window}, 5 % of ${subject} requests on ${r.service} took longer than ` +
          `${formatSeconds(p95)}${p99}, ${formatSeconds(excess)} over the ${formatSeconds(limit)} objective. ` +
          `At ${formatRate(r.requestRate)} that is ${impact.toFixed(2)} s of user time lost per second.${before}`,
        facts: {
          route: subject,
          p95_s: p95,
          limit_p95_s: limit,
          excess_s: excess,
          rate_per_s: r.requestRate,
          ...(isNumber(r.p99Seconds) ? { p99_s: r.p99Seconds } : {}),
          ...(isNumber(r.baselineP95Seconds) ? { baseline_p95_s: r.baselineP95Seconds } : {}),
        },
        evidence: {
          window: snapshot.window,
          queries: evidenceQueries(snapshot, [
            'routes.p95',
            'routes.p99',
            'routes.rate',
            'routes.baselineP95',
          ]),
        },
      }),
    );
  }
  return findings;
}
